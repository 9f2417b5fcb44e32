"""Every exception streamctl raises, under one root: :class:`StreamctlError`.

Two families live here:

* Engine errors, raised by the SQLite engine and importable without redis-py (the CLI's
  fast path must not pay for importing redis): :class:`ReplyError` carries the exact text a
  Redis server would answer; :class:`DatabaseError` and its children describe a file that
  cannot be used.
* redis-py-compatible errors (:class:`ResponseError`, :class:`DataError`), built lazily on
  first use as subclasses of *both* redis-py's class and ours, so user code written as
  ``except redis.exceptions.ResponseError`` keeps working on a local file, and
  ``except streamctl.errors.StreamctlError`` catches everything streamctl raises.
"""

from __future__ import annotations

__all__ = [
    "StreamctlError",
    "ReplyError",
    "WrongArgs",
    "TransactionAborted",
    "DatabaseError",
    "NotADatabaseError",
    "NewerSchemaError",
    "DatabaseBusyError",
    "DatabaseReadOnlyError",
    "DatabaseCorruptError",
    "DatabaseFullError",
    "OutputError",
    "ResponseError",  # noqa: F822 - created on first use (module __getattr__)
    "DataError",  # noqa: F822
]


class StreamctlError(Exception):
    """Root of every error streamctl raises."""


class ReplyError(StreamctlError):
    """An error reply of the engine, worded exactly as a Redis server words it.

    ``code`` is the reply's first word (``ERR``, ``BUSYGROUP``, ``NOGROUP`` ...).
    ``str()`` is what redis-py shows: the text without the ``ERR `` prefix, with any
    other prefix kept (``BUSYGROUP Consumer Group name already exists``).
    """

    def __init__(self, reply: str):
        self.reply = reply
        code, _, rest = reply.partition(" ")
        self.code = code
        super().__init__(rest if code == "ERR" else reply)


class WrongArgs(ReplyError):
    """The arity error Redis gives for a command called with the wrong number of args."""

    def __init__(self, command: str):
        super().__init__(f"ERR wrong number of arguments for '{command.lower()}' command")


class TransactionAborted(StreamctlError):
    """A transactional pipeline (MULTI/EXEC) ran nothing: the command at ``position``
    (0-based) was refused when queued (unknown command, wrong number of arguments)."""

    def __init__(self, position: int, error: ReplyError):
        self.position = position
        self.error = error
        super().__init__(str(error))


class DatabaseError(StreamctlError):
    """The database file cannot be used; the message names the path."""


class NotADatabaseError(DatabaseError):
    """The file exists but is not a SQLite database written by streamctl."""


class NewerSchemaError(DatabaseError):
    """The file was written by a newer streamctl; this version refuses to touch it."""


class DatabaseBusyError(DatabaseError):
    """Another process held the write lock for longer than the busy timeout."""


class DatabaseReadOnlyError(DatabaseError):
    """A write was asked of a database that can only be read."""


class DatabaseCorruptError(DatabaseError):
    """SQLite reports the file as malformed; it is reported, never repaired."""


class DatabaseFullError(DatabaseError):
    """The disk (or SQLite's size limit) is full; the write was rolled back whole."""


class OutputError(StreamctlError):
    """Writing the output failed (stdout closed, disk full ...): what the command did is
    done, only its report was lost. Not raised for a reader that went away (EPIPE)."""


_COMPAT_CACHE: dict[str, type] = {}


def _compat_class(name: str) -> type:
    """Build ``name`` as a subclass of redis-py's class of that name and of ours."""
    cls = _COMPAT_CACHE.get(name)
    if cls is None:
        import redis.exceptions as redis_exceptions

        base = getattr(redis_exceptions, name)
        doc = f"redis-py's {name}, raised by the SQLite engine; also a StreamctlError."
        cls = type(name, (base, StreamctlError), {"__doc__": doc, "__module__": __name__})
        _COMPAT_CACHE[name] = cls
    return cls


def __getattr__(name: str) -> type:
    # PEP 562: ResponseError and DataError are created on first access so that importing
    # this module (the CLI's hot path does) never imports redis-py.
    if name in ("ResponseError", "DataError"):
        return _compat_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_response_error(err: ReplyError) -> Exception:
    """The redis-py-compatible exception for an engine reply error."""
    cls = _compat_class("ResponseError")
    if err.code == "ERR":  # redis-py strips "ERR " into status_code; other codes stay
        try:
            exc = cls(str(err), status_code="ERR")
        except TypeError:  # redis-py < 6 has no status_code
            exc = cls(str(err))
    else:
        exc = cls(str(err))
    exc.code = err.code  # type: ignore[attr-defined]
    return exc


def pipeline_error_text(number: int, command: list[str], message: str) -> str:
    """How redis-py words the error of a pipeline's ``number``-th command (its
    ``truncate_text``: the command shortened to 100 characters)."""
    import textwrap

    shown = textwrap.shorten(" ".join(command), width=100, placeholder="...", break_long_words=True)
    return f"Command # {number} ({shown}) of pipeline caused error: {message}"
