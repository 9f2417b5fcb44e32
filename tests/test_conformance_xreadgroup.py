"""Conformance: XREADGROUP (>, history, deleted entries, NOACK, COUNT, BLOCK, errors)."""

from __future__ import annotations

import pytest
from redis.exceptions import DataError
from streamtools import error, later

INVALID_ID = "Invalid stream ID specified as stream command argument"
DOLLAR = (
    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
    "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
    "would just return an empty result set."
)
# Valkey 9 rejects '+' with its own text (the reference note expects the plain invalid-ID
# error here); the live server is what this suite follows.
PLUS = DOLLAR.replace("$", "+")


def nogroup(key, group):
    return (
        f"NOGROUP No such key '{key}' or consumer group '{group}' in XREADGROUP with GROUP "
        "option"
    )


def consumers(r, key, group):
    return {c["name"]: c["pending"] for c in r.xinfo_consumers(key, group)}


def pel(r, key="s", group="g"):
    return [
        (p["message_id"], p["consumer"], p["times_delivered"])
        for p in r.xpending_range(key, group, "-", "+", 1000)
    ]


@pytest.fixture
def s4(r):
    for i in range(1, 5):
        r.xadd("s", {"i": i}, id=f"{i}-0")
    r.xgroup_create("s", "g", "0")
    return r


# ---------------------------------------------------------------------------- ">"


def test_gt_returns_only_new_elements(r):
    r.xadd("mystream", {"foo": "bar"})
    r.xgroup_create("mystream", "mygroup", "$")
    r.xadd("mystream", {"a": 1})
    r.xadd("mystream", {"b": 2})
    reply = r.xreadgroup("mygroup", "consumer-1", {"mystream": ">"})
    assert [f for _, f in reply[0][1]] == [{"a": "1"}, {"b": "2"}]


def test_gt_delivers_each_entry_once_across_consumers(s4):
    assert s4.xreadgroup("g", "c1", {"s": ">"}, count=1) == [["s", [("1-0", {"i": "1"})]]]
    assert s4.xreadgroup("g", "c2", {"s": ">"}, count=2) == [
        ["s", [("2-0", {"i": "2"}), ("3-0", {"i": "3"})]]
    ]
    assert s4.xreadgroup("g", "c1", {"s": ">"}) == [["s", [("4-0", {"i": "4"})]]]
    assert s4.xreadgroup("g", "c2", {"s": ">"}) == []
    assert pel(s4) == [("1-0", "c1", 1), ("2-0", "c2", 1), ("3-0", "c2", 1), ("4-0", "c1", 1)]


def test_gt_advances_group_last_delivered_id(s4):
    s4.xreadgroup("g", "c", {"s": ">"}, count=3)
    (info,) = s4.xinfo_groups("s")
    assert info["last-delivered-id"] == "3-0"
    assert info["pending"] == 3 and info["consumers"] == 1


def test_gt_skips_deleted_entries(s4):
    s4.xdel("s", "2-0")
    assert [i for i, _ in s4.xreadgroup("g", "c", {"s": ">"})[0][1]] == ["1-0", "3-0", "4-0"]


def test_gt_tail_deleted_serves_nothing(r):
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"f": "v"}, id="666")
    assert r.xreadgroup("mygroup", "Alice", {"mystream": ">"}, block=10) == [
        ["mystream", [("666-0", {"f": "v"})]]
    ]
    r.xadd("mystream", {"f2": "v2"}, id="667")
    r.xdel("mystream", "667")
    assert r.xreadgroup("mygroup", "Alice", {"mystream": ">"}, block=10) == []
    assert r.xreadgroup("mygroup", "Alice", {"mystream": ">"}) == []


def test_multiple_streams(r):
    r.xadd("a", {"i": 1}, id="1")
    r.xadd("b", {"i": 1}, id="1")
    r.xgroup_create("a", "g", "0")
    r.xgroup_create("b", "g", "$")
    assert r.xreadgroup("g", "c", {"a": ">", "b": ">"}) == [["a", [("1-0", {"i": "1"})]]]
    assert r.xreadgroup("g", "c", {"a": "0", "b": "0"}) == [
        ["a", [("1-0", {"i": "1"})]],
        ["b", []],
    ]
    assert r.xreadgroup("g", "c", {"a": ">", "b": "0"}) == [["b", []]]


def test_count(s4):
    assert len(s4.xreadgroup("g", "c", {"s": ">"}, count=3)[0][1]) == 3
    assert len(s4.xreadgroup("g", "c", {"s": "0"}, count=2)[0][1]) == 2
    assert len(s4.xreadgroup("g", "c", {"s": "0"}, count=10)[0][1]) == 3


# ------------------------------------------------------------------------- history


def test_history_returns_only_own_pending_entries(r):
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"a": 1})
    r.xadd("mystream", {"b": 2})
    r.xreadgroup("mygroup", "consumer-1", {"mystream": ">"})
    r.xadd("mystream", {"c": 3})
    r.xadd("mystream", {"d": 4})
    reply = r.xreadgroup("mygroup", "consumer-2", {"mystream": ">"})
    assert [f for _, f in reply[0][1]] == [{"c": "3"}, {"d": "4"}]
    r1 = r.xreadgroup("mygroup", "consumer-1", {"mystream": "0"}, count=10)
    r2 = r.xreadgroup("mygroup", "consumer-2", {"mystream": "0"}, count=10)
    assert [f for _, f in r1[0][1]] == [{"a": "1"}, {"b": "2"}]
    assert [f for _, f in r2[0][1]] == [{"c": "3"}, {"d": "4"}]


def test_history_is_empty_list_not_nil_on_empty_pel(r):
    # tcl "XREADGROUP will not report data on empty history. Bug #5577"
    for name, value in (("a", 1), ("b", 2), ("c", 3)):
        r.xadd("events", {name: value})
    r.xgroup_create("events", "mygroup", "0")
    assert r.xpending_range("events", "mygroup", "-", "+", 10) == []
    assert r.xreadgroup("mygroup", "myconsumer", {"events": "0"}, count=3) == [["events", []]]
    assert len(r.xreadgroup("mygroup", "myconsumer", {"events": ">"}, count=3)[0][1]) == 3
    assert len(r.xreadgroup("mygroup", "myconsumer", {"events": "0"}, count=3)[0][1]) == 3


def test_history_reports_deleted_entries_with_empty_fields(r):
    # tcl "XREADGROUP history reporting of deleted entries. Bug #5570"
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"field1": "A"}, id="1")
    r.xreadgroup("mygroup", "myconsumer", {"mystream": ">"})
    r.xadd("mystream", {"field1": "B"}, id="2", maxlen=1, approximate=False)
    r.xreadgroup("mygroup", "myconsumer", {"mystream": ">"})
    assert r.xreadgroup("mygroup", "myconsumer", {"mystream": "0-1"}) == [
        ["mystream", [("1-0", {}), ("2-0", {"field1": "B"})]]
    ]


def test_history_read_increments_delivery_count_of_existing_entries_only(s4):
    s4.xreadgroup("g", "c", {"s": ">"}, count=2)
    s4.xdel("s", "1-0")
    assert s4.xreadgroup("g", "c", {"s": "0"}) == [["s", [("1-0", {}), ("2-0", {"i": "2"})]]]
    assert s4.xreadgroup("g", "c", {"s": "0"}, count=2) == [
        ["s", [("1-0", {}), ("2-0", {"i": "2"})]]
    ]
    assert pel(s4) == [("1-0", "c", 1), ("2-0", "c", 3)]


def test_history_id_is_exclusive_and_incomplete_means_ms_zero(s4):
    s4.xreadgroup("g", "c", {"s": ">"})
    assert [i for i, _ in s4.xreadgroup("g", "c", {"s": "2"})[0][1]] == ["3-0", "4-0"]
    assert [i for i, _ in s4.xreadgroup("g", "c", {"s": "2-0"})[0][1]] == ["3-0", "4-0"]
    assert [i for i, _ in s4.xreadgroup("g", "c", {"s": "1-5"})[0][1]] == ["2-0", "3-0", "4-0"]
    assert s4.xreadgroup("g", "c", {"s": "4"}) == [["s", []]]
    assert s4.xreadgroup("g", "c", {"s": "9"}) == [["s", []]]


def test_history_from_the_maximum_id_omits_the_stream(s4):
    # nothing can follow max-max, so the stream is left out of the reply altogether
    # (unlike any other history read, which answers [[key, []]])
    M = 2**64 - 1
    s4.xreadgroup("g", "c", {"s": ">"})
    s4.xgroup_create("t", "g", "0", mkstream=True)
    assert s4.xreadgroup("g", "c", {"s": f"{M}-{M}"}) == []
    assert s4.xreadgroup("g", "c", {"s": f"{M}-{M}", "t": "0"}) == [["t", []]]
    assert s4.xreadgroup("g", "c", {"s": f"{M}-{M - 1}"}) == [["s", []]]
    assert s4.xreadgroup("g", "c", {"s": str(M)}) == [["s", []]]


def test_history_does_not_move_last_delivered_id(s4):
    s4.xreadgroup("g", "c", {"s": ">"}, count=2)
    s4.xreadgroup("g", "c", {"s": "0"})
    assert s4.xinfo_groups("s")[0]["last-delivered-id"] == "2-0"


def test_history_ignores_block(r):
    # tcl "Blocking XREADGROUP will ignore BLOCK if ID is not >"
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"key": "value"}, id="666")
    r.xdel("mystream", "666")
    for entry_id in ("0", "600", "666", "700"):
        assert r.xreadgroup("mygroup", "myconsumer", {"mystream": entry_id}, block=0) == [
            ["mystream", []]
        ]
    r.xadd("mystream", {"key": "value"}, id="667")
    for entry_id in ("0", "600", "666", "667", "700"):
        assert r.xreadgroup("mygroup", "myconsumer", {"mystream": entry_id}, block=0) == [
            ["mystream", []]
        ]
    assert r.xreadgroup("mygroup", "myconsumer", {"mystream": ">"}, block=0) == [
        ["mystream", [("667-0", {"key": "value"})]]
    ]
    for entry_id in ("0", "600", "666"):
        assert r.xreadgroup("mygroup", "myconsumer", {"mystream": entry_id}, block=0) == [
            ["mystream", [("667-0", {"key": "value"})]]
        ]
    for entry_id in ("667", "700"):
        assert r.xreadgroup("mygroup", "myconsumer", {"mystream": entry_id}, block=0) == [
            ["mystream", []]
        ]
    r.xack("mystream", "mygroup", "667")
    for entry_id in ("0", "600", "666", "667", "700"):
        assert r.xreadgroup("mygroup", "myconsumer", {"mystream": entry_id}, block=0) == [
            ["mystream", []]
        ]


# --------------------------------------------------------------------------- NOACK


def test_noack_creates_no_pel_but_advances_group(s4):
    assert s4.xreadgroup("g", "c", {"s": ">"}, count=2, noack=True) == [
        ["s", [("1-0", {"i": "1"}), ("2-0", {"i": "2"})]]
    ]
    assert s4.xpending("s", "g") == {"pending": 0, "min": None, "max": None, "consumers": []}
    (info,) = s4.xinfo_groups("s")
    assert info["last-delivered-id"] == "2-0"
    assert (info["entries-read"], info["lag"], info["consumers"]) == (2, 2, 1)
    assert s4.xreadgroup("g", "c", {"s": "0"}) == [["s", []]]
    assert s4.xreadgroup("g", "c", {"s": ">"}, count=1) == [["s", [("3-0", {"i": "3"})]]]


def test_noack_leaves_existing_pel_entry_alone(s4):
    s4.xreadgroup("g", "c", {"s": ">"}, count=3)
    s4.xgroup_setid("s", "g", "0")
    s4.xreadgroup("g", "d", {"s": ">"}, count=3, noack=True)
    assert pel(s4) == [("1-0", "c", 1), ("2-0", "c", 1), ("3-0", "c", 1)]
    s4.xreadgroup("g", "d", {"s": ">"})
    assert pel(s4)[-1] == ("4-0", "d", 1)


# --------------------------------------------------------------- consumer creation


def test_consumer_created_even_when_nothing_is_served(r):
    # 7.2+/Valkey: the consumer exists once the group is validated
    r.xgroup_create("s", "g", "$", mkstream=True)
    r.xreadgroup("g", "emptyread", {"s": ">"})
    r.xreadgroup("g", "blockread", {"s": ">"}, block=10)
    r.xreadgroup("g", "history", {"s": "0"})
    assert consumers(r, "s", "g") == {"blockread": 0, "emptyread": 0, "history": 0}
    assert r.xinfo_groups("s")[0]["consumers"] == 3


def test_consumer_created_by_noack_read(s4):
    s4.xreadgroup("g", "Alice", {"s": ">"}, noack=True)
    assert consumers(s4, "s", "g") == {"Alice": 0}


# -------------------------------------------------------------------------- errors


def test_nogroup_for_missing_key_or_group(r):
    with error(nogroup("s", "g")):
        r.xreadgroup("g", "c", {"s": ">"})
    r.xadd("s", {"f": "v"}, id="1")
    with error(nogroup("s", "g")):
        r.xreadgroup("g", "c", {"s": ">"})
    with error(nogroup("s", "g")):
        r.xreadgroup("g", "c", {"s": "0"})
    assert r.exists("s") == 1


def test_nogroup_checked_before_id(r):
    r.xadd("s", {"f": "v"}, id="1")
    with error(nogroup("s", "g")):
        r.xreadgroup("g", "c", {"s": "$"})
    with error(nogroup("s", "g")):
        r.xreadgroup("g", "c", {"s": "bad"})


def test_dollar_is_meaningless(s4):
    with error(DOLLAR):
        s4.xreadgroup("g", "c", {"s": "$"})


def test_plus_is_meaningless(s4):
    with error(PLUS):
        s4.xreadgroup("g", "c", {"s": "+"})


@pytest.mark.parametrize("bad", ["bad", "-", "(0", "1-", "1.5"])
def test_invalid_ids(s4, bad):
    with error(INVALID_ID):
        s4.xreadgroup("g", "c", {"s": bad})


def test_all_streams_validated_before_anything_is_served(s4):
    with error(nogroup("nokey", "g")):
        s4.xreadgroup("g", "c", {"s": ">", "nokey": ">"})
    s4.xgroup_create("s2", "g", "$", mkstream=True)
    with error(DOLLAR):
        s4.xreadgroup("g", "c", {"s": ">", "s2": "$"})
    with error(INVALID_ID):
        s4.xreadgroup("g", "c", {"s": ">", "s2": "bad"})
    assert s4.xpending("s", "g")["pending"] == 0
    assert s4.xinfo_groups("s")[0]["last-delivered-id"] == "0-0"
    assert s4.xinfo_consumers("s", "g") == []


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"streams": {}}, "XREADGROUP streams must be a non empty dict"),
        ({"streams": {"s": ">"}, "count": 0}, "XREADGROUP count must be a positive integer"),
        ({"streams": {"s": ">"}, "block": -1}, "XREADGROUP block must be a non-negative integer"),
    ],
)
def test_data_errors(r, kwargs, text):
    with error(text, DataError):
        r.xreadgroup("g", "c", **kwargs)


# --------------------------------------------------------------------------- BLOCK


def test_block_timeout_returns_empty_list(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert r.xreadgroup("g", "c", {"s": ">"}, block=50) == []
    assert r.xreadgroup("g", "c", {"s": ">"}, block=50, noack=True) == []


def test_block_on_stream_that_ran_dry(r, target):
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"key": "value"}, id="666")
    r.xdel("mystream", "666")
    assert r.xreadgroup("mygroup", "myconsumer", {"mystream": ">"}, block=10) == []
    join = later(target, lambda c: c.xadd("mystream", {"key": "value"}, id="667"))
    res = r.xreadgroup("mygroup", "myconsumer", {"mystream": ">"}, block=5000)
    join()
    assert res == [["mystream", [("667-0", {"key": "value"})]]]
    assert pel(r, "mystream", "mygroup") == [("667-0", "myconsumer", 1)]


def test_block_wakes_and_delivers_whole_transaction(r, target):
    r.xgroup_create("s", "g", "$", mkstream=True)

    def writer(c):
        pipe = c.pipeline()
        for word in ("one", "two", "three"):
            pipe.xadd("s", {"field": word})
        pipe.execute()

    join = later(target, writer)
    res = r.xreadgroup("g", "c", {"s": ">"}, block=5000)
    join()
    assert [f["field"] for _, f in res[0][1]] == ["one", "two", "three"]
    assert r.xpending("s", "g")["consumers"] == [{"name": "c", "pending": 3}]


def test_block_wakeup_with_noack(r, target):
    r.xgroup_create("s", "g", "$", mkstream=True)
    join = later(target, lambda c: c.xadd("s", {"f2": "v2"}, id="5"))
    res = r.xreadgroup("g", "Bob", {"s": ">"}, block=5000, noack=True)
    join()
    assert res == [["s", [("5-0", {"f2": "v2"})]]]
    assert r.xpending("s", "g")["pending"] == 0
    assert consumers(r, "s", "g") == {"Bob": 0}


def test_group_destroyed_while_blocked_raises_nogroup(r, target):
    # Valkey 9 re-runs the command: the error is the ordinary NOGROUP text (the reference
    # note's "the consumer group this client was blocked on no longer exists" is not sent)
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    join = later(target, lambda c: c.xgroup_destroy("mystream", "mygroup"))
    with error(nogroup("mystream", "mygroup")):
        r.xreadgroup("mygroup", "Alice", {"mystream": ">"}, block=5000)
    join()


def test_key_deleted_while_blocked_raises_nogroup(r, target):
    r.xadd("mystream", {"f": "v"}, id="666")
    r.xgroup_create("mystream", "mygroup", "$")
    join = later(target, lambda c: c.delete("mystream"))
    with error(nogroup("mystream", "mygroup")):
        r.xreadgroup("mygroup", "Alice", {"mystream": ">"}, block=5000)
    join()
