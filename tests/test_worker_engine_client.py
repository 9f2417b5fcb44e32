"""The worker's engine-backed client (``worker/engine_client.py``) against the redis-py
client it stands in for (``SQLiteClient``): every call the worker makes, on two identical
databases, must give the same replies (idle times aside) and the same error texts."""

from __future__ import annotations

import pytest
from clitools import ID_RE

import streamctl
from streamctl.worker.engine_client import EngineClient


def _seed(r) -> None:
    r.xadd("s", {"n": "1", "text": "a b"}, id="1-0")
    r.xadd("s", {"n": "2"}, id="2-0")
    r.xadd("s", {"n": "3"}, id="3-0")
    r.xadd("s", {"n": "4"}, id="4-0")
    r.xgroup_create("s", "g", id="0")


def _no_idle(value):
    """Idle times and new IDs depend on the clock: blank them."""
    if isinstance(value, dict):
        return {k: 0 if k == "time_since_delivered" else _no_idle(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_no_idle(v) for v in value)
    if isinstance(value, str):
        return ID_RE.sub("<id>", value)
    return value


def _outcome(fn):
    try:
        return ("ok", _no_idle(fn()))
    except Exception as exc:  # noqa: BLE001 - the error text is what is compared
        return ("error", str(exc))


def _move(r, target: str, msg_id: str, new_id: str):
    """deadletter.move's pipeline."""
    pipe = r.pipeline(transaction=True)
    pipe.xadd(target, {"id": msg_id}, id=new_id)
    pipe.xack("s", "g", msg_id)
    return pipe.execute()


def _counts(r, ids: list[str]):
    """Source._with_counts's pipeline."""
    pipe = r.pipeline(transaction=False)
    for msg_id in ids:
        pipe.xpending_range("s", "g", msg_id, msg_id, 1)
    return pipe.execute()


CALLS = [
    ("create new group", lambda r: r.xgroup_create("s", "g2", id="0")),
    ("create existing group", lambda r: r.xgroup_create("s", "g", id="0")),
    ("create with mkstream", lambda r: r.xgroup_create("t", "g", id="0", mkstream=True)),
    ("create without stream", lambda r: r.xgroup_create("none", "g", id="0")),
    ("read 2", lambda r: r.xreadgroup("g", "c1", {"s": ">"}, count=2)),
    ("read rest", lambda r: r.xreadgroup("g", "c2", {"s": ">"}, count=10)),
    ("read nothing", lambda r: r.xreadgroup("g", "c1", {"s": ">"}, count=10)),
    ("read blocking", lambda r: r.xreadgroup("g", "c1", {"s": ">"}, count=1, block=20)),
    ("read own", lambda r: r.xreadgroup("g", "c1", {"s": "0"}, count=10)),
    ("read no group", lambda r: r.xreadgroup("nope", "c1", {"s": ">"}, count=1)),
    ("read no count", lambda r: r.xreadgroup("g", "c3", {"s": ">"})),
    ("pending of c1", lambda r: r.xpending_range("s", "g", "-", "+", 10, consumername="c1")),
    ("pending page", lambda r: r.xpending_range("s", "g", "(1-0", "+", 2)),
    ("pending no group", lambda r: r.xpending_range("s", "nope", "-", "+", 10)),
    ("claim", lambda r: r.xclaim("s", "g", "c3", 0, ["1-0", "9-0"])),
    ("claim justid", lambda r: r.xclaim("s", "g", "c3", 0, ["2-0"], justid=True)),
    (
        "claim idle retrycount justid",
        lambda r: r.xclaim("s", "g", "c3", 0, ["3-0"], idle=5000, retrycount=0, justid=True),
    ),
    ("claim too young", lambda r: r.xclaim("s", "g", "c1", 3_600_000, ["1-0"])),
    ("delete an entry", lambda r: r.engine.execute("XDEL", "s", "2-0")),  # both have one
    ("claim a deleted entry", lambda r: r.xclaim("s", "g", "c1", 0, ["2-0", "1-0"])),
    ("delete a pending entry", lambda r: r.engine.execute("XDEL", "s", "1-0")),
    ("read own with a deleted entry", lambda r: r.xreadgroup("g", "c1", {"s": "0"}, count=10)),
    ("autoclaim", lambda r: r.xautoclaim("s", "g", "c4", 0, start_id="0-0", count=1)),
    ("autoclaim rest", lambda r: r.xautoclaim("s", "g", "c4", 0, start_id="1-1", count=10)),
    ("autoclaim none idle", lambda r: r.xautoclaim("s", "g", "c4", 3_600_000, count=5)),
    ("pipeline counts", lambda r: _counts(r, ["1-0", "3-0", "4-0"])),
    ("ack", lambda r: r.xack("s", "g", "1-0", "3-0", "3-0", "8-0")),
    ("ack no group", lambda r: r.xack("s", "nope", "4-0")),
    ("pipeline move", lambda r: _move(r, "s:dead", "4-0", "*")),
    ("pipeline error", lambda r: _move(r, "s", "1-0", "1-0")),
    ("delete consumer", lambda r: r.xgroup_delconsumer("s", "g", "c4")),
    ("delete missing consumer", lambda r: r.xgroup_delconsumer("s", "g", "nobody")),
    ("pending at the end", lambda r: r.xpending_range("s", "g", "-", "+", 10)),
]  # fmt: skip


@pytest.fixture
def pair(tmp_path):
    ours = tmp_path / "ours.db"
    theirs = tmp_path / "theirs.db"
    for path in (ours, theirs):
        r = streamctl.connect(str(path))
        _seed(r)
        r.close()
    a = EngineClient(str(ours), encoding_errors="surrogateescape")
    b = streamctl.connect(str(theirs), encoding_errors="surrogateescape")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_every_call_answers_as_redis_py_does(pair):
    ours, theirs = pair
    for name, call in CALLS:
        mine = _outcome(lambda call=call: call(ours))
        reference = _outcome(lambda call=call: call(theirs))
        assert mine == reference, name


def test_bytes_that_are_not_utf8_come_back_the_same(tmp_path):
    paths = [str(tmp_path / "a.db"), str(tmp_path / "b.db")]
    for path in paths:
        raw = streamctl.connect(path, decode_responses=False)
        raw.xadd(b"s", {b"ok": b"\xff\xfe", b"\xc3": b"v"}, id=b"1-0")
        raw.xgroup_create(b"s", b"g", id=b"0")
        raw.close()
    ours = EngineClient(paths[0], encoding_errors="surrogateescape")
    theirs = streamctl.connect(paths[1], encoding_errors="surrogateescape")
    try:
        got = ours.xreadgroup("g", "c", {"s": ">"}, count=5)
        assert got == theirs.xreadgroup("g", "c", {"s": ">"}, count=5)
        fields = got[0][1][0][1]
        assert fields == {"ok": "\udcff\udcfe", "\udcc3": "v"}
        # ... and such text goes back as the same bytes
        ours.pipeline().xadd("copy", fields).execute()
        theirs.pipeline().xadd("copy", fields).execute()
    finally:
        ours.close()
        theirs.close()
    for path in paths:
        raw = streamctl.connect(path, decode_responses=False)
        assert [f for _, f in raw.xrange(b"copy")] == [{b"ok": b"\xff\xfe", b"\xc3": b"v"}]
        raw.close()


def test_error_replies_read_as_the_app_reads_redis_py_ones(pair):
    """The engine's ReplyError is no redis-py ResponseError; the command line describes it
    (text and exit code) the same."""
    from streamctl.cli.common import describe

    ours, theirs = pair
    for call in (
        lambda r: r.xreadgroup("nope", "c", {"s": ">"}, count=1),
        lambda r: r.xgroup_create("s", "g", id="0"),
        lambda r: r.xclaim("s", "g", "c", 0, ["bad-id"]),
    ):
        errors = []
        for client in (ours, theirs):
            with pytest.raises(Exception) as info:
                call(client)
            errors.append(describe(info.value))
        assert errors[0] == errors[1]


@pytest.mark.parametrize("count", [0, -1])
def test_a_count_below_one_is_refused_as_redis_py_refuses_it(tmp_path, count):
    with streamctl.connect(str(tmp_path / "a.db")) as r:
        _seed(r)
    client = EngineClient(str(tmp_path / "a.db"))
    try:
        with pytest.raises(ValueError, match="count must be a positive integer"):
            client.xreadgroup("g", "c", {"s": ">"}, count=count)
    finally:
        client.close()
    with streamctl.connect(str(tmp_path / "a.db")) as r:
        assert r.xpending("s", "g")["pending"] == 0  # nothing was read
