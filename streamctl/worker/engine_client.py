"""The worker's client for a SQLite file, without redis-py.

``streamctl consume`` is started once per batch of work by scripts and timers, so its
start-up is part of its cost, and importing redis-py (which :class:`~streamctl.client.
SQLiteClient` is built on) is a fifth of it. :class:`EngineClient` answers the few
commands the worker sends (:mod:`.source`, :mod:`.executor`, :mod:`.printer`,
:mod:`.loop`, :func:`.deadletter.move`) straight from :class:`streamctl.engine.Engine`,
with the arguments redis-py would send and its replies shaped as redis-py shapes them
(``tests/test_worker_engine_client.py`` compares the two).

One difference: an error reply is the engine's :class:`~streamctl.errors.ReplyError`,
not redis-py's ``ResponseError`` (whose class would import redis-py). Its text is the
same, and so is what the command line makes of it (``cli.common.describe``).
"""

from __future__ import annotations

from streamctl.engine import Engine
from streamctl.errors import ReplyError, pipeline_error_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class EngineClient:
    """The worker's commands on one SQLite file; replies decoded as text (with
    ``encoding_errors`` for bytes that are not UTF-8, as ``decode_responses=True``)."""

    def __init__(self, path: str, *, encoding_errors: str = "strict"):
        self.path = path
        self._errors = encoding_errors
        self.engine = Engine(path, decode=True, encoding="utf-8", encoding_errors=encoding_errors)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__}(path={self.path!r})>"

    def close(self) -> None:
        self.engine.close()

    def _encode(self, args: tuple | list) -> list[bytes]:
        errors = self._errors
        out = []
        for arg in args:
            kind = type(arg)
            if kind is str:
                out.append(arg.encode("utf-8", errors))
            elif kind is bytes:
                out.append(arg)
            elif kind is int:
                out.append(str(arg).encode())
            else:
                raise TypeError(f"unexpected argument {arg!r}")
        return out

    def _run(self, *args: Any) -> Any:
        return self.engine.execute_argv(self._encode(args))

    # ------------------------------------------------------------- commands

    def xgroup_create(
        self, name: str, groupname: str, id: str = "$", mkstream: bool = False
    ) -> bool:
        args = ["XGROUP", "CREATE", name, groupname, id]
        if mkstream:
            args.append("MKSTREAM")
        return _bool_ok(self._run(*args))

    def xgroup_delconsumer(self, name: str, groupname: str, consumername: str) -> int:
        return self._run("XGROUP", "DELCONSUMER", name, groupname, consumername)

    def xreadgroup(
        self,
        groupname: str,
        consumername: str,
        streams: dict[str, str],
        count: int | None = None,
        block: int | None = None,
    ) -> list:
        if count is not None and count < 1:  # as redis-py refuses it
            raise ValueError("XREADGROUP count must be a positive integer")
        if block is None and len(streams) == 1:
            ((key, wanted),) = streams.items()
            if wanted == ">":
                group, consumer, key_b = self._encode((groupname, consumername, key))
                return _xread(self.engine.read_new(group, consumer, key_b, count or 0))
        args: list = ["XREADGROUP", "GROUP", groupname, consumername]
        if count is not None:
            args += ["COUNT", count]
        if block is not None:
            args += ["BLOCK", block]
        args.append("STREAMS")
        args.extend(streams.keys())
        args.extend(streams.values())
        return _xread(self._run(*args))

    def xack(self, name: str, groupname: str, *ids: str) -> int:
        key, group, *raw_ids = self._encode((name, groupname, *ids))
        return self.engine.ack(key, group, raw_ids)

    def xclaim(
        self,
        name: str,
        groupname: str,
        consumername: str,
        min_idle_time: int,
        message_ids: list[str],
        idle: int | None = None,
        retrycount: int | None = None,
        justid: bool = False,
    ) -> list:
        args = ["XCLAIM", name, groupname, consumername, min_idle_time, *message_ids]
        if idle is not None:
            args += ["IDLE", idle]
        if retrycount is not None:
            args += ["RETRYCOUNT", retrycount]
        if justid:
            args.append("JUSTID")
            return self._run(*args)
        return _entries(self._run(*args))

    def xautoclaim(
        self,
        name: str,
        groupname: str,
        consumername: str,
        min_idle_time: int,
        start_id: str = "0-0",
        count: int | None = None,
    ) -> list:
        args = ["XAUTOCLAIM", name, groupname, consumername, min_idle_time, start_id]
        if count is not None:
            args += ["COUNT", count]
        reply = self._run(*args)
        reply[1] = _entries(reply[1])
        return reply

    def xpending_range(
        self,
        name: str,
        groupname: str,
        min: str,
        max: str,
        count: int,
        consumername: str | None = None,
    ) -> list[dict]:
        args = ["XPENDING", name, groupname, min, max, count]
        if consumername:
            args.append(consumername)
        return _pending_rows(self._run(*args))

    def pipeline(self, transaction: bool = True) -> Pipeline:
        """Commands queued, then run in one SQLite transaction by ``execute()``."""
        return Pipeline(self, transaction)


class Pipeline:
    """The pipelined commands the worker sends: XADD (no options), XACK, XPENDING range.
    As in redis-py, the first error reply is raised after the transaction commits."""

    def __init__(self, client: EngineClient, transaction: bool):
        self.client = client
        self.transaction = transaction
        self._commands: list[tuple[list, Any]] = []  # (args, reply shaper)

    def xadd(self, name: str, fields: dict[str, str], id: str = "*") -> Pipeline:
        args = ["XADD", name, id]
        for pair in fields.items():
            args.extend(pair)
        self._commands.append((args, None))
        return self

    def xack(self, name: str, groupname: str, *ids: str) -> Pipeline:
        self._commands.append((["XACK", name, groupname, *ids], None))
        return self

    def xpending_range(self, name: str, groupname: str, min: str, max: str, count: int) -> Pipeline:
        self._commands.append((["XPENDING", name, groupname, min, max, count], _pending_rows))
        return self

    def execute(self) -> list:
        commands, self._commands = self._commands, []
        if not commands:
            return []
        client = self.client
        replies = client.engine.execute_many(
            [client._encode(args) for args, _ in commands], multi=self.transaction
        )
        results = []
        for number, ((args, shape), reply) in enumerate(zip(commands, replies), start=1):
            if isinstance(reply, ReplyError):
                raise _pipeline_error(number, args, reply)
            results.append(reply if shape is None else shape(reply))
        return results


# ------------------------------------------------------------------ reply shapes
# What redis-py's RESP2 callbacks make of these replies (redis._parsers.helpers).


def _bool_ok(reply: Any) -> bool:
    return reply == "OK"


def _entries(reply: list | None) -> list | None:
    """parse_stream_list: ``[(id, {field: value}), ...]``; a deleted entry's fields
    are ``{}``."""
    if reply is None:
        return None
    out: list = []
    for entry in reply:
        if entry is None:
            out.append((None, None))
            continue
        flat = entry[1]
        if flat is None:
            out.append((entry[0], {}))
        else:
            it = iter(flat)
            out.append((entry[0], dict(zip(it, it))))
    return out


def _xread(reply: list | None) -> list:
    """parse_xread: ``[[stream, entries]]``, ``[]`` for nothing."""
    if reply is None:
        return []
    return [[stream, _entries(entries)] for stream, entries in reply]


_PENDING_KEYS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


def _pending_rows(reply: list) -> list[dict]:
    """parse_xpending_range."""
    return [dict(zip(_PENDING_KEYS, row)) for row in reply]


def _pipeline_error(number: int, args: list, error: ReplyError) -> ReplyError:
    """The error as redis-py reports a pipeline's failed command."""
    return ReplyError(pipeline_error_text(number, list(map(str, args)), str(error)))
