import sys

from streamctl.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
