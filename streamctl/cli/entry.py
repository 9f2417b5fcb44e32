"""The ``streamctl`` console script.

``streamctl add STREAM FIELD=VALUE ...`` is called from shell loops, so its startup cost
is most of its cost: importing Typer alone takes three times as long as the rest of the
command. For that case this module parses argv by hand and calls the SQLite engine
directly; it imports neither typer, rich, redis nor platformdirs. (``consume`` has a fast
path of its own for the same reason, :mod:`.fast_consume`.) Anything it does not
fully understand (another command, ``--help``, ``--url``, ``STREAMCTL_URL``, ``--batch``,
``--data @FILE``, any option or value it does not recognise, any input it would reject)
goes to the Typer app unchanged, which then also produces the error. Both paths print
with the same functions (``common.added_line``, ``common.report``), and
``tests/test_cli_fastpath.py`` runs both on the same inputs and compares stdout, stderr
and exit codes.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    T = TypeVar("T")

# add's options as the app declares them: flags, and options that take one value.
_ADD_FLAGS = frozenset({"--approx", "--nomkstream", "--json", "-q", "--quiet"})
_ADD_VALUED = frozenset({"--id", "--maxlen", "--minid", "--data"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from streamctl.cli.common import install_signal_handlers

        install_signal_handlers()
        code = fast_add(args)
        if code is None:
            from .fast_consume import fast_consume

            code = fast_consume(args)
        if code is None:
            code = run_app(args)
    except BaseException as exc:  # noqa: BLE001 - never a traceback, even from an import
        if isinstance(exc, SystemExit):
            raise
        from .common import report

        code = report(exc)
    return code


def run_app(args: list[str]) -> int:
    """The Typer app (every command; errors reported as one line with an exit code)."""
    from typer.main import get_command

    from .app import app

    return get_command(app).main(args=args, prog_name="streamctl", standalone_mode=False)


# The global options (the app's callback) that may come before the command.
_GLOBAL_FLAGS = {"--json": "json", "-q": "quiet", "--quiet": "quiet"}
_GLOBAL_VALUED = {"--db": "db", "--url": "url"}


def parse_globals(args: list[str], command: str) -> tuple[dict, int] | None:
    """The global options before ``command`` (``--db``, ``--url``, ``--json``, ``-q``,
    as the app's callback takes them) and the index just after ``command``; None if
    anything else comes first or ``command`` is missing."""
    glob: dict = {"db": None, "url": None, "json": False, "quiet": False}
    i, n = 0, len(args)
    while i < n and args[i] != command:
        a = args[i]
        name, eq, value = a.partition("=")
        if a in _GLOBAL_FLAGS:
            glob[_GLOBAL_FLAGS[a]] = True
        elif eq and name in _GLOBAL_VALUED:
            glob[_GLOBAL_VALUED[name]] = value
        elif a in _GLOBAL_VALUED and i + 1 < n:
            i += 1
            glob[_GLOBAL_VALUED[a]] = args[i]
        else:
            return None
        i += 1
    if i >= n:
        return None
    return glob, i + 1


def parse_add(args: list[str]) -> dict | None:
    """``[--db PATH] [--json] [-q] add [options] STREAM FIELD=VALUE...`` → the request, or
    None when the app must handle ``args`` (anything else, or anything it would reject)."""
    parsed = parse_globals(args, "add")
    if parsed is None or parsed[0]["url"] is not None:  # a server: the app's client
        return None
    glob, i = parsed
    db, as_json, quiet = glob["db"], glob["json"], glob["quiet"]
    n = len(args)
    positional: list[str] = []
    opts: dict[str, str] = {}
    flags: set[str] = set()
    only_positional = False
    while i < n:
        a = args[i]
        if only_positional or a == "-" or not a.startswith("-"):
            positional.append(a)
        elif a == "--":
            only_positional = True
        elif a in _ADD_FLAGS:
            flags.add(a)
        elif a in _ADD_VALUED:
            if i + 1 >= n or args[i + 1].startswith("-"):
                return None
            i += 1
            opts[a] = args[i]
        else:
            name, eq, value = a.partition("=")
            if not eq or name not in _ADD_VALUED:
                return None
            opts[name] = value
        i += 1
    if db is not None and (not db or "://" in db):
        return None
    if not positional:
        return None
    stream, pairs = positional[0], positional[1:]
    maxlen = opts.get("--maxlen")
    minid = opts.get("--minid")
    approx = "--approx" in flags
    if maxlen is not None and not (maxlen.isascii() and maxlen.isdigit()):
        return None
    if (maxlen is not None and minid is not None) or (approx and maxlen is None and minid is None):
        return None
    data = opts.get("--data")
    if data is not None:
        if pairs:
            return None
        fields = _json_fields(data)
    else:
        fields = _pair_fields(pairs)
    if fields is None:
        return None
    return {
        "db": db,
        "json": as_json or "--json" in flags,
        "quiet": quiet or "-q" in flags or "--quiet" in flags,
        "stream": stream,
        "id": opts.get("--id", "*"),
        "maxlen": None if maxlen is None else int(maxlen),
        "minid": minid,
        "approx": approx,
        "nomkstream": "--nomkstream" in flags,
        "fields": fields,
    }


def _pair_fields(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    fields: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            return None
        fields[name] = value
    return fields


def _json_fields(text: str) -> dict[str, str] | None:
    if text.startswith("@") or text == "-":
        return None
    from .common import fields_from_json

    try:
        return fields_from_json(text, "--data")
    except Exception:
        return None


def _target(db: str | None) -> str | None:
    if db is not None:
        return db
    if os.environ.get("STREAMCTL_URL"):
        return None
    env_db = os.environ.get("STREAMCTL_DB")
    if env_db:
        return None if "://" in env_db else env_db
    from streamctl.config import default_db_path

    return default_db_path()


def all_utf8(args: list[str]) -> bool:
    """Whether every argument is UTF-8 text (the app reports one that is not)."""
    try:
        for a in args:
            a.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def xadd_args(req: dict) -> list:
    """XADD's arguments exactly as redis-py's ``xadd()`` builds them."""
    pieces: list = ["XADD", req["stream"]]
    if req["nomkstream"]:
        pieces.append("NOMKSTREAM")
    if req["maxlen"] is not None:
        pieces.append("MAXLEN")
        if req["approx"]:
            pieces.append("~")
        pieces.append(str(req["maxlen"]))
    if req["minid"] is not None:
        pieces.append("MINID")
        if req["approx"]:
            pieces.append("~")
        pieces.append(req["minid"])
    pieces.append(req["id"])
    for pair in req["fields"].items():
        pieces.extend(pair)
    return pieces


def fast_parsed(parse: Callable[[list[str]], T | None], args: list[str]) -> T | None:
    """``parse(args)``, or None when the app must run the command: shell completion, text
    that is not UTF-8, or argv the fast parser does not fully understand."""
    if os.environ.get("_STREAMCTL_COMPLETE"):
        return None
    parsed = parse(args)
    if parsed is None or not all_utf8(args):
        return None
    return parsed


def fast_add(args: list[str]) -> int | None:
    """Run ``add`` on a SQLite target without the app; None if the app must run it."""
    req = fast_parsed(parse_add, args)
    if req is None:
        return None
    path = _target(req["db"])
    if path is None:
        return None
    try:
        from streamctl.engine import Engine
    except ImportError:
        return None
    from . import common

    try:
        engine = Engine(path)
        try:
            new_id = engine.execute(*xadd_args(req))
        finally:
            engine.close()
        if new_id is None:
            raise common.CliError(
                f"no such stream: {req['stream']} (--nomkstream)", common.ExitCode.NOT_FOUND
            )
        if not req["quiet"]:
            common.write_stdout(common.added_line(req["stream"], new_id, req["json"]), True)
    except BaseException as exc:  # noqa: BLE001 - reported as the app reports it
        return common.report(exc)
    return 0
