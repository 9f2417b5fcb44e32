"""The ``streamctl`` command line.

``entry`` is the console script (a hand-parsed fast path for ``add`` beside the Typer
app), ``app`` the Typer app and its commands, ``common`` what every command shares
(global options, the client, the one exception → exit-code mapping, message output),
``render`` text/JSON/Rich output and ``info`` the lag view. Nothing here is imported by
the library.
"""
