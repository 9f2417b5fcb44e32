"""Startup cost of ``streamctl add`` as shell loops call it.

Compares the median wall time of ``streamctl add STREAM f=v`` on the default backend (a
SQLite file; ``XDG_DATA_HOME`` points at a scratch directory so the user's database is
untouched) with ``python -c "import sqlite3, json"`` run by the same interpreter, and
prints the median milliseconds of each and their ratio. The issue's target: a ratio of
at most 1.6.

    python bench/startup.py [--runs N] [--slow-path]

``--slow-path`` also times ``streamctl --url sqlite:///... add`` (the Typer app) for
comparison. Both commands are run alternately so that drifting machine load affects
both alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode().strip()}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--slow-path", action="store_true", help="also time the Typer path")
    args = parser.parse_args()

    exe = shutil.which("streamctl", path=os.path.dirname(sys.executable)) or shutil.which(
        "streamctl"
    )
    if exe is None:
        sys.exit("streamctl is not installed next to this interpreter (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCTL_")}
        env["XDG_DATA_HOME"] = tmp
        # An installed package runs from cached bytecode; without it every run would
        # also time compiling the sources (the warm-up runs below write the caches).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        baseline = [sys.executable, "-c", "import sqlite3, json"]
        fast = [exe, "add", "bench", "f=v"]
        cases = {"python -c 'import sqlite3, json'": baseline, "streamctl add bench f=v": fast}
        if args.slow_path:
            url = "sqlite://" + os.path.join(tmp, "slow.db")
            cases["streamctl --url sqlite:///... add (Typer app)"] = [
                exe,
                "--url",
                url,
                "add",
                "bench",
                "f=v",
            ]
        for cmd in cases.values():  # warm the page cache and create the databases
            for _ in range(3):
                _time(cmd, env)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                samples[name].append(_time(cmd, env))
    medians = {name: statistics.median(v) for name, v in samples.items()}
    base = medians["python -c 'import sqlite3, json'"]
    version = sys.version.split()[0]
    print(f"python {version} on {sys.platform}, {args.runs} runs each, median wall time")
    for name, ms in medians.items():
        print(f"  {ms:7.1f} ms  {name}")
    ratio = medians["streamctl add bench f=v"] / base
    print(f"ratio streamctl add / baseline: {ratio:.2f} (target <= 1.6)")


if __name__ == "__main__":
    main()
