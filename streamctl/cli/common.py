"""What every command shares: global options and the client they select, the one mapping
from exceptions to (message, exit code), field parsing for ``add``, and message output.

Import-light on purpose: the fast path of ``streamctl add`` (``entry.py``) imports this
module, so typer, rich and redis-py are only ever imported inside functions here.

For command modules (``app.py``, ``consume.py``)::

    st = common.state(ctx, json_out, quiet)   # global options merged with per-command ones
    r = st.client()                           # opened once, closed when the command ends
    common.write_message(st, stream, msg_id, fields)
    raise common.CliError("what is wrong", ExitCode.USAGE)   # or let client errors propagate

Any exception a command lets escape is reported by the app as one line on stderr through
:func:`report`, which uses :func:`describe`; commands never print their own errors.
"""

from __future__ import annotations

import os
import sys

from streamctl import errors
from streamctl.exitcodes import ExitCode

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at startup; annotations are strings here
    from typing import Any, NoReturn

PROG = "streamctl"

#: How ``add`` stores a JSON value that is not a string: its compact JSON text.
JSON_SEPARATORS = (",", ":")


class CliError(Exception):
    """A problem the command line found itself (bad input, a missing stream ...):
    reported as one line with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE):
        super().__init__(message)
        self.message = message
        self.code = code


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives (exit 143)."""


def _on_sigterm(signum: int, frame: Any) -> NoReturn:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM unwinds like SIGINT does (so ``finally`` blocks and transactions roll back),
    ending with exit code 143. SIGPIPE stays ignored (Python's default): a closed stdout
    raises BrokenPipeError, which :func:`report` turns into a quiet exit."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)


# --------------------------------------------------------------------------- state


class State:
    """The global options (``--db``, ``--url``, ``--json``, ``-q``) of one invocation and
    the client they select."""

    __slots__ = ("db", "url", "json", "quiet", "_client")

    def __init__(
        self, db: str | None = None, url: str | None = None, json: bool = False, quiet: bool = False
    ):
        self.db = db
        self.url = url
        self.json = json
        self.quiet = quiet
        self._client: Any = None

    def target(self) -> str | None:
        """The connect() target: ``--url`` > ``--db`` > (None: ``STREAMCTL_URL`` >
        ``STREAMCTL_DB`` > the per-user default)."""
        if self.url and self.db:
            raise CliError("give --db or --url, not both")
        if self.url:
            from streamctl.config import REDIS_SCHEMES, SQLITE_SCHEME

            if not self.url.lower().startswith(REDIS_SCHEMES + (SQLITE_SCHEME,)):
                raise CliError(
                    f"--url {self.url.split('://')[0] if '://' in self.url else self.url!r}: "
                    "not a redis://, rediss://, unix:// or sqlite:/// URL"
                )
        return self.url or self.db or None

    def describe_target(self) -> str:
        """Where the data is, for messages: a path or a redacted URL."""
        from streamctl.config import redact, resolve

        try:
            resolved = resolve(self.target())
        except ValueError as exc:
            raise CliError(str(exc)) from None
        return redact(resolved.location) if resolved.kind == "redis" else resolved.location

    def client(self) -> Any:
        """The client for this invocation (opened on first use)."""
        if self._client is None:
            import streamctl
            from streamctl.config import resolve

            target = self.target()
            try:
                options = {}
                if resolve(target).kind == "redis":
                    # redis-py's default 5 s socket timeout would cut `--block`, `--follow`
                    # and `consume` waits short; connecting keeps a timeout.
                    options = {"socket_timeout": None, "socket_connect_timeout": 10}
                self._client = streamctl.connect(target, **options)
            except ValueError as exc:  # an unsupported URL scheme
                raise CliError(str(exc)) from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.close()
            except Exception:
                pass


_STATE_KEY = "streamctl.state"


def state(ctx: Any, json_out: bool = False, quiet: bool = False) -> State:
    """The invocation's :class:`State` from a click/typer context, with a command's own
    ``--json``/``-q`` (accepted after the command too) merged in. The client it opens is
    closed when the root context closes."""
    meta = ctx.meta
    st = meta.get(_STATE_KEY)
    if st is None:
        st = meta[_STATE_KEY] = State()
        ctx.find_root().call_on_close(st.close)
    if json_out:
        st.json = True
    if quiet:
        st.quiet = True
    return st


def set_state(ctx: Any, st: State) -> None:
    ctx.meta[_STATE_KEY] = st
    ctx.call_on_close(st.close)


# --------------------------------------------------------------------------- errors


def _redact_urls(text: str) -> str:
    if "://" not in text:
        return text
    import re

    from streamctl.config import redact

    return re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+", lambda m: redact(m.group(0)), text)


_NOT_FOUND_MARKERS = ("no such key", "requires the key to exist")


def describe(exc: BaseException) -> tuple[str, ExitCode]:
    """The one mapping from an exception to the line the user sees and the exit code.

    Engine/server replies keep their Redis text: ``NOGROUP ...``, ``no such key`` and
    ``... requires the key to exist`` are NOT_FOUND (4); an invalid ID is USAGE (2);
    any other reply (``BUSYGROUP ...``, ``WRONGTYPE ...``) is ERROR (3). A busy database
    or an unreachable server is UNAVAILABLE (5); any other unusable database is
    DATABASE (6). URLs in messages are shown with their password redacted.
    """
    if isinstance(exc, CliError):
        return _redact_urls(exc.message), exc.code
    if isinstance(exc, KeyboardInterrupt):
        return "", ExitCode.SIGINT
    if isinstance(exc, Terminated):
        return "", ExitCode.SIGTERM
    if isinstance(exc, BrokenPipeError):
        return "", ExitCode.SIGPIPE
    module = type(exc).__module__ or ""
    if module.startswith("typer"):
        return _describe_click(exc)
    text = _redact_urls(
        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    )
    if isinstance(exc, errors.DatabaseError):
        if isinstance(exc, errors.DatabaseBusyError):
            return text, ExitCode.UNAVAILABLE
        return text, ExitCode.DATABASE
    if module.startswith("redis") or isinstance(exc, errors.StreamctlError):
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "ConnectionError" in names or "TimeoutError" in names:
            return text, ExitCode.UNAVAILABLE
        if "DataError" in names:  # redis-py's client-side argument checks
            return text, ExitCode.USAGE
        if "ResponseError" in names or isinstance(exc, errors.ReplyError):
            return text, _reply_code(text)
        return text, ExitCode.ERROR
    if isinstance(exc, UnicodeDecodeError):
        return (
            "stored data is not UTF-8 text; read it with the Python API (decode_responses=False)",
            ExitCode.ERROR,
        )
    if module == "sqlite3":
        return f"database error: {text}", ExitCode.DATABASE
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or text}{where}", ExitCode.DATABASE
    return f"internal error: {type(exc).__name__}: {text}", ExitCode.ERROR


def _reply_code(text: str) -> ExitCode:
    if text.startswith("NOGROUP") or any(m in text for m in _NOT_FOUND_MARKERS):
        return ExitCode.NOT_FOUND
    if (
        text.startswith("Invalid stream ID")
        or text.startswith("invalid start ID")
        or text.startswith("invalid end ID")
    ):
        return ExitCode.USAGE
    return ExitCode.ERROR


def _describe_click(exc: BaseException) -> tuple[str, ExitCode]:
    from typer._click import exceptions as cx

    if isinstance(exc, cx.UsageError):
        message = exc.format_message().strip().splitlines()
        text = " ".join(line.strip() for line in message if line.strip())
        ctx = exc.ctx
        if ctx is not None:
            text += f" (see '{ctx.command_path} --help')"
        return text, ExitCode.USAGE
    if isinstance(exc, cx.ClickException):
        return exc.format_message().strip().replace("\n", " "), ExitCode(
            exc.exit_code
        ) if exc.exit_code in (
            1,
            2,
        ) else ExitCode.USAGE
    if isinstance(exc, cx.Abort):
        return "", ExitCode.SIGINT
    return f"internal error: {type(exc).__name__}: {exc}", ExitCode.ERROR


def report(exc: BaseException) -> int:
    """Tell the user about ``exc`` (one line on stderr, nothing for signals and a closed
    pipe) and return the exit code."""
    message, code = describe(exc)
    if code == ExitCode.SIGPIPE:
        silence_stdout()
    elif message:
        try:
            sys.stderr.write(f"{PROG}: {message}\n")
            sys.stderr.flush()
        except Exception:
            pass
    return int(code)


def silence_stdout() -> None:
    """After EPIPE on stdout: point it at /dev/null so the interpreter's final flush
    cannot print 'Exception ignored ... BrokenPipeError'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except Exception:
        pass


# --------------------------------------------------------------------------- input


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``FIELD=VALUE`` words to fields (split at the first ``=``: a value may hold ``=``;
    a repeated field keeps its first position and its last value, as a dict does)."""
    fields: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq:
            raise CliError(f"expected FIELD=VALUE, got {pair!r}")
        if not name:
            raise CliError(f"empty field name in {pair!r}")
        fields[name] = value
    return fields


def fields_from_json(text: str, where: str) -> dict[str, str]:
    """A JSON object to fields. String values are stored as they are; any other value
    (number, true/false/null, array, object) is stored as its compact JSON text."""
    import json

    try:
        obj = json.loads(text)
    except ValueError as exc:
        msg = exc.msg if hasattr(exc, "msg") else str(exc)
        pos = f" at column {exc.colno}" if hasattr(exc, "colno") else ""
        raise CliError(f"{where}: malformed JSON: {msg}{pos}") from None
    if not isinstance(obj, dict):
        raise CliError(f"{where}: expected a JSON object of fields, got {_json_kind(obj)}")
    if not obj:
        raise CliError(f"{where}: empty field list")
    return {
        k: v
        if isinstance(v, str)
        else json.dumps(v, ensure_ascii=False, separators=JSON_SEPARATORS)
        for k, v in obj.items()
    }


def _json_kind(obj: Any) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    return "a number"


def decode_utf8(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{where}: not valid UTF-8 (byte {exc.start + 1})") from None


# --------------------------------------------------------------------------- output


def added_line(stream: str, msg_id: str, as_json: bool) -> str:
    """What ``add`` prints for one new message (both the fast path and the app)."""
    if as_json:
        import json

        return json.dumps({"stream": stream, "id": msg_id}, ensure_ascii=False) + "\n"
    return msg_id + "\n"


def out(text: str, st: State | None = None, flush: bool = False) -> None:
    """Write data to stdout (nothing with ``-q``)."""
    if st is not None and st.quiet:
        return
    sys.stdout.write(text)
    if flush:
        sys.stdout.flush()


def note(text: str, st: State | None = None) -> None:
    """A diagnostic line on stderr (nothing with ``-q``)."""
    if st is not None and st.quiet:
        return
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def write_message(
    st: State,
    stream: str,
    msg_id: str,
    fields: dict | None,
    with_stream: bool = True,
    flush: bool = False,
) -> None:
    """Print one message: NDJSON ``{"stream", "id", "fields"}`` with ``--json``, else the
    text line of :func:`streamctl.cli.render.message_text`."""
    from .render import message_json, message_text

    if st.json:
        out(message_json(stream, msg_id, fields) + "\n", st, flush)
    else:
        out(message_text(stream if with_stream else None, msg_id, fields) + "\n", st, flush)
