"""SQLiteClient's hot paths (xadd with no options; xreadgroup of new entries of one stream;
xack) skip building and re-parsing an argv. They must answer exactly what redis-py's own
methods answer through execute_command, on both backends and in both reply modes, and
give way to redis-py's methods for everything else."""

from __future__ import annotations

import pytest
from redis.commands.core import StreamCommands
from redis.exceptions import DataError, ResponseError

import streamctl
from streamctl.client import SQLiteClient


def _script(client, call):
    """One producer/consumer session; ``call(client, method, *args, **kwargs)`` decides
    which implementation of each method runs. Returns everything it saw, IDs left out
    (each database generates its own)."""
    seen = []
    call(client, "xgroup_create", "s", "g", id="0", mkstream=True)
    fields = {"f": "v", b"nul\x00": "caf\u00e9".encode(), "n": 7, "x": 1.5}
    ids = [call(client, "xadd", "s", fields) for _ in range(5)]
    seen.append([type(i) for i in ids])
    two = call(client, "xreadgroup", "g", "c", {"s": ">"}, count=2)
    rest = call(client, "xreadgroup", "g", "c", {b"s": b">"})
    none = call(client, "xreadgroup", "g", "c", {"s": ">"}, count=1)
    seen += [_without_ids(two), _without_ids(rest), none]
    first, second = two[0][1][0][0], two[0][1][1][0]
    seen.append(call(client, "xack", "s", "g", first, first))
    seen.append(call(client, "xack", "s", "g", first))
    seen.append(call(client, "xack", "s", "nogroup", first))
    seen.append(call(client, "xack", b"s", b"g", second, ids[4]))
    seen.append(call(client, "xpending", "s", "g")["pending"])
    return seen


def _without_ids(reply):
    return [[name, [fields for _, fields in entries]] for name, entries in reply]


@pytest.mark.parametrize("decode", [True, False])
def test_fast_paths_answer_as_redis_py_methods(tmp_path, decode):
    def fast(client, method, *args, **kwargs):
        return getattr(client, method)(*args, **kwargs)

    def redis_py(client, method, *args, **kwargs):
        return getattr(StreamCommands, method)(client, *args, **kwargs)

    with streamctl.connect(str(tmp_path / "a.db"), decode_responses=decode) as a:
        got_fast = _script(a, fast)
    with streamctl.connect(str(tmp_path / "b.db"), decode_responses=decode) as b:
        got_slow = _script(b, redis_py)
    assert got_fast == got_slow
    assert got_fast[-1] == 2  # and the script did what it says


def test_fast_path_errors_are_redis_py_errors(r):
    with pytest.raises(ResponseError, match="NOGROUP"):
        r.xreadgroup("nogroup", "c", {"nokey": ">"})
    r.xgroup_create("s", "g", id="0", mkstream=True)
    with pytest.raises(ResponseError, match="Invalid stream ID"):
        r.xack("s", "g", "not-an-id")
    with pytest.raises(DataError):
        r.xreadgroup("g", "c", {"s": ">"}, count=0)
    with pytest.raises(DataError):
        r.xadd("s", {})
    with pytest.raises(DataError):
        r.xadd("s", {"f": None})
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        r.xack("s", "g")


def test_a_subclass_that_routes_commands_itself_sees_every_command(db_path):
    class Recording(SQLiteClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []

        def execute_command(self, *args, **options):
            self.seen.append(args[0])
            return super().execute_command(*args, **options)

    with Recording(db_path) as r:
        r.xgroup_create("s", "g", id="0", mkstream=True)
        entry = r.xadd("s", {"f": "v"})
        assert r.xreadgroup("g", "c", {"s": ">"})[0][1][0][0] == entry
        assert r.xack("s", "g", entry) == 1
        assert r.seen == ["XGROUP CREATE", "XADD", "XREADGROUP", "XACK"]


def test_other_forms_take_redis_py_methods(db_path):
    with streamctl.connect(db_path) as r:
        r.xadd("s", {"f": "v"}, id="5-0")
        r.xadd("s", {"f": "v"}, maxlen=1, approximate=False)
        assert r.xlen("s") == 1
        r.xgroup_create("s", "g", id="0")
        assert r.xreadgroup("g", "c", {"s": ">"}, count=1, noack=True)[0][1][0][1] == {"f": "v"}
        assert r.xpending("s", "g")["pending"] == 0
        assert r.xreadgroup("g", "c", {"s": "0"}) == [["s", []]]
        assert r.xreadgroup("g", "c", {"s": ">"}, block=1) == []


@pytest.mark.parametrize("decode", [True, False])
def test_pipeline_xadd_queues_what_redis_py_queues(tmp_path, decode):
    def session(path, xadd):
        with streamctl.connect(str(path), decode_responses=decode) as r:
            pipe = r.pipeline()
            xadd(pipe, "s", {"f": "v", "n": 1})
            xadd(pipe, "s", {"f": "v"}, id="9-9")
            xadd(pipe, "s", {"f": "v"}, id="1-1")  # too small: an error in its place
            xadd(pipe, "s", {b"g": b"w"}, maxlen=1, approximate=False)
            xadd(pipe, "s", {"f": "v"})
            queued = [args for args, _ in pipe.command_stack]
            replies = pipe.execute(raise_on_error=False)
            shown = [type(x).__name__ if isinstance(x, Exception) else type(x) for x in replies]
            return queued, shown, [fields for _, fields in r.xrange("s")], r.xlen("s")

    fast = session(tmp_path / "a.db", lambda pipe, *a, **k: pipe.xadd(*a, **k))
    slow = session(tmp_path / "b.db", lambda pipe, *a, **k: StreamCommands.xadd(pipe, *a, **k))
    assert fast == slow
    assert fast[1][2] == "ResponseError" and fast[3] == 2


def test_a_count_beyond_64_bits_is_the_servers_error(r):
    r.xgroup_create("s", "g", id="0", mkstream=True)
    r.xadd("s", {"f": "v"})
    with pytest.raises(ResponseError, match="not an integer or out of range"):
        r.xreadgroup("g", "c", {"s": ">"}, count=1 << 63)


def test_the_engine_hot_path_methods_check_their_arguments(db_path):
    from streamctl.errors import ReplyError

    with streamctl.connect(db_path) as r:
        engine = r.engine
        with pytest.raises(ReplyError, match="wrong number of arguments for 'xadd'"):
            engine.append(b"s", [b"lonely"])
        assert not r.exists("s")
        with pytest.raises(ReplyError, match="wrong number of arguments for 'xack'"):
            engine.ack(b"s", b"g", [])
        r.xgroup_create("s", "g", id="0", mkstream=True)
        with pytest.raises(ReplyError, match="not an integer or out of range"):
            engine.read_new(b"g", b"c", b"s", 1 << 63)
        entry = r.xadd("s", {"f": "v"})
        assert engine.read_new(b"g", b"c", b"s", -5)[0][1][0][0] == entry  # as COUNT -5
        assert engine.ack(b"s", b"nogroup", [b"not-an-id"]) == 0  # no group: 0, as Redis
        assert engine.ack(b"s", b"g", [entry.encode()]) == 1


def _ids(reply):
    return [entry_id for _, entries in reply for entry_id, _ in entries]


def test_reads_see_every_change_made_between_them(db_path):
    """read_new keeps the stream and group between calls: whatever changes them in
    between, on this connection or another, must show in the next read."""
    with streamctl.connect(db_path) as r, streamctl.connect(db_path) as other:
        r.xgroup_create("s", "g", id="0", mkstream=True)
        first = [r.xadd("s", {"n": str(i)}) for i in range(3)]
        assert _ids(r.xreadgroup("g", "c", {"s": ">"}, count=1)) == first[:1]
        assert r.xack("s", "g", first[0]) == 1  # an ack keeps what read_new remembers
        assert _ids(r.xreadgroup("g", "c", {"s": ">"}, count=1)) == first[1:2]
        # Another connection moves the group back.
        other.xgroup_setid("s", "g", id="0")
        assert _ids(r.xreadgroup("g", "c", {"s": ">"}, count=1)) == first[:1]
        # This connection appends, then reads on.
        added = r.xadd("s", {"n": "new"})
        assert _ids(r.xreadgroup("g", "c", {"s": ">"})) == first[1:] + [added]
        assert r.xreadgroup("g", "c", {"s": ">"}) == []
        # This connection moves the group through another command.
        r.xgroup_setid("s", "g", id=first[1])
        assert _ids(r.xreadgroup("g", "c", {"s": ">"}, count=1)) == first[2:3]
        # Another connection appends; then deletes the stream and starts it over.
        later = other.xadd("s", {"n": "other"})
        assert _ids(r.xreadgroup("g", "c", {"s": ">"})) == [added, later]
        other.delete("s")
        with pytest.raises(ResponseError, match="NOGROUP"):
            r.xreadgroup("g", "c", {"s": ">"})
        other.xgroup_create("s", "g", id="0", mkstream=True)
        fresh = other.xadd("s", {"n": "fresh"})
        assert _ids(r.xreadgroup("g", "c", {"s": ">"})) == [fresh]
        assert r.xpending("s", "g")["pending"] == 1
        assert r.xinfo_groups("s")[0]["entries-read"] == 1


def test_fast_paths_apply_a_callback_the_user_set(db_path):
    with streamctl.connect(db_path) as r:
        r.xgroup_create("s", "g", id="0", mkstream=True)
        entry = r.xadd("s", {"f": "v"})
        r.response_callbacks["XREADGROUP"] = lambda reply, **options: ("read", len(reply))
        r.response_callbacks["XACK"] = lambda reply, **options: ("acked", reply)
        assert r.xreadgroup("g", "c", {"s": ">"}) == ("read", 1)
        assert r.xack("s", "g", entry) == ("acked", 1)


def test_a_reentrant_call_is_refused_not_nested_into_a_failing_command(db_path):
    """A signal handler (here: a callback run inside a command's transaction) that calls
    the same client: its write would have been undone with the interrupted command."""
    from streamctl.errors import DatabaseError

    with streamctl.connect(db_path) as r:
        r.xgroup_create("s", "g", id="$", mkstream=True)
        engine = r.engine
        seen = []

        def interrupting():
            try:
                seen.append(r.xadd("s", {"from": "handler"}))
            except DatabaseError as exc:
                seen.append(exc)
            raise RuntimeError("the interrupted command fails")

        with pytest.raises(RuntimeError):
            engine._write(interrupting)
        assert isinstance(seen[0], DatabaseError)
        assert "called while one of its own commands was running" in str(seen[0])
        assert r.xlen("s") == 0
        assert r.xadd("s", {"f": "v"})  # and the client works on
        pipe = r.pipeline()  # a pipeline's commands do share its transaction
        pipe.xadd("s", {"f": "v"}).xlen("s")
        assert pipe.execute()[1] == 2
