"""The command line's fast path for ``streamctl consume``: argv parsed by hand, then the
app's own code (:mod:`.consume_run`) runs the command.

Workers are started by scripts, timers and ``--once`` loops, and importing Typer (with
Rich and pydantic) takes longer than the rest of the start-up together. This parser
accepts only argv it fully understands: the global ``--db``/``--url``/``--json``/``-q``
before ``consume``, then the command's own options (``--name VALUE``, ``--name=VALUE``,
``-g VALUE``-style short options, flags) and one STREAM, each value of the kind the app
would accept. Anything else (``--help``, ``--``, combined short options, a value that
starts with ``-``, a number the app would reject or convert differently, a missing
``--group``, text that is not UTF-8 ...) returns None and goes to the Typer app
unchanged, which then also produces any error. ``tests/test_cli_fastpath_consume.py``
runs both paths on the same argv and compares what they do.
"""

from __future__ import annotations

from .entry import fast_parsed, parse_globals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _count(minimum: int) -> Callable[[str], int | None]:
    """An integer option with the app's minimum: plain ASCII digits only."""

    def convert(text: str) -> int | None:
        if not (text.isascii() and text.isdigit()):
            return None
        value = int(text)
        return value if value >= minimum else None

    return convert


def _seconds(text: str) -> float | None:
    """A duration: ``12``, ``1.5``, ``.5``, ``2.`` (no sign, exponent, inf or nan)."""
    digits = text.replace(".", "", 1)
    if not (digits and digits.isascii() and digits.isdigit()):
        return None
    return float(text)


def _text(text: str) -> str:
    return text


# consume's options that take a value: the keyword of consume_run.consume, and the
# conversion (None: the app must see the value).
_VALUED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--group": ("group", _text),
    "-g": ("group", _text),
    "--consumer": ("consumer", _text),
    "--exec": ("exec_", _text),
    "-x": ("exec_", _text),
    "--count": ("count", _count(1)),
    "--block": ("block", _count(0)),
    "--max": ("max_messages", _count(1)),
    "--concurrency": ("concurrency", _count(1)),
    "-c": ("concurrency", _count(1)),
    "--timeout": ("timeout", _seconds),
    "--kill-after": ("kill_after", _seconds),
    "--max-deliveries": ("max_deliveries", _count(1)),
    "--dead-letter": ("dead_letter", _text),
    "--reject-code": ("reject_code", _count(0)),
    "--backoff": ("backoff", _seconds),
    "--backoff-max": ("backoff_max", _seconds),
    "--claim-idle": ("claim_idle", _count(1)),
    "--shutdown-grace": ("shutdown_grace", _seconds),
    "--grace": ("grace", _seconds),
}
# consume's flags: the keyword each sets (json and quiet merge with the global ones).
_FLAGS = {
    "--once": "once",
    "--create-group": "create_group",
    "--json": "json",
    "-q": "quiet",
    "--quiet": "quiet",
    "-v": "verbose",
    "--verbose": "verbose",
}


def parse(args: list[str]) -> tuple[dict, dict] | None:
    """``[global options] consume [options] STREAM`` → (the global options, consume_run's
    keyword arguments), or None when the app must handle ``args``."""
    parsed = parse_globals(args, "consume")
    if parsed is None:
        return None
    glob, i = parsed
    n = len(args)
    kwargs: dict[str, Any] = {}
    streams: list[str] = []
    while i < n:
        a = args[i]
        if a == "-" or not a.startswith("-"):
            streams.append(a)
        elif a in _FLAGS:
            kwargs[_FLAGS[a]] = True
        else:
            name, eq, text = a.partition("=")
            if eq and name.startswith("--"):
                spec = _VALUED.get(name)
            else:
                spec = _VALUED.get(a)
                if spec is None or i + 1 >= n:
                    return None
                i += 1
                text = args[i]
            if spec is None or text.startswith("-"):
                return None
            key, convert = spec
            value = convert(text)
            if value is None:
                return None
            kwargs[key] = value
        i += 1
    if len(streams) != 1 or "group" not in kwargs:
        return None
    kwargs["stream"] = streams[0]
    glob["json"] = glob["json"] or kwargs.pop("json", False)
    glob["quiet"] = glob["quiet"] or kwargs.pop("quiet", False)
    return glob, kwargs


def fast_consume(args: list[str]) -> int | None:
    """Run ``consume`` without the app; None if the app must run it."""
    parsed = fast_parsed(parse, args)
    if parsed is None:
        return None
    glob, kwargs = parsed
    from streamctl.exitcodes import ExitCode

    from . import common, consume_run

    # What the app does around a command (app.StreamctlGroup): one line per error, the
    # client closed at the end, stdout flushed last.
    st = common.State(db=glob["db"], url=glob["url"], json=glob["json"], quiet=glob["quiet"])
    try:
        code = consume_run.consume(st, **kwargs)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported as the app reports it
        code = common.report(exc)
    finally:
        st.close()
    try:
        common.flush_stdout()
    except BaseException as exc:  # noqa: BLE001 - EPIPE or an output error
        if code in (0, ExitCode.EMPTY):
            code = common.report(exc)
    return code
