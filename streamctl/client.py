"""The redis-py-compatible client over the SQLite engine.

:class:`SQLiteClient` *is* redis-py's stream surface: it inherits redis-py's own
``StreamCommands`` (so method names, argument names, defaults and the client-side
``DataError`` checks are redis-py's, byte for byte), sends the commands those methods
build to :class:`streamctl.engine.Engine` instead of a socket, and shapes the replies with
redis-py's own RESP2 response callbacks. Server errors are raised as
:class:`streamctl.errors.ResponseError`, a subclass of ``redis.exceptions.ResponseError``
with the text redis-py would show.

Semantics guaranteed beyond a Redis server: every command and every pipeline is one
SQLite transaction on a file that any number of processes share.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from redis._parsers.encoders import Encoder
from redis.commands.core import StreamCommands
from redis.utils import safe_str

from . import errors, storage
from .engine import Engine
from .errors import ReplyError, TransactionAborted

__all__ = ["SQLiteClient", "Pipeline"]


def _response_callbacks() -> dict[str, Any]:
    try:  # redis-py >= 6
        from redis._parsers.response_callbacks import get_response_callbacks

        callbacks = get_response_callbacks(user_protocol=2, legacy_responses=True)
    except ImportError:  # older redis-py
        from redis._parsers.helpers import _RedisCallbacks, _RedisCallbacksRESP2

        callbacks = {**_RedisCallbacks, **_RedisCallbacksRESP2}
    return {name.upper(): fn for name, fn in callbacks.items()}


_CALLBACKS = _response_callbacks()


def _xinfo_stream_as_default_client(parse):
    """redis-py's default client (RESP3 wire, legacy shapes) leaves the consumer maps of
    ``XINFO STREAM FULL`` with bytes keys when responses are not decoded, where the RESP2
    parser would make them str. Users see the default client's shape; so do we."""

    def callback(response, **options):
        data = parse(response, **options)
        if options.get("full") and options.get("_bytes_mode"):
            for group in data.get("groups", ()):
                group["consumers"] = [
                    {key.encode(): value for key, value in consumer.items()}
                    for consumer in group.get("consumers") or ()
                ]
        return data

    return callback


_CALLBACKS["XINFO STREAM"] = _xinfo_stream_as_default_client(_CALLBACKS["XINFO STREAM"])
_CLIENT_ONLY_OPTIONS = ("keys", "_never_decode", "_empty_response")
_INT64_MAX = (1 << 63) - 1


class KeyCommands:
    """The few non-stream commands a streams user needs: key listing and removal."""

    def delete(self, *names: Any) -> Any:
        return self.execute_command("DEL", *names)

    def exists(self, *names: Any) -> Any:
        return self.execute_command("EXISTS", *names)

    def type(self, name: Any) -> Any:
        return self.execute_command("TYPE", name)

    def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
        return self.execute_command("KEYS", pattern, **kwargs)

    def scan(self, cursor: int = 0, match: Any = None, count: int | None = None,
             _type: str | None = None, **kwargs: Any) -> Any:  # fmt: skip
        pieces: list[Any] = [cursor]
        if match is not None:
            pieces += ["MATCH", match]
        if count is not None:
            pieces += ["COUNT", count]
        if _type is not None:
            pieces += ["TYPE", _type]
        return self.execute_command("SCAN", *pieces, **kwargs)

    def ping(self, **kwargs: Any) -> Any:
        return self.execute_command("PING", **kwargs)

    def flushdb(self, asynchronous: bool = False, **kwargs: Any) -> Any:
        return self.execute_command("FLUSHDB", **kwargs)


class SQLiteClient(KeyCommands, StreamCommands):
    """A redis-py ``Redis`` look-alike for stream commands, on one SQLite file.

    Options: ``decode_responses`` (default True), ``encoding``/``encoding_errors`` as in
    redis-py, ``synchronous`` (``NORMAL`` by default or from ``STREAMCTL_SYNCHRONOUS``;
    ``FULL`` fsyncs every commit),
    ``busy_timeout`` (seconds a write waits for another process's lock, default 10),
    ``readonly`` (open the file read-only).
    """

    def __init__(
        self,
        path: str,
        *,
        decode_responses: bool = True,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        synchronous: str | None = None,
        busy_timeout: float | str = storage.DEFAULT_BUSY_TIMEOUT,
        readonly: bool | str = False,
    ):
        self.path = str(path)
        self.decode_responses = bool(decode_responses)
        self._encoder = Encoder(encoding, encoding_errors, self.decode_responses)
        self.engine = Engine(
            self.path,
            decode=self.decode_responses,
            encoding=encoding,
            encoding_errors=encoding_errors,
            synchronous=synchronous,
            busy_timeout=float(busy_timeout),
            readonly=_truthy(readonly),
        )
        self.response_callbacks = dict(_CALLBACKS)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__}(path={self.path!r})>"

    def __enter__(self) -> SQLiteClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()

    def get_encoder(self) -> Encoder:
        return self._encoder

    def _encode_args(self, args: tuple) -> list[bytes]:
        # str and bytes inline (the common case, on every call); anything else goes
        # through redis-py's Encoder for its exact DataError on unsupported types.
        encoder = self._encoder
        encoding, errors_mode = encoder.encoding, encoder.encoding_errors
        out = []
        for arg in args:
            kind = type(arg)
            if kind is str:
                out.append(arg.encode(encoding, errors_mode))
            elif kind is bytes:
                out.append(arg)
            else:
                encoded = encoder.encode(arg)  # redis-py's DataError for unsupported types
                out.append(encoded if type(encoded) is bytes else bytes(encoded))
        return out

    def _parse(self, args: tuple, reply: Any, options: dict[str, Any]) -> Any:
        for name in _CLIENT_ONLY_OPTIONS:
            options.pop(name, None)
        first = args[0]
        if first == "XADD":  # the hot path: no callback, nothing to shape
            return reply
        name = safe_str(first).upper()
        if name == "XINFO" and len(args) > 1:
            # execute_command("XINFO", "STREAM", ...) in separate words: the default
            # redis-py client gets maps (RESP3) here; give the same dicts.
            name = f"XINFO {safe_str(args[1]).upper()}"
            if any(safe_str(a).upper() == "FULL" for a in args[3:4]):
                options.setdefault("full", True)
        callback = self.response_callbacks.get(name)
        if callback is None:
            return reply
        if name == "XINFO STREAM" and not self.decode_responses:
            options["_bytes_mode"] = True
        return callback(reply, **options)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            reply = self.engine.execute_argv(self._encode_args(args))
        except ReplyError as exc:
            raise errors.to_response_error(exc) from None
        return self._parse(args, reply, options)

    @functools.wraps(StreamCommands.xadd)
    def xadd(self, name: Any, fields: Any, id: Any = "*", *args: Any, **kwargs: Any) -> Any:
        # The producer's hot path: with no options the command is XADD name * fields...,
        # handed to the engine without building and re-parsing an argv. Anything else
        # (and a subclass that routes commands itself) takes redis-py's own method.
        argv = _plain_xadd(self, SQLiteClient, name, fields, id, args, kwargs)
        if argv is None:
            return StreamCommands.xadd(self, name, fields, id, *args, **kwargs)
        # argv is ["XADD", name, "*", field, value, ...]; the engine takes name and fields.
        key, *pairs = self._encode_args([argv[1], *argv[3:]])
        try:
            return self.engine.append(key, pairs)
        except ReplyError as exc:
            raise errors.to_response_error(exc) from None

    @functools.wraps(StreamCommands.xreadgroup)
    def xreadgroup(
        self,
        groupname: Any,
        consumername: Any,
        streams: Any,
        count: Any = None,
        block: Any = None,
        noack: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # The consumer's hot path: new entries (">") of one stream, no BLOCK, no NOACK.
        if (
            args
            or kwargs
            or block is not None
            or noack
            or type(streams) is not dict
            or len(streams) != 1
            or (count is not None and (type(count) is not int or not 1 <= count <= _INT64_MAX))
            or type(self).execute_command is not SQLiteClient.execute_command
        ):
            return StreamCommands.xreadgroup(
                self, groupname, consumername, streams, count, block, noack, *args, **kwargs
            )
        ((key, wanted),) = streams.items()
        if wanted != ">" and wanted != b">":
            return StreamCommands.xreadgroup(self, groupname, consumername, streams, count)
        group, consumer, key = self._encode_args((groupname, consumername, key))
        try:
            reply = self.engine.read_new(group, consumer, key, count or 0)
        except ReplyError as exc:
            raise errors.to_response_error(exc) from None
        callback = self.response_callbacks.get("XREADGROUP")
        return callback(reply) if callback is not None else reply

    @functools.wraps(StreamCommands.xack)
    def xack(self, name: Any, groupname: Any, *ids: Any) -> Any:
        if not ids or type(self).execute_command is not SQLiteClient.execute_command:
            return StreamCommands.xack(self, name, groupname, *ids)
        argv = self._encode_args((name, groupname, *ids))
        try:
            reply = self.engine.ack(argv[0], argv[1], argv[2:])
        except ReplyError as exc:
            raise errors.to_response_error(exc) from None
        callback = self.response_callbacks.get("XACK")  # none by default; a user's, if set
        return callback(reply) if callback is not None else reply

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """Commands queued and run in ONE SQLite transaction by ``execute()``."""
        return Pipeline(self, transaction)

    def scan_iter(self, match: Any = None, count: int | None = None,
                  _type: str | None = None, **kwargs: Any) -> Iterator[Any]:  # fmt: skip
        cursor = 0
        while True:
            cursor, names = self.scan(cursor, match=match, count=count, _type=_type, **kwargs)
            yield from names
            if cursor == 0:
                return


class Pipeline(KeyCommands, StreamCommands):
    """redis-py's pipeline surface: commands are queued; ``execute()`` runs them all in
    one SQLite write transaction and returns their results in order. As in a Redis
    MULTI/EXEC, a command that fails does not undo the others; with ``raise_on_error``
    (the default) the first error is raised after the transaction commits, worded as
    redis-py words it."""

    def __init__(self, client: SQLiteClient, transaction: bool = True):
        self.client = client
        self.transaction = transaction
        self.command_stack: list[tuple[tuple, dict]] = []

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()

    def __len__(self) -> int:
        return len(self.command_stack)

    def __bool__(self) -> bool:
        return True

    def reset(self) -> None:
        self.command_stack = []

    def multi(self) -> None:
        """Accepted for compatibility: a streamctl pipeline is always a transaction."""

    def execute_command(self, *args: Any, **options: Any) -> Pipeline:
        self.command_stack.append((args, options))
        return self

    @functools.wraps(StreamCommands.xadd)
    def xadd(self, name: Any, fields: Any, id: Any = "*", *args: Any, **kwargs: Any) -> Any:
        # Queued as redis-py queues it, without its option handling when there is none.
        argv = _plain_xadd(self, Pipeline, name, fields, id, args, kwargs)
        if argv is None:
            return StreamCommands.xadd(self, name, fields, id, *args, **kwargs)
        self.command_stack.append((tuple(argv), {}))
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self.command_stack = self.command_stack, []
        if not stack:
            return []
        client = self.client
        commands = [client._encode_args(args) for args, _ in stack]
        try:
            replies = client.engine.execute_many(commands, multi=self.transaction)
        except TransactionAborted as aborted:
            # redis-py raises a command refused when queued whatever raise_on_error says.
            exc = errors.to_response_error(aborted.error)
            raise _annotated(exc, aborted.position + 1, stack[aborted.position][0]) from None
        results: list[Any] = []
        for number, ((args, options), reply) in enumerate(zip(stack, replies), start=1):
            if args[0] == "XADD" and type(reply) is not ReplyError:
                results.append(reply)  # an ID (or None): nothing to shape
            elif isinstance(reply, ReplyError):
                exc = errors.to_response_error(reply)
                if raise_on_error:
                    raise _annotated(exc, number, args)
                results.append(exc)
            else:
                results.append(client._parse(args, reply, dict(options)))
        return results


def _plain_xadd(obj: Any, cls: type, name: Any, fields: Any, id: Any, args: tuple,
                kwargs: dict) -> list[Any] | None:  # fmt: skip
    """``["XADD", name, "*", field, value, ...]`` — what redis-py's ``xadd`` sends — when
    the call has no options and ``obj`` routes commands as ``cls`` does; else None."""
    if (
        args
        or kwargs
        or id != "*"
        or type(fields) is not dict
        or not fields
        or type(obj).execute_command is not cls.execute_command
    ):
        return None
    argv = ["XADD", name, "*"]
    for pair in fields.items():
        argv.extend(pair)
    return argv


def _annotated(exc: Exception, number: int, args: tuple) -> Exception:
    """The error as redis-py reports a pipeline's failed command."""
    exc.args = (errors.pipeline_error_text(number, list(map(safe_str, args)), exc.args[0]),)
    return exc


def _truthy(value: bool | str) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
