"""Conformance: pipeline() results and atomicity, delete/exists/keys/scan_iter, bytes mode
(decode_responses=False) and binary-safe storage."""

from __future__ import annotations

import threading

import pytest
from redis.exceptions import DataError, ResponseError

import streamctl

SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"
REQUIRES_KEY = (
    "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically."
)


# ------------------------------------------------------------------------- pipeline


def test_pipeline_returns_each_result_in_order(r):
    pipe = r.pipeline()
    pipe.xadd("s", {"a": 1}, id="5-0")
    pipe.xadd("s", {"a": 2}, id="8-0")
    pipe.xgroup_create("s", "g", "0")
    pipe.xreadgroup("g", "c", {"s": ">"}, count=1)
    pipe.xpending("s", "g")
    pipe.xrange("s", count=1)
    pipe.xlen("s")
    pipe.xack("s", "g", "5-0")
    pipe.xautoclaim("s", "g", "c", 0, justid=True)
    pipe.delete("s")
    pipe.exists("s")
    assert pipe.execute() == [
        "5-0",
        "8-0",
        True,
        [["s", [("5-0", {"a": "1"})]]],
        {"pending": 1, "min": "5-0", "max": "5-0", "consumers": [{"name": "c", "pending": 1}]},
        [("5-0", {"a": "1"})],
        2,
        1,
        [],
        1,
        0,
    ]


def test_pipeline_commands_are_not_run_before_execute(r):
    pipe = r.pipeline()
    pipe.xadd("s", {"a": 1})
    assert r.exists("s") == 0
    pipe.execute()
    assert r.xlen("s") == 1


def test_pipeline_chaining_and_context_manager(r):
    with r.pipeline() as pipe:
        assert pipe.xadd("u", {"a": 1}, id="1").xadd("u", {"a": 1}, id="2").execute() == [
            "1-0", "2-0",
        ]
    assert r.xlen("u") == 2


def test_empty_pipeline(r):
    assert r.pipeline().execute() == []


def test_pipeline_without_transaction(r):
    pipe = r.pipeline(transaction=False)
    pipe.xadd("t", {"a": 1}, id="3")
    pipe.xlen("t")
    assert pipe.execute() == ["3-0", 1]


def test_pipeline_error_does_not_undo_other_commands(r):
    # MULTI/EXEC semantics: a command that fails at run time does not roll back the rest
    pipe = r.pipeline()
    pipe.xadd("s", {"a": 1}, id="5-0")
    pipe.xadd("s", {"a": 2}, id="1-0")
    pipe.xadd("s", {"a": 3}, id="6-0")
    pipe.xlen("s")
    with pytest.raises(ResponseError) as info:
        pipe.execute()
    assert str(info.value) == f"Command # 2 (XADD s 1-0 a 2) of pipeline caused error: {SMALLER}"
    assert r.xrange("s") == [("5-0", {"a": "1"}), ("6-0", {"a": "3"})]


def test_pipeline_errors_returned_in_place_without_raise(r):
    pipe = r.pipeline()
    pipe.xadd("s", {"a": 1}, id="7-0")
    pipe.xadd("s", {"a": 2}, id="1-0")
    pipe.xgroup_create("nokey", "g")
    pipe.xlen("s")
    first, second, third, fourth = pipe.execute(raise_on_error=False)
    assert first == "7-0"
    assert isinstance(second, ResponseError) and str(second) == SMALLER
    assert isinstance(third, ResponseError) and str(third) == REQUIRES_KEY
    assert fourth == 1


def test_pipeline_data_error_raises_when_queued(r):
    pipe = r.pipeline()
    with pytest.raises(DataError):
        pipe.xadd("s", {})
    assert pipe.execute() == []
    assert r.exists("s") == 0


def test_pipeline_is_reusable_after_execute(r):
    pipe = r.pipeline()
    pipe.xadd("s", {"a": 1}, id="1")
    assert pipe.execute() == ["1-0"]
    pipe.xadd("s", {"a": 1}, id="2")
    pipe.xlen("s")
    assert pipe.execute() == ["2-0", 2]


def test_pipeline_transaction_is_atomic_for_other_clients(r, target):
    """Pairs of XADDs in one transaction are never seen half-applied by another client."""
    stop = threading.Event()
    failures = []

    def writer():
        client = streamctl.connect(target)
        try:
            for i in range(150):
                pipe = client.pipeline()
                pipe.xadd("pairs", {"half": "first", "n": i})
                pipe.xadd("pairs", {"half": "second", "n": i})
                pipe.execute()
        except BaseException as exc:
            failures.append(exc)
        finally:
            stop.set()
            client.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    observed = []
    while not stop.is_set():
        observed.append(r.xlen("pairs"))
        entries = r.xrevrange("pairs", count=1)
        if entries:
            assert entries[0][1]["half"] == "second"
    thread.join(30)
    assert not failures
    assert all(n % 2 == 0 for n in observed)
    assert r.xlen("pairs") == 300


# ------------------------------------------------------------- delete/exists/keys


def test_exists_and_delete_count_keys(r):
    r.xadd("a", {"f": 1})
    r.xadd("b", {"f": 1})
    assert r.exists("a") == 1
    assert r.exists("a", "b", "nokey") == 2
    assert r.exists("a", "a") == 2
    assert r.delete("a", "b", "nokey") == 2
    assert r.exists("a", "b") == 0
    assert r.delete("a") == 0


def test_delete_removes_groups_and_history(r):
    r.xadd("s", {"a": 1}, id="100")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.delete("s") == 1
    assert r.xlen("s") == 0
    assert r.xrange("s") == []
    with pytest.raises(ResponseError) as info:
        r.xgroup_create("s", "g", "0")
    assert str(info.value) == REQUIRES_KEY
    with pytest.raises(ResponseError) as info:
        r.xinfo_stream("s")
    assert str(info.value) == "no such key"
    # a re-created stream starts from scratch: smaller ids are fine again
    assert r.xadd("s", {"a": 1}, id="1") == "1-0"
    info = r.xinfo_stream("s")
    assert (info["entries-added"], info["groups"], info["max-deleted-entry-id"]) == (1, 0, "0-0")


def test_empty_streams_are_keys(r):
    r.xgroup_create("made", "g", "$", mkstream=True)
    r.xadd("trimmed", {"a": 1}, maxlen=0)
    r.xadd("deleted", {"a": 1}, id="1")
    r.xdel("deleted", "1")
    assert sorted(r.keys()) == ["deleted", "made", "trimmed"]
    assert r.exists("made", "trimmed", "deleted") == 3


def test_failed_commands_create_no_keys(r):
    for call in (
        lambda: r.xadd("k1", {"a": 1}, id="0-0"),
        lambda: r.xadd("k2", {"a": 1}, id="bad"),
        lambda: r.xgroup_create("k3", "g", "0"),
        lambda: r.xgroup_create("k4", "g", "bad", mkstream=True),
    ):
        with pytest.raises(ResponseError):
            call()
    assert r.xadd("k5", {"a": 1}, nomkstream=True) is None
    assert r.xread({"k6": "0"}) == []
    assert r.xrange("k7") == []
    assert r.xlen("k8") == 0
    assert r.xdel("k9", "1-0") == 0
    assert r.xtrim("k10", 0) == 0
    assert r.keys() == []


def test_keys_patterns(r):
    for name in ("jobs:a", "jobs:b", "mail", "abc", "axc", "bx"):
        r.xadd(name, {"f": 1})
    assert sorted(r.keys()) == ["abc", "axc", "bx", "jobs:a", "jobs:b", "mail"]
    assert sorted(r.keys("*")) == sorted(r.keys())
    assert sorted(r.keys("jobs:*")) == ["jobs:a", "jobs:b"]
    assert sorted(r.keys("a?c")) == ["abc", "axc"]
    assert sorted(r.keys("[ab]x*")) == ["axc", "bx"]
    assert r.keys("nomatch*") == []


def test_scan_iter(r):
    names = {f"s{i}" for i in range(30)} | {"other"}
    for name in names:
        r.xadd(name, {"f": 1})
    assert set(r.scan_iter()) == names
    assert sorted(r.scan_iter(match="s1*")) == sorted(n for n in names if n.startswith("s1"))
    assert set(r.scan_iter(match="*", count=5)) == names


def test_keys_on_empty_database(r):
    assert r.keys() == []
    assert list(r.scan_iter()) == []


# ------------------------------------------------------------------ bytes and binary


BINARY_FIELDS = {b"\xff\x00f": b"\x80\x81\x00v", b"x": 1.5, b"n": 7, b"": b""}
BINARY_DECODED = {b"\xff\x00f": b"\x80\x81\x00v", b"x": b"1.5", b"n": b"7", b"": b""}


def test_bytes_client_round_trips_binary_fields(rb):
    assert rb.xadd("s", BINARY_FIELDS, id="1-0") == b"1-0"
    entry = (b"1-0", BINARY_DECODED)
    assert rb.xrange("s") == [entry]
    assert rb.xrevrange("s") == [entry]
    assert rb.xread({"s": 0}) == [[b"s", [entry]]]
    assert rb.xlen("s") == 1
    assert list(rb.xrange("s")[0][1]) == list(BINARY_DECODED)


def test_bytes_client_group_commands(rb):
    rb.xadd("s", BINARY_FIELDS, id="1-0")
    rb.xgroup_create("s", "g", "0")
    entry = (b"1-0", BINARY_DECODED)
    assert rb.xreadgroup("g", "c", {"s": ">"}) == [[b"s", [entry]]]
    assert rb.xpending("s", "g") == {
        "pending": 1, "min": b"1-0", "max": b"1-0", "consumers": [{"name": b"c", "pending": 1}],
    }
    (p,) = rb.xpending_range("s", "g", "-", "+", 5)
    assert (p["message_id"], p["consumer"], p["times_delivered"]) == (b"1-0", b"c", 1)
    assert rb.xclaim("s", "g", "d", 0, ["1-0"]) == [entry]
    assert rb.xclaim("s", "g", "d", 0, ["1-0"], justid=True) == [b"1-0"]
    assert rb.xautoclaim("s", "g", "e", 0) == [b"0-0", [entry], []]
    assert rb.xinfo_groups("s") == [{
        "name": b"g", "consumers": 3, "pending": 1, "last-delivered-id": b"1-0",
        "entries-read": 1, "lag": 0,
    }]
    assert [(c["name"], c["pending"]) for c in rb.xinfo_consumers("s", "g")] == [
        (b"c", 0), (b"d", 0), (b"e", 1),
    ]


def test_bytes_client_xinfo_stream(rb):
    rb.xadd("s", BINARY_FIELDS, id="1-0")
    info = rb.xinfo_stream("s")
    assert {k: v for k, v in info.items() if not k.startswith("radix")} == {
        "length": 1,
        "last-generated-id": b"1-0",
        "max-deleted-entry-id": b"0-0",
        "entries-added": 1,
        "recorded-first-entry-id": b"1-0",
        "groups": 0,
        "first-entry": (b"1-0", BINARY_DECODED),
        "last-entry": (b"1-0", BINARY_DECODED),
    }


def test_bytes_client_xinfo_stream_full_shapes(rb):
    rb.xadd("s", {"f": "v"}, id="1-0")
    rb.xgroup_create("s", "g", "0")
    rb.xreadgroup("g", "c", {"s": ">"})
    full = rb.xinfo_stream("s", full=True)
    assert full["entries"] == {b"1-0": {b"f": b"v"}}
    (grp,) = full["groups"]
    assert (grp["name"], grp["last-delivered-id"], grp["pel-count"]) == (b"g", b"1-0", 1)
    assert grp["pending"][0][:2] == [b"1-0", b"c"]
    (consumer,) = grp["consumers"]
    # redis-py's parser leaves the consumer dicts of FULL with bytes keys in bytes mode
    assert consumer[b"name"] == b"c"
    assert consumer[b"pel-count"] == 1


def test_binary_key_and_group_names(rb):
    key = b"\xfekey\x00"
    assert rb.xadd(key, {"a": "b"}, id="1") == b"1-0"
    assert rb.keys() == [key]
    assert rb.exists(key) == 1
    assert rb.xgroup_create(key, b"g\xe9\xff", "0") is True
    assert rb.xreadgroup(b"g\xe9\xff", b"\xc0c", {key: ">"}) == [[key, [(b"1-0", {b"a": b"b"})]]]
    assert rb.xinfo_groups(key)[0]["name"] == b"g\xe9\xff"
    assert rb.xinfo_consumers(key, b"g\xe9\xff")[0]["name"] == b"\xc0c"
    assert rb.delete(key) == 1


def test_text_client_reads_what_bytes_client_wrote(r, rb):
    rb.xadd("s", {"caf\u00e9".encode(): "\u2615".encode()}, id="1")
    assert r.xrange("s") == [("1-0", {"caf\u00e9": "\u2615"})]
    r.xadd("s", {"k": "\u00e9"}, id="2")
    assert rb.xrange("s", "2", "2") == [(b"2-0", {b"k": "\u00e9".encode()})]


def test_text_client_returns_str(r):
    entry_id = r.xadd("s", {"a": 1})
    assert isinstance(entry_id, str)
    ((key, entries),) = r.xread({"s": "0"})
    assert isinstance(key, str) and isinstance(entries[0][0], str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in entries[0][1].items())


# ------------------------------------------------------------------- error objects


@pytest.mark.parametrize(
    "call, text, status_code",
    [
        (lambda r: r.xadd("s", {"a": 1}, id="0-0"),
         "The ID specified in XADD must be greater than 0-0", "ERR"),
        (lambda r: r.xinfo_stream("nokey"), "no such key", "ERR"),
        (lambda r: r.xack("s", "g"), "wrong number of arguments for 'xack' command", "ERR"),
        (lambda r: r.xgroup_create("s", "g", "0"), "BUSYGROUP Consumer Group name already exists",
         None),
        (lambda r: r.xreadgroup("nog", "c", {"s": ">"}),
         "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option", None),
    ],
    ids=["xadd-0-0", "no-such-key", "arity", "busygroup", "nogroup"],
)
def test_response_error_attributes_match_redis_py(r, call, text, status_code):
    # redis-py strips the "ERR " prefix into status_code; other codes stay in the message
    r.xgroup_create("s", "g", "$", mkstream=True)
    with pytest.raises(ResponseError) as info:
        call(r)
    assert str(info.value) == text
    assert info.value.args == (text,)
    assert getattr(info.value, "status_code", None) == status_code
