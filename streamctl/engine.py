"""The SQLite engine: Redis stream commands executed on a shared SQLite file.

:class:`Engine` takes a command as Redis receives it (``execute("XADD", "s", "*", "f",
"v")``) and answers what a Redis server answers in RESP2: the same argument parsing and
order of checks as ``t_stream.c`` (so the same error texts for the same mistakes), the
same reply shapes, with IDs and names as ``str`` when ``decode`` is true, else ``bytes``.
redis-py's response callbacks then turn those replies into Python shapes
(:mod:`streamctl.client`); the command line's fast path uses the engine directly.

Guarantees, on top of Redis's semantics:

* Each command is one SQLite transaction (``BEGIN IMMEDIATE`` for anything that writes),
  so every process sharing the file sees commands as atomic and in one order; IDs are
  generated inside the write transaction, so they increase strictly across processes.
* All validation happens before the first write; a command that fails changes nothing.
* No command scans a stream or a PEL: reads and trims seek the ``(stream, id)`` and
  ``(group, id)`` primary keys; lengths and pending counts are stored counters.
* ``BLOCK`` waits on :mod:`streamctl.wakeup` (no polling cost on Linux) and re-runs the
  read when another process commits, as Redis 7.2+ re-executes a blocked command.

Not supported (no meaning on one file): other data types, CONFIG, replication, and the
Redis 8.2+ stream options (KEEPREF/DELREF/ACKED, IDMP, XACKDEL, XDELEX).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time

from . import codec, layout, storage
from .errors import ReplyError, TransactionAborted, WrongArgs
from .ids import (
    INVALID_ID,
    MAX_ID,
    U64,
    fmt,
    fmt_b,
    from_db,
    parse_xadd,
    range_end,
    range_start,
    to_db,
)
from .ids import parse as parse_id

# Typing names only (importing typing would cost the CLI's start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

SYNTAX_ERROR = "ERR syntax error"
NOT_AN_INTEGER = "ERR value is not an integer or out of range"
NO_SUCH_KEY = "ERR no such key"
XADD_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
XGROUP_NEEDS_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically."
)

ZERO = to_db(0)
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

_DIGITS = re.compile(rb"-?[1-9][0-9]*|0")

# Redis arity: n means exactly n args (command name included), -n means at least n.
ARITY = {
    b"XADD": -5, b"XRANGE": -4, b"XREVRANGE": -4, b"XLEN": 2, b"XREAD": -4,
    b"XREADGROUP": -7, b"XACK": -4, b"XPENDING": -3, b"XCLAIM": -6, b"XAUTOCLAIM": -6,
    b"XTRIM": -4, b"XDEL": -3, b"XGROUP": -2, b"XINFO": -2, b"DEL": -2, b"EXISTS": -2,
    b"KEYS": 2, b"SCAN": -2, b"TYPE": 2, b"PING": -1, b"FLUSHDB": -1, b"FLUSHALL": -1,
}  # fmt: skip
SUB_ARITY = {
    (b"XGROUP", b"CREATE"): -5, (b"XGROUP", b"SETID"): -5, (b"XGROUP", b"DESTROY"): 4,
    (b"XGROUP", b"CREATECONSUMER"): 5, (b"XGROUP", b"DELCONSUMER"): 5,
    (b"XINFO", b"STREAM"): -3, (b"XINFO", b"GROUPS"): 3, (b"XINFO", b"CONSUMERS"): 4,
}  # fmt: skip


#: UPDATE ... RETURNING (SQLite 3.35+) saves a statement on every group read.
_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35)


_TOUCH_CONSUMER = "UPDATE consumers SET seen_time=?1 WHERE grp=?2 AND name=?3"
_TOUCH_ACTIVE_CONSUMER = (
    "UPDATE consumers SET seen_time=?1, active_time=?1 WHERE grp=?2 AND name=?3"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_int(arg: bytes, error: str = NOT_AN_INTEGER) -> int:
    """A 64-bit signed integer argument, parsed as strictly as Redis's string2ll()."""
    if len(arg) <= 20 and _DIGITS.fullmatch(arg):
        value = int(arg)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    raise ReplyError(error if error.startswith(("ERR ", "-")) else "ERR " + error)


def shown_arg(raw: bytes) -> str:
    """An argument as a Redis error text shows it: the server formats it as a C string
    (it ends at a NUL byte) and puts a space for every CR or LF of the message."""
    return raw.split(b"\0", 1)[0].decode(errors="replace").replace("\r", " ").replace("\n", " ")


def c_str(arg: bytes) -> bytes:
    """An argument as the server's C-string comparisons see it: up to its first NUL
    (so "$\\0x" is "$" and "COUNT\\0x" is COUNT, as on Redis)."""
    return arg.split(b"\0", 1)[0] if b"\0" in arg else arg


def keyword(arg: bytes) -> bytes:
    """An option or subcommand name, for case-insensitive comparison (strcasecmp)."""
    return c_str(arg).upper()


def encode_arg(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode()
    raise TypeError(f"cannot send a {type(arg).__name__} as a command argument")


class Stream:
    """One stream key's state, loaded for the length of one command.

    The counters are derived (see :mod:`streamctl.schema`): from the ``streams`` row's
    floors and the newest entry row, which carries entries-added and its node's fill.
    """

    __slots__ = ("rowid", "last", "last_entry", "max_deleted", "added", "length",
                 "tail_node", "tail_entries", "tail_bytes", "tail_fields", "tail_master",
                 "first")  # fmt: skip

    def __init__(self, row: tuple, tail: tuple | None):
        """``row``: the streams columns of _LOAD_STREAM; ``tail``: its newest entry's."""
        self.rowid = row[0]
        #: The first entry's ID (0 when empty); None until loaded (Engine._first_id).
        self.first = None
        #: tail_node as an int, computed when first needed.
        self.tail_master: int | None = None
        self.last = from_db(row[1])
        self.max_deleted = from_db(row[2])
        floor, removed, saved_at = row[3], row[4], row[5]
        if tail is None:
            self.last_entry = 0
            self.added = floor
        else:
            self.last_entry = from_db(tail[0])
            self.last = max(self.last, self.last_entry)
            self.added = max(floor, tail[1])
        if tail is not None and tail[1] > saved_at:  # appended since the last save
            self.tail_node, self.tail_entries, self.tail_bytes, self.tail_fields = tail[2:6]
        else:
            self.tail_node, self.tail_entries, self.tail_bytes, self.tail_fields = row[6:10]
        self.length = self.added - removed

    def save(self, db: sqlite3.Connection) -> None:
        """Write the floors and the newest node's state back: needed after anything but
        a plain append (deletions and trims leave the newest entry row behind)."""
        db.execute(
            "UPDATE streams SET last_id=?, max_deleted_id=?, added_floor=?, removed=?,"
            " tail_added=?, tail_node=?, tail_entries=?, tail_bytes=?, tail_fields=?"
            " WHERE id=?",
            (to_db(self.last), to_db(self.max_deleted), self.added, self.added - self.length,
             self.added, self.tail_node, self.tail_entries, self.tail_bytes, self.tail_fields,
             self.rowid),
        )  # fmt: skip


class Group:
    __slots__ = ("rowid", "name", "last", "entries_read", "pending")

    def __init__(self, row: tuple):
        self.rowid, self.name = row[0], row[1]
        self.last = from_db(row[2])
        self.entries_read, self.pending = row[3], row[4]


class TrimArgs:
    __slots__ = ("strategy", "approx", "maxlen", "minid", "limit", "nomkstream", "id",
                 "id_given", "seq_given")  # fmt: skip

    def __init__(self):
        self.strategy = None  # b"MAXLEN" | b"MINID" | None
        self.approx = False
        self.maxlen = 0
        self.minid = 0
        self.limit = 0
        self.nomkstream = False
        self.id = 0
        self.id_given = False
        self.seq_given = True


#: The options of a plain ``XADD key * ...``.
_AUTO_ID = TrimArgs()


class _KeptStates:
    """In-memory states (streams, groups) as this connection's own last command left
    them, so that the next command need not load them again.

    They are true while no other connection has committed: ``PRAGMA data_version``,
    read inside the write transaction, changes exactly when another connection has
    committed, never for this connection's own commits. So :meth:`take` is called
    inside the transaction, :meth:`keep` after its commit, and every other write of
    this connection calls :meth:`clear`. A state is taken out while a command changes
    it: one that fails leaves nothing stale behind."""

    LIMIT = 64  # states kept (a producer or a consumer uses a few streams)

    def __init__(self) -> None:
        self._states: dict[Any, Any] = {}
        self._version: int | None = None

    def take(self, db: sqlite3.Connection, key: Any) -> Any:
        (version,) = db.execute("PRAGMA data_version").fetchone()
        if version != self._version:
            self._states.clear()
            self._version = version
            return None
        return self._states.pop(key, None)

    def keep(self, key: Any, state: Any) -> None:
        if len(self._states) >= self.LIMIT:
            self._states.clear()
        self._states[key] = state

    def clear(self) -> None:
        self._states.clear()


class ReadArgs:
    """A parsed XREAD / XREADGROUP."""

    __slots__ = ("count", "block", "keys", "ids", "group", "consumer", "noack")

    def __init__(self):
        self.count = 0
        self.block: int | None = None
        self.keys: list[bytes] = []
        self.ids: list[bytes | int] = []
        self.group: bytes | None = None
        self.consumer: bytes | None = None
        self.noack = False


class Engine:
    """Redis stream commands on one SQLite file; see the module docstring."""

    def __init__(
        self,
        path: str,
        *,
        decode: bool = True,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        synchronous: str | None = None,
        busy_timeout: float = storage.DEFAULT_BUSY_TIMEOUT,
        readonly: bool = False,
    ):
        self.path = str(path)
        self.decode = decode
        self.busy_timeout = float(busy_timeout)
        if not synchronous:  # the option, else STREAMCTL_SYNCHRONOUS, else NORMAL
            synchronous = os.environ.get("STREAMCTL_SYNCHRONOUS") or "NORMAL"
        self._db = storage.open_database(
            self.path, synchronous=synchronous, busy_timeout=self.busy_timeout, readonly=readonly
        )
        self._lock = threading.RLock()
        self._pipeline_thread: int | None = None  # the thread running execute_many
        # Streams as this connection's last plain appends left them (_append), and
        # streams with a group as its last ``XREADGROUP ... >`` left them (read_new).
        self._appended = _KeptStates()
        self._served = _KeptStates()
        self._closed = False
        if decode and (encoding, encoding_errors) != ("utf-8", "strict"):
            self._out = lambda raw: raw.decode(encoding, encoding_errors)
            self._id_out = fmt
            self._fields_out = lambda blob: [
                item.decode(encoding, encoding_errors) for item in codec.unpack(blob)
            ]
        elif decode:
            self._out = bytes.decode
            self._id_out = fmt
            self._fields_out = codec.unpack_str
        else:
            self._out = bytes
            self._id_out = fmt_b
            self._fields_out = codec.unpack

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._db.close()

    def execute(self, *args: Any) -> Any:
        """Run one command; returns its RESP2 reply, raises :class:`ReplyError`."""
        return self.execute_argv([encode_arg(a) for a in args])

    def execute_argv(self, argv: list[bytes]) -> Any:
        if self._closed:
            raise storage.DatabaseError(f"{self.path}: the client is closed")
        argv, handler = self.resolve(argv)
        return handler(self, argv)

    @staticmethod
    def resolve(argv: list[bytes]) -> tuple[list[bytes], Callable[[Engine, list[bytes]], Any]]:
        """The command's handler, after the checks Redis makes before running (or
        queueing, in MULTI) a command: known name, arity, known subcommand."""
        if argv and b" " in argv[0]:  # redis-py sends "XGROUP CREATE" as one word
            argv = argv[0].split() + argv[1:]
        if not argv:
            raise ReplyError("ERR empty command")
        name = argv[0].upper()  # command names are looked up as binary strings
        handler = _COMMANDS.get(name)
        if handler is None:
            shown = " ".join(f"'{shown_arg(a)}'" for a in argv[1:])
            raise ReplyError(
                f"ERR unknown command '{shown_arg(argv[0])}', with args "
                f"beginning with: {shown}" + (" " if shown else "")
            )
        Engine._check_arity(name, argv)
        return argv, handler

    def execute_many(self, commands: Sequence[list[bytes]], multi: bool = True) -> list[Any]:
        """Run commands in ONE write transaction (a pipeline / MULTI). As in Redis, a
        command that fails leaves the others applied; its error is returned in its
        place. With ``multi``, a command refused when queued (unknown, wrong arity)
        aborts the whole transaction before anything runs (:class:`TransactionAborted`),
        as EXEC answers EXECABORT. BLOCK is ignored, as inside MULTI.

        Runs of plain XADDs (no trimming) are appended with one ``executemany``: the
        stream's state is read once and advanced in memory, which is what makes a
        pipeline of adds several times faster than one call per add."""
        resolved: list[Any] = []
        for position, argv in enumerate(commands):
            if argv[0] == b"XADD" and len(argv) >= 5:  # a pipeline's usual command: known
                resolved.append((argv, Engine.cmd_xadd))
                continue
            try:
                resolved.append(self.resolve(argv))
            except ReplyError as exc:
                if multi:
                    raise TransactionAborted(position, exc) from None
                resolved.append(exc)

        def body():
            self._pipeline_thread = threading.get_ident()
            try:
                return run_all()
            finally:
                self._pipeline_thread = None

        def run_all():
            results: list[Any] = []
            appends = _AppendBatch(self)
            for number, command in enumerate(resolved):
                if isinstance(command, ReplyError):
                    results.append(command)
                    continue
                argv, handler = command
                if handler is Engine.cmd_xadd and appends.try_add(argv, results):
                    continue
                appends.flush()
                self._db.execute(f"SAVEPOINT cmd{number}")
                try:
                    results.append(handler(self, argv))
                except ReplyError as exc:
                    self._db.execute(f"ROLLBACK TO cmd{number}")
                    results.append(exc)
                self._db.execute(f"RELEASE cmd{number}")
            appends.flush()
            return results

        if self._closed:
            raise storage.DatabaseError(f"{self.path}: the client is closed")
        return self._write(body)

    @staticmethod
    def _check_arity(name: bytes, argv: list[bytes]) -> None:
        arity = ARITY[name]
        n = len(argv)
        if (arity >= 0 and n != arity) or (arity < 0 and n < -arity):
            raise WrongArgs(name.decode())
        if name in (b"XGROUP", b"XINFO"):
            sub = argv[1].upper()
            sub_arity = SUB_ARITY.get((name, sub))
            if sub_arity is None:
                if sub == b"HELP":
                    if n != 2:
                        raise WrongArgs(f"{name.decode().lower()}|help")
                    return
                raise ReplyError(
                    f"ERR unknown subcommand '{shown_arg(argv[1])}'. Try {name.decode()} HELP."
                )
            if (sub_arity >= 0 and n != sub_arity) or (sub_arity < 0 and n < -sub_arity):
                raise WrongArgs(f"{name.decode().lower()}|{sub.decode().lower()}")

    def _write(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            # This connection's own commits leave data_version as it was: any other write
            # forgets the states that _append and read_new keep.
            self._appended.clear()
            self._served.clear()
            return self._transact(storage.run_write, fn)

    def _write_acks(self, fn: Callable[[], Any]) -> Any:
        """:meth:`_write` for XACK, which changes no stream and no group's last ID: the
        states kept by _append and read_new stay true."""
        with self._lock:
            return self._transact(storage.run_write, fn)

    def _read(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            return self._transact(storage.run_read, fn)

    def _transact(self, run: Callable[..., Any], fn: Callable[[], Any]) -> Any:
        """``run(fn)`` (storage.run_write or run_read), with this engine's lock held.

        The lock is re-entrant, so a transaction already open here is this very thread's:
        a pipeline's (whose commands share its transaction), or a command interrupted by
        a signal handler (or a callback) that called this client again. Nested into the
        interrupted command's transaction, the handler's write would be undone with it
        when that command fails, after its reply was given: refused instead."""
        if self._db.in_transaction and self._pipeline_thread != threading.get_ident():
            raise storage.DatabaseError(
                f"{self.path}: the client was called while one of its own commands was "
                "running (from a signal handler?); use another client there"
            )
        return run(self._db, self.path, self.busy_timeout, fn)

    def _name(self, raw: bytes) -> str:
        return shown_arg(raw)

    # ------------------------------------------------------------------ lookups

    # One seek for a stream's row and its newest entry (which carries the counters).
    _LOAD_STREAM = (
        "SELECT s.id, s.last_id, s.max_deleted_id, s.added_floor, s.removed, s.tail_added,"
        " s.tail_node, s.tail_entries, s.tail_bytes, s.tail_fields,"
        " e.id, e.added, e.node, e.node_entries, e.node_bytes, e.node_fields"
        " FROM streams s LEFT JOIN entries e ON e.stream = s.id"
        " AND e.id = (SELECT max(id) FROM entries WHERE stream = s.id)"
        " WHERE s.name = ?"
    )

    def _stream(self, key: bytes) -> Stream | None:
        """The stream ``key``, or None if it does not exist."""
        row = self._db.execute(self._LOAD_STREAM, (key,)).fetchone()
        if row is None:
            return None
        return Stream(row[:10], row[10:16] if row[10] is not None else None)

    # A stream, its first entry's ID (for the lag accounting) and one of its groups.
    _LOAD_STREAM_AND_GROUP = _LOAD_STREAM.replace(
        " FROM streams s",
        ", (SELECT min(id) FROM entries WHERE stream = s.id),"
        " g.id, g.name, g.last_id, g.entries_read, g.pending FROM streams s",
        1,
    ).replace(
        " WHERE s.name = ?",
        " LEFT JOIN groups g ON g.stream = s.id AND g.name = ?2 WHERE s.name = ?1",
    )

    def _stream_and_group(self, key: bytes, name: bytes) -> tuple[Stream | None, Group | None]:
        """A stream (with its first entry's ID) and one of its groups, in one query."""
        row = self._db.execute(self._LOAD_STREAM_AND_GROUP, (key, name)).fetchone()
        if row is None:
            return None, None
        stream = Stream(row[:10], row[10:16] if row[10] is not None else None)
        stream.first = from_db(row[16]) if row[16] is not None else 0
        return stream, (Group(row[17:22]) if row[17] is not None else None)

    def _stream_and_group_or_nogroup(self, argv: list[bytes]) -> tuple[Stream, Group]:
        """The stream argv[1] and its group argv[2]; the NOGROUP error XPENDING, XCLAIM
        and XAUTOCLAIM give when either is missing."""
        stream, group = self._stream_and_group(argv[1], argv[2])
        if group is None:
            raise ReplyError(
                f"NOGROUP No such key '{self._name(argv[1])}' or consumer group "
                f"'{self._name(argv[2])}'"
            )
        return stream, group

    def _group_id(self, key: bytes, name: bytes) -> int | None:
        row = self._db.execute(
            "SELECT g.id FROM groups g JOIN streams s ON g.stream = s.id"
            " WHERE s.name=? AND g.name=?",
            (key, name),
        ).fetchone()
        return row[0] if row else None

    def _create_stream(self, key: bytes) -> Stream:
        cur = self._db.execute(
            "INSERT INTO streams (name, last_id, max_deleted_id) VALUES (?, ?, ?)",
            (key, ZERO, ZERO),
        )
        return Stream((cur.lastrowid, ZERO, ZERO, 0, 0, 0, None, 0, 0, 0), None)

    def _group(self, stream: Stream, name: bytes) -> Group | None:
        row = self._db.execute(
            "SELECT id, name, last_id, entries_read, pending FROM groups WHERE stream=? AND name=?",
            (stream.rowid, name),
        ).fetchone()
        return Group(row) if row else None

    def _consumer(self, group: Group, name: bytes, now: int, create: bool = True) -> int | None:
        row = self._db.execute(
            "SELECT id FROM consumers WHERE grp=? AND name=?", (group.rowid, name)
        ).fetchone()
        if row:
            return row[0]
        if not create:
            return None
        return self._db.execute(
            "INSERT INTO consumers (grp, name, seen_time) VALUES (?, ?, ?)",
            (group.rowid, name, now),
        ).lastrowid

    def _seen_consumer(self, group: Group, name: bytes, now: int, active: bool = False) -> int:
        """The consumer ``name`` (created if missing) with its seen-time set to ``now``, as
        XREADGROUP, XCLAIM and XAUTOCLAIM do (Redis 7.2+); ``active`` also sets its
        active-time (something was delivered or claimed)."""
        sql = _TOUCH_ACTIVE_CONSUMER if active else _TOUCH_CONSUMER
        if not _HAS_RETURNING:
            consumer = self._consumer(group, name, now)
            self._db.execute(sql, (now, group.rowid, name))
            return consumer
        row = self._db.execute(sql + " RETURNING id", (now, group.rowid, name)).fetchone()
        if row:
            return row[0]
        consumer = self._consumer(group, name, now)  # created with seen-time = now
        if active:
            self._db.execute("UPDATE consumers SET active_time=? WHERE id=?", (now, consumer))
        return consumer

    def _first_id(self, stream: Stream) -> int:
        if stream.first is None:
            row = self._db.execute(
                "SELECT id FROM entries WHERE stream=? ORDER BY id LIMIT 1", (stream.rowid,)
            ).fetchone()
            stream.first = from_db(row[0]) if row else 0
        return stream.first

    def _entry_fields(self, stream: Stream, sid: int) -> bytes | None:
        row = self._db.execute(
            "SELECT fields FROM entries WHERE stream=? AND id=?", (stream.rowid, to_db(sid))
        ).fetchone()
        return row[0] if row else None

    def _range(self, stream: Stream, start: int, end: int, count: int, rev: bool = False):
        sql = (
            "SELECT id, fields FROM entries WHERE stream=? AND id BETWEEN ? AND ? ORDER BY id"
            + (" DESC" if rev else "")
            + " LIMIT ?"
        )
        rows = self._db.execute(sql, (stream.rowid, to_db(start), to_db(end), count or -1))
        id_out, fields_out = self._id_out, self._fields_out
        return [[id_out(from_db(i)), fields_out(f)] for i, f in rows]

    # ------------------------------------------------------------------ XADD / XTRIM

    def _parse_add_or_trim(self, argv: list[bytes], xadd: bool) -> tuple[TrimArgs, int]:
        """Redis's streamParseAddOrTrimArgsOrReply(): returns the args and, for XADD,
        the index of the ID argument."""
        args = TrimArgs()
        if xadd and c_str(argv[2]) == b"*":  # the common case: no options, auto ID
            return args, 2
        limit_given = False
        i = 2
        n = len(argv)
        while i < n:
            moreargs = n - 1 - i
            opt = argv[i]
            upper = keyword(opt)
            if xadd and c_str(opt) == b"*":
                break
            if upper in (b"MAXLEN", b"MINID") and moreargs:
                if args.strategy is not None:
                    raise ReplyError(
                        "ERR syntax error, MAXLEN and MINID options at the same time are not "
                        "compatible"
                    )
                args.approx = False
                nxt = argv[i + 1]
                if moreargs >= 2 and c_str(nxt) == b"~":
                    args.approx = True
                    i += 1
                elif moreargs >= 2 and c_str(nxt) == b"=":
                    i += 1
                if upper == b"MAXLEN":
                    args.maxlen = to_int(argv[i + 1])
                    if args.maxlen < 0:
                        raise ReplyError("ERR The MAXLEN argument must be >= 0.")
                else:
                    args.minid = parse_id(argv[i + 1], 0, strict=True)
                i += 1
                args.strategy = upper
            elif upper == b"LIMIT" and moreargs:
                args.limit = to_int(argv[i + 1])
                if args.limit < 0:
                    raise ReplyError("ERR The LIMIT argument must be >= 0.")
                limit_given = True
                i += 1
            elif xadd and upper == b"NOMKSTREAM":
                args.nomkstream = True
            elif xadd:
                args.id, args.seq_given = parse_xadd(opt)
                args.id_given = True
                break
            else:
                raise ReplyError(SYNTAX_ERROR)
            i += 1
        if args.limit and args.strategy is None:
            raise ReplyError(
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
            )
        if not xadd and args.strategy is None:
            raise ReplyError("ERR syntax error, XTRIM must be called with a trimming strategy")
        if limit_given:
            if not args.approx:
                raise ReplyError(
                    "ERR syntax error, LIMIT cannot be used without the special ~ option"
                )
        elif args.approx:
            args.limit = 100 * layout.NODE_MAX_ENTRIES
        else:
            args.limit = 0
        return args, i

    def _parse_xadd(self, argv: list[bytes]) -> tuple[TrimArgs, list[bytes]]:
        args, i = self._parse_add_or_trim(argv, xadd=True)
        fields = argv[i + 1 :]
        if len(fields) < 2 or len(fields) % 2:
            raise WrongArgs("xadd")
        if args.id_given and args.seq_given and args.id == 0:
            raise ReplyError("ERR The ID specified in XADD must be greater than 0-0")
        return args, fields

    def _next_entry(self, stream: Stream, args: TrimArgs, fields: list[bytes]) -> tuple:
        """The entries row XADD appends to ``stream`` (whose in-memory state it advances);
        raises, changing nothing, if the ID is not acceptable."""
        last = stream.last
        if last == MAX_ID:
            raise ReplyError(
                "ERR The stream has exhausted the last possible ID, unable to add more items"
            )
        if not args.id_given:
            ms = now_ms()
            new = ms << 64 if ms > (last >> 64) else last + 1
        elif args.seq_given:
            new = args.id
        elif args.id >> 64 == last >> 64:
            if last & U64 == U64:
                raise ReplyError(XADD_TOO_SMALL)
            new = last + 1
        else:
            new = args.id
        if new <= last:
            raise ReplyError(XADD_TOO_SMALL)
        self._place_in_node(stream, fields, new)
        stream.added += 1
        stream.length += 1
        stream.last = stream.last_entry = new
        return (stream.rowid, to_db(new), stream.added, stream.tail_node, stream.tail_entries,
                stream.tail_bytes, stream.tail_fields, codec.pack(fields))  # fmt: skip

    _INSERT_ENTRY = (
        "INSERT INTO entries (stream, id, added, node, node_entries, node_bytes, node_fields,"
        " fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def cmd_xadd(self, argv: list[bytes]) -> Any:
        args, fields = self._parse_xadd(argv)
        if args.strategy is None and not args.nomkstream and self._pipeline_thread is None:
            return self._append(argv[1], args, fields)

        def tx():
            stream = self._stream(argv[1])
            if stream is None:
                if args.nomkstream:
                    return None
                stream = self._create_stream(argv[1])
            row = self._next_entry(stream, args, fields)
            self._db.execute(self._INSERT_ENTRY, row)
            if args.strategy is not None and self._trim(stream, args):
                stream.save(self._db)
            return self._id_out(stream.last)

        return self._write(tx)

    def append(self, key: bytes, fields: list[bytes]) -> Any:
        """``XADD key * field value ...`` without parsing an argv: the producer's hot
        path (``SQLiteClient.xadd`` with no options). ``fields`` is a non-empty list of
        field, value pairs."""
        if self._closed:
            raise storage.DatabaseError(f"{self.path}: the client is closed")
        if len(fields) < 2 or len(fields) % 2:
            raise WrongArgs("xadd")
        if self._pipeline_thread is not None:  # inside a pipeline: it owns the stream state
            return self.execute_argv([b"XADD", key, b"*", *fields])
        return self._append(key, _AUTO_ID, fields)

    def _append(self, key: bytes, args: TrimArgs, fields: list[bytes]) -> Any:
        """A plain append (no trimming, no NOMKSTREAM) in its own transaction. With the
        stream's state kept from this connection's previous append (see _KeptStates), the
        transaction is the insert alone, the cost of a raw single-row insert."""
        db = self._db

        def tx():
            stream = self._appended.take(db, key)
            if stream is None:
                stream = self._stream(key) or self._create_stream(key)
            db.execute(self._INSERT_ENTRY, self._next_entry(stream, args, fields))
            return stream

        with self._lock:
            self._served.clear()  # the stream changes
            stream = self._transact(storage.run_write, tx)
            self._appended.keep(key, stream)
        return self._id_out(stream.last)

    @staticmethod
    def _place_in_node(stream: Stream, fields: list[bytes], new: int) -> None:
        """Append the entry ``new`` to the node Redis would put it in (streamAppendItem):
        the newest node unless it is full by entries or by listpack bytes."""
        if (
            stream.length == 0
            or stream.tail_entries == 0
            or stream.tail_bytes + layout.raw_size(fields) >= layout.NODE_MAX_BYTES
            or stream.tail_entries >= layout.NODE_MAX_ENTRIES
        ):
            stream.tail_node = to_db(new)
            stream.tail_entries = 0
            stream.tail_bytes = layout.master_size(fields)
            stream.tail_fields = layout.fields_signature(fields)
            stream.tail_master = new
            same = True
        else:
            same = layout.fields_signature(fields) == stream.tail_fields
        master = stream.tail_master
        if master is None:
            master = stream.tail_master = from_db(stream.tail_node)
        stream.tail_entries += 1
        stream.tail_bytes += layout.entry_size(
            fields, same, (new >> 64) - (master >> 64), (new & U64) - (master & U64)
        )

    def _trim(self, stream: Stream, args: TrimArgs) -> int:
        db, rowid = self._db, stream.rowid
        deleted = 0
        if args.approx:
            while True:
                if args.strategy == b"MAXLEN" and stream.length <= args.maxlen:
                    break
                head = db.execute(
                    "SELECT id, node FROM entries WHERE stream=? ORDER BY id LIMIT ?",
                    (rowid, layout.NODE_MAX_ENTRIES + 1),
                ).fetchall()
                if not head:
                    break
                node = head[0][1]
                in_node = [i for i, n in head if n == node]
                entries = len(in_node)
                if args.limit and deleted + entries > args.limit:
                    break
                if args.strategy == b"MAXLEN":
                    remove = stream.length - entries >= args.maxlen
                else:  # the node's last entry, even if XDEL removed it, must be < MINID
                    end = db.execute(
                        "SELECT last_id FROM node_ends WHERE stream=? AND node=?", (rowid, node)
                    ).fetchone()
                    last = max(in_node[-1], end[0]) if end else in_node[-1]
                    remove = from_db(last) < args.minid
                if not remove:
                    break
                db.execute("DELETE FROM entries WHERE stream=? AND id<=?", (rowid, in_node[-1]))
                stream.length -= entries
                deleted += entries
        elif args.strategy == b"MAXLEN":
            excess = stream.length - args.maxlen
            if excess > 0:
                row = db.execute(
                    "SELECT id FROM entries WHERE stream=? ORDER BY id LIMIT 1 OFFSET ?",
                    (rowid, excess - 1),
                ).fetchone()
                db.execute("DELETE FROM entries WHERE stream=? AND id<=?", (rowid, row[0]))
                deleted = excess
        else:
            cur = db.execute(
                "DELETE FROM entries WHERE stream=? AND id<?", (rowid, to_db(args.minid))
            )
            deleted = cur.rowcount
        if not args.approx:
            stream.length -= deleted
        if deleted:  # forget the ends of nodes that are gone
            db.execute(
                "DELETE FROM node_ends WHERE stream=?1 AND node < coalesce("
                "(SELECT node FROM entries WHERE stream=?1 ORDER BY id LIMIT 1), x'ff')",
                (rowid,),
            )
        return deleted

    def cmd_xtrim(self, argv: list[bytes]) -> int:
        args, _ = self._parse_add_or_trim(argv, xadd=False)

        def tx():
            stream = self._stream(argv[1])
            if stream is None:
                return 0
            deleted = self._trim(stream, args)
            if deleted:
                stream.save(self._db)
            return deleted

        return self._write(tx)

    def cmd_xdel(self, argv: list[bytes]) -> int:
        def tx():
            stream = self._stream(argv[1])
            if stream is None:
                return 0
            ids = [parse_id(a) for a in argv[2:]]
            deleted = 0
            db = self._db
            for sid in dict.fromkeys(ids):
                raw = to_db(sid)
                row = db.execute(
                    "SELECT node FROM entries WHERE stream=? AND id=?", (stream.rowid, raw)
                ).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM entries WHERE stream=? AND id=?", (stream.rowid, raw))
                deleted += 1
                stream.max_deleted = max(stream.max_deleted, sid)
                following = db.execute(
                    "SELECT node FROM entries WHERE stream=? AND id>? ORDER BY id LIMIT 1",
                    (stream.rowid, raw),
                ).fetchone()
                if following is None or following[0] != row[0]:
                    # It was its node's last entry: Redis keeps it there, flagged deleted.
                    db.execute(
                        "INSERT INTO node_ends (stream, node, last_id) VALUES (?, ?, ?)"
                        " ON CONFLICT (stream, node) DO UPDATE SET"
                        " last_id = max(last_id, excluded.last_id)",
                        (stream.rowid, row[0], raw),
                    )
            if deleted:
                stream.length -= deleted
                # Redis frees a node once all its entries are deleted; the next XADD then
                # opens a new one.
                if (
                    stream.tail_node is not None
                    and not self._db.execute(
                        "SELECT 1 FROM entries WHERE stream=? AND id>=? LIMIT 1",
                        (stream.rowid, stream.tail_node),
                    ).fetchone()
                ):
                    stream.tail_entries = 0
                stream.save(self._db)
            return deleted

        return self._write(tx)

    def cmd_xlen(self, argv: list[bytes]) -> int:
        stream = self._read(lambda: self._stream(argv[1]))
        return stream.length if stream else 0

    # ------------------------------------------------------------------ XRANGE

    def _xrange(self, argv: list[bytes], rev: bool) -> Any:
        start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
        start = range_start(start_arg)
        end = range_end(end_arg)
        count = -1
        j = 4
        while j < len(argv):
            if keyword(argv[j]) == b"COUNT" and len(argv) - j - 1 >= 1:
                count = max(to_int(argv[j + 1]), 0)
                j += 2
            else:
                raise ReplyError(SYNTAX_ERROR)

        def tx():
            stream = self._stream(argv[1])
            if stream is None:
                return []
            if count == 0:
                return None
            if start > end:
                return []
            return self._range(stream, start, end, max(count, 0), rev)

        return self._read(tx)

    def cmd_xrange(self, argv: list[bytes]) -> Any:
        return self._xrange(argv, rev=False)

    def cmd_xrevrange(self, argv: list[bytes]) -> Any:
        return self._xrange(argv, rev=True)

    # ------------------------------------------------------------------ XREAD / XREADGROUP

    def _parse_read(self, argv: list[bytes], group_mode: bool) -> ReadArgs:
        args = ReadArgs()
        streams_at = 0
        n = len(argv)
        i = 1
        while i < n:
            moreargs = n - i - 1
            opt = keyword(argv[i])
            if opt == b"BLOCK" and moreargs:
                i += 1
                args.block = to_int(argv[i], "ERR timeout is not an integer or out of range")
                if args.block < 0:
                    raise ReplyError("ERR timeout is negative")
                if args.block > INT64_MAX - now_ms():
                    raise ReplyError("ERR timeout is out of range")
            elif opt == b"COUNT" and moreargs:
                i += 1
                args.count = max(to_int(argv[i]), 0)
            elif opt == b"STREAMS" and moreargs:
                streams_at = i + 1
                if (n - streams_at) % 2:
                    name, symbol = ("xreadgroup", ">") if group_mode else ("xread", "$")
                    raise ReplyError(
                        f"ERR Unbalanced '{name}' list of streams: for each stream key an ID "
                        f"or '{symbol}' must be specified."
                    )
                break
            elif opt == b"GROUP" and moreargs >= 2:
                if not group_mode:
                    raise ReplyError(
                        "ERR The GROUP option is only supported by XREADGROUP. You called "
                        "XREAD instead."
                    )
                args.group, args.consumer = argv[i + 1], argv[i + 2]
                i += 2
            elif opt == b"NOACK":
                if not group_mode:
                    raise ReplyError(
                        "ERR The NOACK option is only supported by XREADGROUP. You called "
                        "XREAD instead."
                    )
                args.noack = True
            else:
                raise ReplyError(SYNTAX_ERROR)
            i += 1
        if not streams_at:
            raise ReplyError(SYNTAX_ERROR)
        if group_mode and args.group is None:
            raise ReplyError("ERR Missing GROUP option for XREADGROUP")
        half = (n - streams_at) // 2
        args.keys = argv[streams_at : streams_at + half]
        args.ids = list(argv[streams_at + half :])
        return args

    def read_new(self, group: bytes, consumer: bytes, key: bytes, count: int = 0) -> Any:
        """``XREADGROUP GROUP group consumer [COUNT count] STREAMS key >`` without parsing
        an argv: the consumer's hot path (``SQLiteClient.xreadgroup`` with one stream,
        ``>``, no BLOCK and no NOACK). ``count`` 0 means no COUNT."""
        if self._closed:
            raise storage.DatabaseError(f"{self.path}: the client is closed")
        if not INT64_MIN <= count <= INT64_MAX:
            raise ReplyError(NOT_AN_INTEGER)
        args = ReadArgs()
        args.group, args.consumer, args.count = group, consumer, max(count, 0)  # as COUNT
        db = self._db

        def tx():
            kept = self._served.take(db, (key, group))
            stream, grp = kept or self._stream_and_group(key, group)
            if grp is None:
                raise self._xreadgroup_nogroup(key, group)
            entries = self._serve_new(stream, grp, args, now_ms())
            return (None if entries is None else [[self._out(key), entries]]), stream, grp

        with self._lock:
            reply, stream, grp = self._transact(storage.run_write, tx)
            self._served.keep((key, group), (stream, grp))
        return reply

    def _read_command(self, argv: list[bytes], group_mode: bool) -> Any:
        args = self._parse_read(argv, group_mode)
        # Inside a pipeline (this thread's), BLOCK is ignored, as inside MULTI.
        blocking = args.block is not None and self._pipeline_thread != threading.get_ident()
        serve = self._serve_group if group_mode else self._serve_plain
        run = self._write if group_mode else self._read
        if not blocking:
            return run(lambda: serve(args, first=True))
        # Each blocking call has its own watcher (cheap: the process shares one inotify
        # instance), opened before the first attempt so that no commit is missed, and
        # private to this thread, so threads blocked on one client never steal each
        # other's wake-ups.
        from .wakeup import open_watcher

        watcher = open_watcher(self.path)
        try:
            result = run(lambda: serve(args, first=True))
            deadline = None if args.block == 0 else time.monotonic() + args.block / 1000
            while result is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                # Wake at least every second to notice a close() from another thread.
                watcher.wait(1.0 if remaining is None else min(remaining, 1.0))
                if self._closed:
                    raise storage.DatabaseError(f"{self.path}: the client was closed")
                if self._read(lambda: self._servable(args, group_mode)):
                    result = run(lambda: serve(args, first=False))
            return result
        finally:
            watcher.close()

    def _servable(self, args: ReadArgs, group_mode: bool) -> bool:
        """Whether a blocked read would now return something (read-only check); raises
        the error Redis gives a blocked XREADGROUP whose stream or group went away."""
        for key, gt in zip(args.keys, args.ids):
            if group_mode:
                # Valkey re-runs a woken XREADGROUP: a deleted key or destroyed group
                # gives the command's own NOGROUP error.
                stream, group = self._stream_and_group(key, args.group)
                if group is None:
                    raise self._xreadgroup_nogroup(key, args.group)
                if stream.length and stream.last_entry > group.last:
                    return True
            else:
                stream = self._stream(key)
                if stream is not None and stream.length and stream.last_entry > gt:
                    return True
        return False

    def _xreadgroup_nogroup(self, key: bytes, group: bytes) -> ReplyError:
        return ReplyError(
            f"NOGROUP No such key '{self._name(key)}' or consumer group "
            f"'{self._name(group)}' in XREADGROUP with GROUP option"
        )

    def _serve_plain(self, args: ReadArgs, first: bool) -> Any:
        if first:
            streams = []
            for idx, (key, raw) in enumerate(zip(args.keys, args.ids)):
                stream = self._stream(key)
                streams.append(stream)
                if c_str(raw) == b"$":
                    args.ids[idx] = stream.last if stream else 0
                elif c_str(raw) == b">":
                    raise ReplyError(
                        "ERR The > ID can be specified only when calling XREADGROUP using the "
                        "GROUP <group> <consumer> option."
                    )
                elif c_str(raw) == b"+":  # Redis 7.4+ / Valkey: the last entry
                    # "Greater than last-generated-id - 1": the last entry if it exists.
                    args.ids[idx] = stream.last - 1 if stream and stream.last else 0
                else:
                    args.ids[idx] = parse_id(raw)
        else:
            streams = [self._stream(key) for key in args.keys]
        reply = []
        for key, stream, gt in zip(args.keys, streams, args.ids):
            if stream is None or not stream.length:
                continue
            if stream.last_entry > gt:
                reply.append([self._out(key), self._range(stream, gt + 1, MAX_ID, args.count)])
        return reply or None

    def _serve_group(self, args: ReadArgs, first: bool) -> Any:
        now = now_ms()
        targets = []
        for idx, key in enumerate(args.keys):
            stream, group = self._stream_and_group(key, args.group)
            if group is None:
                if first:
                    raise self._xreadgroup_nogroup(key, args.group)
                return None
            raw = args.ids[idx]
            if first:
                if c_str(raw) == b"$":
                    raise ReplyError(
                        "ERR The $ ID is meaningless in the context of XREADGROUP: you want to "
                        "read the history of this consumer by specifying a proper ID, or use "
                        "the > ID to get new messages. The $ ID would just return an empty "
                        "result set."
                    )
                if c_str(raw) == b"+":
                    raise ReplyError(
                        "ERR The + ID is meaningless in the context of XREADGROUP: you want to "
                        "read the history of this consumer by specifying a proper ID, or use "
                        "the > ID to get new messages. The + ID would just return an empty "
                        "result set."
                    )
                if c_str(raw) == b">":
                    args.ids[idx] = b">"
                else:
                    # Redis encodes ">" as max-max internally: an explicit max-max ID
                    # therefore reads new entries, as ">" does.
                    sid = parse_id(raw)
                    args.ids[idx] = b">" if sid == MAX_ID else sid
            targets.append((key, stream, group))
        reply = []
        served: set[bytes] = set()
        for (key, stream, group), wanted in zip(targets, args.ids):
            if key in served:  # the same key named twice: see what the first read did
                stream, group = self._stream_and_group(key, args.group)
            served.add(key)
            if wanted != b">":
                consumer = self._seen_consumer(group, args.consumer, now)
                history = self._history(stream, group, consumer, wanted, args.count, now)
                reply.append([self._out(key), history])
            else:
                entries = self._serve_new(stream, group, args, now)
                if entries is not None:
                    reply.append([self._out(key), entries])
        return reply or None

    def _serve_new(self, stream: Stream, group: Group, args: ReadArgs, now: int) -> list | None:
        """``>`` for one stream: its entries after the group's last ID delivered to
        ``args.consumer`` (None if there are none), the consumer seen either way."""
        if not (stream.length and stream.last_entry > group.last):
            self._seen_consumer(group, args.consumer, now)
            return None
        rows = self._db.execute(
            "SELECT id, fields FROM entries WHERE stream=? AND id>? ORDER BY id LIMIT ?",
            (stream.rowid, to_db(group.last), args.count or -1),
        ).fetchall()
        # A delivery that creates PEL entries also marks the consumer active.
        active = bool(rows) and not args.noack
        consumer = self._seen_consumer(group, args.consumer, now, active)
        return self._deliver(stream, group, consumer, rows, args.noack, now)

    def _history(self, stream, group, consumer, after: int, count: int, now: int) -> list:
        rows = self._db.execute(
            "SELECT id FROM pel WHERE consumer=? AND id>=? ORDER BY id LIMIT ?",
            (consumer, to_db(after + 1), count or -1),
        ).fetchall()
        out = []
        for (raw,) in rows:
            sid = from_db(raw)
            fields = self._entry_fields(stream, sid)
            if fields is None:
                out.append([self._id_out(sid), None])
                continue
            self._db.execute(
                "UPDATE pel SET delivery_time=?, delivery_count=delivery_count+1"
                " WHERE grp=? AND id=?",
                (now, group.rowid, raw),
            )
            out.append([self._id_out(sid), self._fields_out(fields)])
        return out

    def _deliver(self, stream, group, consumer, rows, noack, now) -> list:
        """Deliver the entries ``rows`` (after the group's last ID) to ``consumer``: PEL
        entries unless NOACK, the group's last ID and entries-read advanced."""
        db = self._db
        if not rows:
            return []
        first_id = self._first_id(stream)
        out = []
        entries_read = group.entries_read
        previous = group.last
        for raw, fields in rows:
            sid = from_db(raw)
            if (
                entries_read is not None
                and previous >= first_id
                and not self._tombstone_after(stream, previous)
            ):
                entries_read += 1
            elif stream.added:
                entries_read = self._estimate_read(stream, first_id, sid)
            if not noack:
                db.execute(
                    "INSERT INTO pel (grp, id, consumer, delivery_time, delivery_count)"
                    " VALUES (?, ?, ?, ?, 1) ON CONFLICT (grp, id) DO UPDATE SET"
                    " consumer=excluded.consumer, delivery_time=excluded.delivery_time,"
                    " delivery_count=1",
                    (group.rowid, raw, consumer, now),
                )
            previous = sid
            out.append([self._id_out(sid), self._fields_out(fields)])
        last = from_db(rows[-1][0])
        db.execute(
            "UPDATE groups SET last_id=?, entries_read=? WHERE id=?",
            (to_db(last), entries_read, group.rowid),
        )
        group.last, group.entries_read = last, entries_read
        return out

    # ------------------------------------------------------------------ lag accounting
    # entries-read and lag follow Valkey 9 (checked against the live server): Redis 8's
    # fixes of the estimates around deletions (the tombstone check starts at the group's
    # previous last ID; IDs before the newest tombstone are not estimable), with the 7.x
    # lag function (no special cases for emptied or trimmed streams).

    @staticmethod
    def _tombstone_after(stream: Stream, start: int) -> bool:
        """Redis's streamRangeHasTombstones(s, start, +inf)."""
        if not stream.length or stream.max_deleted == 0:
            return False
        return start <= stream.max_deleted

    @staticmethod
    def _estimate_read(stream: Stream, first_id: int, sid: int) -> int | None:
        """Redis's streamEstimateDistanceFromFirstEverEntry(); None = unknown."""
        if not stream.added:
            return 0
        if not stream.length and sid <= stream.last:
            return stream.added
        if sid != 0 and sid < stream.max_deleted:
            return None  # deletions between sid and the end: unknown
        if sid == stream.last:
            return stream.added
        if sid > stream.last:
            return None
        if stream.max_deleted == 0 or stream.max_deleted < first_id:
            if sid < first_id:
                return stream.added - stream.length
            if sid == first_id:
                return stream.added - stream.length + 1
        return None

    def _lag(self, stream: Stream, first_id: int, group: Group) -> int | None:
        if not stream.added:
            return 0
        if group.entries_read is not None and not self._tombstone_after(stream, group.last):
            return stream.added - group.entries_read
        estimate = self._estimate_read(stream, first_id, group.last)
        return None if estimate is None else stream.added - estimate

    # ------------------------------------------------------------------ XACK / XPENDING

    def cmd_xack(self, argv: list[bytes]) -> int:
        return self.ack(argv[1], argv[2], argv[3:])

    # One acknowledged ID: the group's lookup and the delete in one statement.
    _ACK_ONE = (
        "DELETE FROM pel WHERE id = ?3 AND grp = (SELECT g.id FROM groups g"
        " JOIN streams s ON g.stream = s.id WHERE s.name = ?1 AND g.name = ?2)"
    )

    def ack(self, key: bytes, group: bytes, ids: list[bytes]) -> int:
        """``XACK key group id [id ...]`` (also the consumer's hot path, without an argv)."""
        if self._closed:
            raise storage.DatabaseError(f"{self.path}: the client is closed")
        if not ids:
            raise WrongArgs("xack")
        if len(ids) == 1:
            try:
                raw = to_db(parse_id(ids[0]))
            except ReplyError:
                raw = None  # as Redis: no such group answers 0 before the ID is parsed
            if raw is not None:
                return self._write_acks(
                    lambda: self._db.execute(self._ACK_ONE, (key, group, raw)).rowcount
                )

        def tx():
            rowid = self._group_id(key, group)
            if rowid is None:
                return 0
            unique = dict.fromkeys(to_db(parse_id(a)) for a in ids)  # duplicates once
            return self._db.executemany(
                "DELETE FROM pel WHERE grp=? AND id=?", [(rowid, raw) for raw in unique]
            ).rowcount

        return self._write_acks(tx)

    def cmd_xpending(self, argv: list[bytes]) -> Any:
        n = len(argv)
        summary = n == 3
        if n != 3 and not 6 <= n <= 9:
            raise ReplyError(SYNTAX_ERROR)
        consumer_name = None
        min_idle = count = start = end = 0
        if n >= 6:
            at = 3
            if keyword(argv[3]) == b"IDLE":
                min_idle = to_int(argv[4])
                if n < 8:
                    raise ReplyError(SYNTAX_ERROR)
                at += 2
            count = max(to_int(argv[at + 2]), 0)
            start = range_start(argv[at])
            end = range_end(argv[at + 1])
            if at + 3 < n:
                consumer_name = argv[at + 3]

        def tx():
            stream, group = self._stream_and_group_or_nogroup(argv)
            db = self._db
            if summary:
                if not group.pending:
                    return [0, None, None, None]
                lo = db.execute(
                    "SELECT id FROM pel WHERE grp=? ORDER BY id LIMIT 1", (group.rowid,)
                ).fetchone()
                hi = db.execute(
                    "SELECT id FROM pel WHERE grp=? ORDER BY id DESC LIMIT 1", (group.rowid,)
                ).fetchone()
                consumers = db.execute(
                    "SELECT name, pending FROM consumers WHERE grp=? AND pending>0 ORDER BY name",
                    (group.rowid,),
                ).fetchall()
                return [
                    group.pending,
                    self._id_out(from_db(lo[0])),
                    self._id_out(from_db(hi[0])),
                    [[self._out(name), self._out(str(p).encode())] for name, p in consumers],
                ]
            if consumer_name is not None:
                consumer = self._consumer(group, consumer_name, 0, create=False)
                if consumer is None:
                    return []
                where, params = "p.consumer=?", [consumer]
            else:
                where, params = "p.grp=?", [group.rowid]
            if not count or start > end:
                return []
            now = now_ms()
            sql = (
                "SELECT p.id, c.name, p.delivery_time, p.delivery_count FROM pel p"
                " LEFT JOIN consumers c ON c.id = p.consumer"
                f" WHERE {where} AND p.id BETWEEN ? AND ?"
            )
            params += [to_db(start), to_db(end)]
            if min_idle:
                sql += " AND ? - p.delivery_time >= ?"
                params += [now, min_idle]
            sql += " ORDER BY p.id LIMIT ?"
            params.append(count)
            return [
                [self._id_out(from_db(i)), self._out(name or b""), max(now - t, 0), c]
                for i, name, t, c in db.execute(sql, params)
            ]

        return self._read(tx)

    # ------------------------------------------------------------------ XCLAIM / XAUTOCLAIM

    def cmd_xclaim(self, argv: list[bytes]) -> Any:
        def tx():
            stream, group = self._stream_and_group_or_nogroup(argv)
            min_idle = max(to_int(argv[4], "Invalid min-idle-time argument for XCLAIM"), 0)
            ids = []
            j = 5
            while j < len(argv):
                try:
                    ids.append(parse_id(argv[j]))
                except ReplyError:
                    break
                j += 1
            now = now_ms()
            force = justid = False
            retrycount = -1
            delivery_time = -1
            last_id = 0
            while j < len(argv):
                moreargs = len(argv) - 1 - j
                opt = keyword(argv[j])
                if opt == b"FORCE":
                    force = True
                elif opt == b"JUSTID":
                    justid = True
                elif opt == b"IDLE" and moreargs:
                    j += 1
                    delivery_time = now - to_int(argv[j], "Invalid IDLE option argument for XCLAIM")
                elif opt == b"TIME" and moreargs:
                    j += 1
                    delivery_time = to_int(argv[j], "Invalid TIME option argument for XCLAIM")
                elif opt == b"RETRYCOUNT" and moreargs:
                    j += 1
                    retrycount = to_int(argv[j], "Invalid RETRYCOUNT option argument for XCLAIM")
                elif opt == b"LASTID" and moreargs:
                    j += 1
                    last_id = parse_id(argv[j])
                else:
                    raise ReplyError(f"ERR Unrecognized XCLAIM option '{self._name(argv[j])}'")
                j += 1
            db = self._db
            if last_id > group.last:
                db.execute("UPDATE groups SET last_id=? WHERE id=?", (to_db(last_id), group.rowid))
            if delivery_time == -1 or delivery_time < 0 or delivery_time > now:
                delivery_time = now
            consumer = self._seen_consumer(group, argv[3], now)
            out = []
            for sid in ids:
                raw = to_db(sid)
                nack = db.execute(
                    "SELECT consumer, delivery_time, delivery_count FROM pel WHERE grp=? AND id=?",
                    (group.rowid, raw),
                ).fetchone()
                fields = self._entry_fields(stream, sid)
                if fields is None:
                    if nack is not None:
                        db.execute("DELETE FROM pel WHERE grp=? AND id=?", (group.rowid, raw))
                    continue
                if nack is None:
                    if not force:
                        continue
                    db.execute(
                        "INSERT INTO pel (grp, id, consumer, delivery_time, delivery_count)"
                        " VALUES (?, ?, NULL, ?, 1)",
                        (group.rowid, raw, now),
                    )
                    nack = (None, now, 1)
                owner, last_delivery, deliveries = nack
                if owner is not None and min_idle and now - last_delivery < min_idle:
                    continue
                if retrycount >= 0:
                    deliveries = retrycount
                elif not justid:
                    deliveries += 1
                db.execute(
                    "UPDATE pel SET consumer=?, delivery_time=?, delivery_count=?"
                    " WHERE grp=? AND id=?",
                    (consumer, delivery_time, deliveries, group.rowid, raw),
                )
                db.execute("UPDATE consumers SET active_time=? WHERE id=?", (now, consumer))
                out.append(
                    self._id_out(sid) if justid else [self._id_out(sid), self._fields_out(fields)]
                )
            return out

        return self._write(tx)

    def cmd_xautoclaim(self, argv: list[bytes]) -> Any:
        min_idle = max(to_int(argv[4], "Invalid min-idle-time argument for XAUTOCLAIM"), 0)
        start = range_start(argv[5])
        count = 100
        justid = False
        j = 6
        max_count = INT64_MAX // 16
        while j < len(argv):
            moreargs = len(argv) - 1 - j
            opt = keyword(argv[j])
            if opt == b"COUNT" and moreargs:
                try:
                    count = to_int(argv[j + 1])
                except ReplyError:
                    raise ReplyError("ERR COUNT must be > 0") from None
                if not 1 <= count <= max_count:
                    raise ReplyError("ERR COUNT must be > 0")
                j += 1
            elif opt == b"JUSTID":
                justid = True
            else:
                raise ReplyError(SYNTAX_ERROR)
            j += 1

        def tx():
            stream, group = self._stream_and_group_or_nogroup(argv)
            db = self._db
            now = now_ms()
            consumer = self._seen_consumer(group, argv[3], now)
            attempts = count * 10
            rows = db.execute(
                "SELECT id, consumer, delivery_time, delivery_count FROM pel"
                " WHERE grp=? AND id>=? ORDER BY id LIMIT ?",
                (group.rowid, to_db(start), attempts + 1),
            ).fetchall()
            remaining = count
            examined = 0
            claimed, deleted = [], []
            for raw, _owner, last_delivery, deliveries in rows:
                if examined == attempts or remaining == 0:
                    break
                examined += 1
                sid = from_db(raw)
                fields = self._entry_fields(stream, sid)
                if fields is None:
                    db.execute("DELETE FROM pel WHERE grp=? AND id=?", (group.rowid, raw))
                    deleted.append(self._id_out(sid))
                    remaining -= 1
                    continue
                if min_idle and now - last_delivery < min_idle:
                    continue
                db.execute(
                    "UPDATE pel SET consumer=?, delivery_time=?, delivery_count=?"
                    " WHERE grp=? AND id=?",
                    (consumer, now, deliveries if justid else deliveries + 1, group.rowid, raw),
                )
                claimed.append(
                    self._id_out(sid) if justid else [self._id_out(sid), self._fields_out(fields)]
                )
                remaining -= 1
            cursor = from_db(rows[examined][0]) if examined < len(rows) else 0
            if claimed:
                db.execute("UPDATE consumers SET active_time=? WHERE id=?", (now, consumer))
            return [self._id_out(cursor), claimed, deleted]

        return self._write(tx)

    # ------------------------------------------------------------------ XGROUP

    def cmd_xgroup(self, argv: list[bytes]) -> Any:
        sub = argv[1].upper()
        if sub == b"HELP":
            return [self._out(line.encode()) for line in _XGROUP_HELP]
        return self._write(lambda: self._xgroup(sub, argv))

    def _xgroup(self, sub: bytes, argv: list[bytes]) -> Any:
        db = self._db
        mkstream = False
        entries_read: int | None = None
        i = 5
        while i < len(argv):
            opt = keyword(argv[i])
            if sub == b"CREATE" and opt == b"MKSTREAM":
                mkstream = True
                i += 1
            elif sub in (b"CREATE", b"SETID") and opt == b"ENTRIESREAD" and i + 1 < len(argv):
                entries_read = to_int(argv[i + 1])
                if entries_read < 0 and entries_read != -1:
                    raise ReplyError("ERR value for ENTRIESREAD must be positive or -1")
                if entries_read == -1:
                    entries_read = None
                i += 2
            else:
                raise self._subcommand_syntax(argv)
        key, name = argv[2], argv[3]
        stream = self._stream(key)
        group = self._group(stream, name) if stream else None
        if not mkstream:
            if stream is None:
                raise ReplyError(XGROUP_NEEDS_KEY)
            if group is None and sub in (b"SETID", b"CREATECONSUMER", b"DELCONSUMER"):
                raise ReplyError(
                    f"NOGROUP No such consumer group '{self._name(name)}' for key name "
                    f"'{self._name(key)}'"
                )
        n = len(argv)
        if sub == b"CREATE" and 5 <= n <= 8:
            if c_str(argv[4]) == b"$":
                start = stream.last if stream else 0
            else:
                start = parse_id(argv[4])
            if stream is None:
                stream = self._create_stream(key)
            elif group is not None:
                raise ReplyError("BUSYGROUP Consumer Group name already exists")
            db.execute(
                "INSERT INTO groups (stream, name, last_id, entries_read) VALUES (?, ?, ?, ?)",
                (stream.rowid, name, to_db(start), entries_read),
            )
            return self._out(b"OK")
        if sub == b"SETID" and n in (5, 7):
            start = stream.last if c_str(argv[4]) == b"$" else parse_id(argv[4], 0, strict=False)
            db.execute(
                "UPDATE groups SET last_id=?, entries_read=? WHERE id=?",
                (to_db(start), entries_read, group.rowid),
            )
            return self._out(b"OK")
        if sub == b"DESTROY" and n == 4:
            if group is None:
                return 0
            db.execute("DELETE FROM pel WHERE grp=?", (group.rowid,))
            db.execute("DELETE FROM consumers WHERE grp=?", (group.rowid,))
            db.execute("DELETE FROM groups WHERE id=?", (group.rowid,))
            return 1
        if sub == b"CREATECONSUMER" and n == 5:
            exists = self._consumer(group, argv[4], 0, create=False)
            if exists is not None:
                return 0
            self._consumer(group, argv[4], now_ms())
            return 1
        if sub == b"DELCONSUMER" and n == 5:
            row = db.execute(
                "SELECT id, pending FROM consumers WHERE grp=? AND name=?", (group.rowid, argv[4])
            ).fetchone()
            if row is None:
                return 0
            db.execute("DELETE FROM pel WHERE consumer=?", (row[0],))
            db.execute("DELETE FROM consumers WHERE id=?", (row[0],))
            return row[1]
        raise self._subcommand_syntax(argv)

    def _subcommand_syntax(self, argv: list[bytes]) -> ReplyError:
        return ReplyError(
            f"ERR unknown subcommand or wrong number of arguments for "
            f"'{self._name(argv[1])}'. Try {self._name(argv[0]).upper()} HELP."
        )

    # ------------------------------------------------------------------ XINFO

    def cmd_xinfo(self, argv: list[bytes]) -> Any:
        sub = argv[1].upper()
        if sub == b"HELP":
            return [self._out(line.encode()) for line in _XINFO_HELP]
        return self._read(lambda: self._xinfo(sub, argv))

    def _xinfo(self, sub: bytes, argv: list[bytes]) -> Any:
        stream = self._stream(argv[2])
        if stream is None:
            raise ReplyError(NO_SUCH_KEY)
        db = self._db
        out = self._out
        first_id = self._first_id(stream)
        if sub == b"CONSUMERS" and len(argv) == 4:
            group = self._group(stream, argv[3])
            if group is None:
                raise ReplyError(
                    f"NOGROUP No such consumer group '{self._name(argv[3])}' for key name "
                    f"'{self._name(argv[2])}'"
                )
            now = now_ms()
            reply = []
            for name, pending, seen, active in db.execute(
                "SELECT name, pending, seen_time, active_time FROM consumers"
                " WHERE grp=? ORDER BY name",
                (group.rowid,),
            ):
                reply.append([
                    out(b"name"), out(name), out(b"pending"), pending,
                    out(b"idle"), max(now - seen, 0),
                    out(b"inactive"), now - active if active != -1 else -1,
                ])  # fmt: skip
            return reply
        if sub == b"GROUPS" and len(argv) == 3:
            reply = []
            for row in self._groups(stream):
                group = Group(row)
                consumers = db.execute(
                    "SELECT count(*) FROM consumers WHERE grp=?", (group.rowid,)
                ).fetchone()[0]
                reply.append([
                    out(b"name"), out(group.name), out(b"consumers"), consumers,
                    out(b"pending"), group.pending,
                    out(b"last-delivered-id"), self._id_out(group.last),
                    out(b"entries-read"), group.entries_read,
                    out(b"lag"), self._lag(stream, first_id, group),
                ])  # fmt: skip
            return reply
        if sub == b"STREAM":
            return self._xinfo_stream(stream, first_id, argv)
        raise self._subcommand_syntax(argv)

    def _groups(self, stream: Stream) -> list[tuple]:
        return self._db.execute(
            "SELECT id, name, last_id, entries_read, pending FROM groups"
            " WHERE stream=? ORDER BY name",
            (stream.rowid,),
        ).fetchall()

    def _xinfo_stream(self, stream: Stream, first_id: int, argv: list[bytes]) -> Any:
        out, id_out, db = self._out, self._id_out, self._db
        full = len(argv) > 3
        count = 10
        if full:
            if keyword(argv[3]) != b"FULL":
                raise self._subcommand_syntax(argv)
            if len(argv) == 6 and keyword(argv[4]) == b"COUNT":
                count = to_int(argv[5])
                if count < 0:  # Valkey: a negative COUNT means the default
                    count = 10
            elif len(argv) != 4:
                raise self._subcommand_syntax(argv)
        # The layout counts are not tracked for old nodes: estimated from the length.
        nodes = -(-stream.length // layout.NODE_MAX_ENTRIES)
        reply = [
            out(b"length"), stream.length,
            out(b"radix-tree-keys"), nodes,
            out(b"radix-tree-nodes"), nodes + 1 if nodes else 1,
            out(b"last-generated-id"), id_out(stream.last),
            out(b"max-deleted-entry-id"), id_out(stream.max_deleted),
            out(b"entries-added"), stream.added,
            out(b"recorded-first-entry-id"), id_out(first_id),
        ]  # fmt: skip
        if not full:
            groups = db.execute(
                "SELECT count(*) FROM groups WHERE stream=?", (stream.rowid,)
            ).fetchone()[0]
            first = self._range(stream, 0, MAX_ID, 1)
            last = self._range(stream, 0, MAX_ID, 1, rev=True)
            reply += [
                out(b"groups"), groups,
                out(b"first-entry"), first[0] if first else None,
                out(b"last-entry"), last[0] if last else None,
            ]  # fmt: skip
            return reply
        limit = count or -1
        groups_reply = []
        for row in self._groups(stream):
            group = Group(row)
            pel = [
                [id_out(from_db(i)), out(name or b""), t, c]
                for i, name, t, c in db.execute(
                    "SELECT p.id, c.name, p.delivery_time, p.delivery_count FROM pel p"
                    " LEFT JOIN consumers c ON c.id = p.consumer"
                    " WHERE p.grp=? ORDER BY p.id LIMIT ?",
                    (group.rowid, limit),
                )
            ]
            consumers = []
            for cid, name, seen, active, pending in db.execute(
                "SELECT id, name, seen_time, active_time, pending FROM consumers"
                " WHERE grp=? ORDER BY name",
                (group.rowid,),
            ).fetchall():
                own = [
                    [id_out(from_db(i)), t, c]
                    for i, t, c in db.execute(
                        "SELECT id, delivery_time, delivery_count FROM pel"
                        " WHERE consumer=? ORDER BY id LIMIT ?",
                        (cid, limit),
                    )
                ]
                consumers.append([
                    out(b"name"), out(name), out(b"seen-time"), seen,
                    out(b"active-time"), active, out(b"pel-count"), pending,
                    out(b"pending"), own,
                ])  # fmt: skip
            groups_reply.append([
                out(b"name"), out(group.name),
                out(b"last-delivered-id"), id_out(group.last),
                out(b"entries-read"), group.entries_read,
                out(b"lag"), self._lag(stream, first_id, group),
                out(b"pel-count"), group.pending,
                out(b"pending"), pel,
                out(b"consumers"), consumers,
            ])  # fmt: skip
        reply += [
            out(b"entries"), self._range(stream, 0, MAX_ID, count),
            out(b"groups"), groups_reply,
        ]  # fmt: skip
        return reply

    # ------------------------------------------------------------------ keys

    def cmd_del(self, argv: list[bytes]) -> int:
        def tx():
            removed = 0
            for key in dict.fromkeys(argv[1:]):
                stream = self._stream(key)
                if stream is not None:
                    self._drop_stream(stream)
                    removed += 1
            return removed

        return self._write(tx)

    def _drop_stream(self, stream: Stream) -> None:
        db = self._db
        for (gid,) in db.execute(
            "SELECT id FROM groups WHERE stream=?", (stream.rowid,)
        ).fetchall():
            db.execute("DELETE FROM pel WHERE grp=?", (gid,))
            db.execute("DELETE FROM consumers WHERE grp=?", (gid,))
        db.execute("DELETE FROM groups WHERE stream=?", (stream.rowid,))
        db.execute("DELETE FROM entries WHERE stream=?", (stream.rowid,))
        db.execute("DELETE FROM node_ends WHERE stream=?", (stream.rowid,))
        db.execute("DELETE FROM streams WHERE id=?", (stream.rowid,))

    def cmd_exists(self, argv: list[bytes]) -> int:
        def tx():
            q = "SELECT 1 FROM streams WHERE name=?"
            return sum(1 for key in argv[1:] if self._db.execute(q, (key,)).fetchone())

        return self._read(tx)

    def cmd_type(self, argv: list[bytes]) -> Any:
        found = self._read(
            lambda: self._db.execute("SELECT 1 FROM streams WHERE name=?", (argv[1],)).fetchone()
        )
        return self._out(b"stream" if found else b"none")

    def cmd_keys(self, argv: list[bytes]) -> list:
        match = glob_matcher(argv[1])
        rows = self._read(
            lambda: self._db.execute("SELECT name FROM streams ORDER BY id").fetchall()
        )
        return [self._out(name) for (name,) in rows if match(name)]

    def cmd_scan(self, argv: list[bytes]) -> list:
        cursor = to_int(argv[1], "ERR invalid cursor")
        count, match, type_ok = 10, None, True
        j = 2
        while j < len(argv):
            opt = keyword(argv[j])
            if j + 1 >= len(argv):
                raise ReplyError(SYNTAX_ERROR)
            if opt == b"COUNT":
                count = to_int(argv[j + 1])
                if count < 1:
                    raise ReplyError(SYNTAX_ERROR)
            elif opt == b"MATCH":
                match = glob_matcher(argv[j + 1])
            elif opt == b"TYPE":
                wanted = argv[j + 1].lower()
                if wanted not in _TYPE_NAMES:
                    raise ReplyError(f"ERR unknown type name '{self._name(argv[j + 1])}'")
                type_ok = wanted == b"stream"
            else:
                raise ReplyError(SYNTAX_ERROR)
            j += 2
        rows = self._read(
            lambda: self._db.execute(
                "SELECT id, name FROM streams WHERE id>? ORDER BY id LIMIT ?", (cursor, count)
            ).fetchall()
        )
        next_cursor = rows[-1][0] if len(rows) == count else 0
        names = [self._out(n) for _, n in rows if type_ok and (match is None or match(n))]
        return [self._out(str(next_cursor).encode()), names]

    def cmd_ping(self, argv: list[bytes]) -> Any:
        return self._out(argv[1]) if len(argv) > 1 else self._out(b"PONG")

    def cmd_flushdb(self, argv: list[bytes]) -> Any:
        def tx():
            for table in ("pel", "consumers", "groups", "entries", "node_ends", "streams"):
                self._db.execute(f"DELETE FROM {table}")

        self._write(tx)
        return self._out(b"OK")


class _AppendBatch:
    """Consecutive plain XADDs of one pipeline, inserted together (see execute_many)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.rows: list[tuple] = []
        self.streams: dict[bytes, Stream | None] = {}

    def try_add(self, argv: list[bytes], results: list[Any]) -> bool:
        """Queue one XADD and put its result (ID or error) in ``results``; False if it
        must run as an ordinary command (it trims, or its arity is wrong)."""
        engine = self.engine
        if len(argv) < 5:
            return False
        if argv[2] == b"*" and len(argv) % 2:  # no options, auto ID, whole pairs
            args, fields = _AUTO_ID, argv[3:]
        else:
            try:
                args, fields = engine._parse_xadd(argv)
            except ReplyError as exc:
                results.append(exc)
                return True
        if args.strategy is not None:
            return False
        key = argv[1]
        if key in self.streams:
            stream = self.streams[key]
        else:
            stream = self.streams[key] = engine._stream(key)
        if stream is None:
            if args.nomkstream:
                results.append(None)
                return True
            stream = self.streams[key] = engine._create_stream(key)
        try:
            self.rows.append(engine._next_entry(stream, args, fields))
        except ReplyError as exc:
            results.append(exc)
            return True
        results.append(engine._id_out(stream.last))
        return True

    def flush(self) -> None:
        if self.rows:
            self.engine._db.executemany(Engine._INSERT_ENTRY, self.rows)
            self.rows = []
        self.streams.clear()


def glob_matcher(pattern: bytes) -> Callable[[bytes], bool]:
    """Redis's KEYS / SCAN MATCH glob: a literal port of ``stringmatchlen()`` (util.c),
    quirks included (an unclosed ``[`` matches, ``[a-]`` is a range up to ``]``, ``*``
    does not match the empty name, bytes compare as C's signed chars in ranges)."""

    def match(name: bytes) -> bool:
        try:
            return _stringmatch(pattern, 0, name, 0, [False], 0)
        except RecursionError:  # an abusive pattern: Redis gives up at depth 1000 too
            return False

    return match


def _at(buf: bytes, i: int) -> int:
    """``buf[i]``, or the NUL after a C string's end."""
    return buf[i] if i < len(buf) else 0


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def _stringmatch(p: bytes, pi: int, s: bytes, si: int, skip: list[bool], nesting: int) -> bool:
    if nesting > 1000:
        return False
    plen, slen = len(p) - pi, len(s) - si
    while plen and slen:
        c = p[pi]
        if c == 0x2A:  # '*'
            while plen and _at(p, pi + 1) == 0x2A:
                pi += 1
                plen -= 1
            if plen == 1:
                return True
            while slen:
                if _stringmatch(p, pi + 1, s, si, skip, nesting + 1):
                    return True
                if skip[0]:
                    return False
                si += 1
                slen -= 1
            skip[0] = True  # no later start can match either: stop the outer stars
            return False
        if c == 0x3F:  # '?'
            si += 1
            slen -= 1
        elif c == 0x5B:  # '['
            pi += 1
            plen -= 1
            negate = _at(p, pi) == 0x5E
            if negate:
                pi += 1
                plen -= 1
            matched = False
            while True:
                pc = _at(p, pi)
                if pc == 0x5C and plen >= 2:
                    pi += 1
                    plen -= 1
                    matched |= p[pi] == s[si]
                elif pc == 0x5D:
                    break
                elif plen == 0:
                    pi -= 1
                    plen += 1
                    break
                elif plen >= 3 and _at(p, pi + 1) == 0x2D:
                    lo, hi = sorted((_signed(p[pi]), _signed(p[pi + 2])))
                    pi += 2
                    plen -= 2
                    matched |= lo <= _signed(s[si]) <= hi
                else:
                    matched |= pc == s[si]
                pi += 1
                plen -= 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
            slen -= 1
        else:
            if c == 0x5C and plen >= 2:  # '\\' escapes the next byte
                pi += 1
                plen -= 1
            if p[pi] != s[si]:
                return False
            si += 1
            slen -= 1
        pi += 1
        plen -= 1
        if slen == 0:
            while _at(p, pi) == 0x2A:
                pi += 1
                plen -= 1
            break
    return plen == 0 and slen == 0


_TYPE_NAMES = {b"string", b"list", b"set", b"zset", b"hash", b"stream"}

_XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "DESTROY <key> <groupname>",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "DELCONSUMER <key> <groupname> <consumer>",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
]
_XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "GROUPS <key>",
    "STREAM <key> [FULL [COUNT <count>]",
]

_COMMANDS: dict[bytes, Callable[[Engine, list[bytes]], Any]] = {
    b"XADD": Engine.cmd_xadd,
    b"XTRIM": Engine.cmd_xtrim,
    b"XDEL": Engine.cmd_xdel,
    b"XLEN": Engine.cmd_xlen,
    b"XRANGE": Engine.cmd_xrange,
    b"XREVRANGE": Engine.cmd_xrevrange,
    b"XREAD": lambda self, argv: self._read_command(argv, group_mode=False),
    b"XREADGROUP": lambda self, argv: self._read_command(argv, group_mode=True),
    b"XACK": Engine.cmd_xack,
    b"XPENDING": Engine.cmd_xpending,
    b"XCLAIM": Engine.cmd_xclaim,
    b"XAUTOCLAIM": Engine.cmd_xautoclaim,
    b"XGROUP": Engine.cmd_xgroup,
    b"XINFO": Engine.cmd_xinfo,
    b"DEL": Engine.cmd_del,
    b"EXISTS": Engine.cmd_exists,
    b"TYPE": Engine.cmd_type,
    b"KEYS": Engine.cmd_keys,
    b"SCAN": Engine.cmd_scan,
    b"PING": Engine.cmd_ping,
    b"FLUSHDB": Engine.cmd_flushdb,
    b"FLUSHALL": Engine.cmd_flushdb,
}

__all__ = ["Engine", "INVALID_ID"]
