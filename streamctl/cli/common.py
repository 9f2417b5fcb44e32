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
        if self.url is not None and self.db is not None:
            raise CliError("give --db or --url, not both")
        if self.db == "":
            raise CliError("--db: empty path")
        if self.url == "":
            raise CliError("--url: empty URL")
        if self.url:
            from streamctl.config import REDIS_SCHEMES, SQLITE_SCHEME

            if not self.url.lower().startswith(REDIS_SCHEMES + (SQLITE_SCHEME,)):
                raise CliError(
                    f"--url {shown_url(self.url)!r}: "
                    "not a redis://, rediss://, unix://, valkey:// or sqlite:/// URL"
                )
        return self.url or self.db or None

    def client(self, **options: Any) -> Any:
        """The client for this invocation (opened on first use, with ``options`` for
        :func:`streamctl.connect`; later calls get the same client)."""
        if self._client is None:
            import streamctl
            from streamctl.config import resolve

            target = self.target()
            try:
                if resolve(target).kind == "redis":
                    # redis-py's default 5 s socket timeout would cut `--block`, `--follow`
                    # and `consume` waits short; connecting keeps a timeout.
                    options = {"socket_timeout": None, "socket_connect_timeout": 10, **options}
                client = streamctl.connect(target, **options)
                _check_url_options(client)
            except ValueError as exc:  # an unsupported URL scheme, a bad option value
                raise CliError(str(exc)) from None
            except TypeError as exc:  # an unknown option in the URL's query
                raise _unknown_option(exc) from None
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.close()
            except Exception:
                pass


def _check_url_options(client: Any) -> None:
    """redis-py accepts any ``?name=value`` in a URL and fails with a TypeError only when
    it first connects: build (without connecting) one connection now to fail early."""
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        pool.connection_class(**pool.connection_kwargs)


def _unknown_option(exc: TypeError) -> Exception:
    import re

    m = re.search(r"unexpected keyword argument '([^']*)'", str(exc))
    if m is None:
        return exc
    return CliError(f"unknown option in the URL: {m.group(1)!r}")


def shown_url(text: str) -> str:
    """``text`` (a URL, perhaps mistyped) fit for a message: anything before an ``@``
    may be credentials and is replaced by ``***``."""
    from streamctl.config import redact

    if "://" in text:
        return redact(text)
    head, at, host = text.rpartition("@")
    if not at:
        return text
    scheme, colon, _ = head.partition(":")
    return f"{scheme}{colon}***@{host}" if colon else f"***@{host}"


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
    if isinstance(exc, errors.OutputError):
        return str(exc), ExitCode.OUTPUT
    if isinstance(exc, UnicodeEncodeError) and exc.reason == "surrogates not allowed":
        # Text that came from argv, the environment or a file name with bytes that are
        # not UTF-8 (Python carries them as lone surrogates).
        return f"not valid UTF-8: '{printable(exc.object)}'", ExitCode.USAGE
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
    except RecursionError:
        raise CliError(f"{where}: JSON nested too deeply") from None
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


def printable(text: str, limit: int | None = 80) -> str:
    """``text`` for output: bytes that were not UTF-8 (carried as lone surrogates) shown
    as ``\\xNN``, cut to about ``limit`` characters (None: not cut)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that did not come from a byte
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def write_stdout(text: str, flush: bool = False) -> None:
    """Write ``text`` to stdout. A closed stdout or a failed write (other than EPIPE,
    which stays a BrokenPipeError: a reader that went away) is an
    :class:`~streamctl.errors.OutputError`."""
    stream = sys.stdout
    if stream is None:
        raise errors.OutputError("cannot write the output: stdout is closed")
    try:
        stream.write(text)
        if flush:
            stream.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: I/O operation on closed file
        silence_stdout()  # what is still buffered must not fail again at exit
        raise output_error(exc) from None


def output_error(exc: BaseException) -> errors.OutputError:
    reason = getattr(exc, "strerror", None) or str(exc)
    return errors.OutputError(f"cannot write the output: {reason}")


def flush_stdout() -> None:
    """The final flush of stdout at exit: BrokenPipeError or OutputError (after which
    stdout is pointed at /dev/null, so the interpreter's own final flush stays quiet)."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        silence_stdout()
        raise
    except (OSError, ValueError) as exc:
        silence_stdout()
        raise output_error(exc) from None


def out(text: str, st: State | None = None, flush: bool = False) -> None:
    """Write data to stdout (nothing with ``-q``)."""
    if st is not None and st.quiet:
        return
    write_stdout(text, flush)


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
