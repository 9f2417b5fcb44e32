"""Conformance: XACK, XPENDING (summary and range), XCLAIM, XAUTOCLAIM.

Idle times are never compared with a guess: they are pushed far into the past with
XCLAIM IDLE/TIME, or filtered with thresholds no test run can reach (10**9 ms).
"""

from __future__ import annotations

import time

import pytest
from redis.exceptions import DataError
from streamtools import error

M = 2**64 - 1
INVALID_ID = "Invalid stream ID specified as stream command argument"
HUGE = 10**9  # ms: no entry in this suite is ever that idle


def nogroup(key, group):
    return f"NOGROUP No such key '{key}' or consumer group '{group}'"


def pel(r, key="s", group="g", consumer=None):
    return [
        (p["message_id"], p["consumer"], p["times_delivered"])
        for p in r.xpending_range(key, group, "-", "+", 1000, consumername=consumer)
    ]


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def x3(r):
    """Stream x with 1-0..3-0 all delivered to Alice in group grp."""
    for i in range(1, 4):
        r.xadd("x", {"f": "v"}, id=f"{i}-0")
    r.xgroup_create("x", "grp", "0")
    assert r.xreadgroup("grp", "Alice", {"x": ">"}) == [
        ["x", [("1-0", {"f": "v"}), ("2-0", {"f": "v"}), ("3-0", {"f": "v"})]]
    ]
    return r


@pytest.fixture
def s6(r):
    """Stream s with 1..6; c1 has 1,2; c2 has 3,4; B has 5; 6 undelivered."""
    r.xgroup_create("s", "g", "$", mkstream=True)
    for i in range(1, 7):
        r.xadd("s", {"i": i}, id=i)
    r.xreadgroup("g", "c1", {"s": ">"}, count=2)
    r.xreadgroup("g", "c2", {"s": ">"}, count=2)
    r.xreadgroup("g", "B", {"s": ">"}, count=1)
    return r


# ---------------------------------------------------------------------------- XACK


def test_xack_removes_from_consumer_and_group_pel(s6):
    assert s6.xack("s", "g", "1-0") == 1
    assert pel(s6, consumer="c1") == [("2-0", "c1", 1)]
    assert len(pel(s6)) == 4


def test_xack_same_id_twice_counts_once(s6):
    assert s6.xack("s", "g", "1-0", "1-0") == 1
    assert s6.xack("s", "g", "1-0") == 0
    assert s6.xack("s", "g", "1-0", "2-0") == 1


def test_xack_unknown_and_undelivered_ids(s6):
    assert s6.xack("s", "g", "6-0", "99-0", "0-1") == 0
    assert s6.xpending("s", "g")["pending"] == 5


def test_xack_missing_key_or_group_is_zero_before_id_validation(s6):
    assert s6.xack("nokey", "g", "1-0") == 0
    assert s6.xack("s", "nog", "1-0") == 0
    assert s6.xack("nokey", "g", "bad") == 0
    assert s6.xack("s", "nog", "bad") == 0


@pytest.mark.parametrize("bad", ["invalid-id", "-", "+", "1-x", ""])
def test_xack_invalid_id_acks_nothing(s6, bad):
    with error(INVALID_ID):
        s6.xack("s", "g", "1-0", bad)
    assert s6.xpending("s", "g")["pending"] == 5
    assert s6.xack("s", "g", "1-0") == 1


def test_xack_without_ids_is_an_arity_error(s6):
    with error("wrong number of arguments for 'xack' command"):
        s6.xack("s", "g")


def test_xack_of_deleted_entry(s6):
    s6.xdel("s", "3-0")
    assert s6.xack("s", "g", "3-0") == 1
    assert pel(s6, consumer="c2") == [("4-0", "c2", 1)]


def test_xack_incomplete_id_is_ms_zero(s6):
    assert s6.xack("s", "g", "5") == 1
    assert pel(s6, consumer="B") == []


# ------------------------------------------------------------------- XPENDING summary


def test_summary(s6):
    assert s6.xpending("s", "g") == {
        "pending": 5,
        "min": "1-0",
        "max": "5-0",
        "consumers": [
            {"name": "B", "pending": 1},
            {"name": "c1", "pending": 2},
            {"name": "c2", "pending": 2},
        ],
    }


def test_summary_lists_only_consumers_with_pending_entries(s6):
    s6.xack("s", "g", "5-0")
    s6.xgroup_createconsumer("s", "g", "idle")
    assert [c["name"] for c in s6.xpending("s", "g")["consumers"]] == ["c1", "c2"]
    assert s6.xpending("s", "g")["min"] == "1-0"
    assert s6.xpending("s", "g")["max"] == "4-0"


def test_summary_of_empty_pel(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert r.xpending("s", "g") == {"pending": 0, "min": None, "max": None, "consumers": []}


def test_nogroup_errors(s6):
    with error(nogroup("nokey", "g")):
        s6.xpending("nokey", "g")
    with error(nogroup("s", "nog")):
        s6.xpending("s", "nog")
    with error(nogroup("s", "nog")):
        s6.xpending_range("s", "nog", "-", "+", 5)


# --------------------------------------------------------------------- XPENDING range


def test_range_shape(s6):
    (entry,) = s6.xpending_range("s", "g", "-", "+", 1)
    assert set(entry) == {"message_id", "consumer", "time_since_delivered", "times_delivered"}
    assert (entry["message_id"], entry["consumer"], entry["times_delivered"]) == ("1-0", "c1", 1)
    assert isinstance(entry["time_since_delivered"], int)
    assert entry["time_since_delivered"] >= 0


def test_range_all_in_id_order(s6):
    assert pel(s6) == [
        ("1-0", "c1", 1), ("2-0", "c1", 1), ("3-0", "c2", 1), ("4-0", "c2", 1), ("5-0", "B", 1),
    ]


def test_range_single_consumer(s6):
    assert pel(s6, consumer="c2") == [("3-0", "c2", 1), ("4-0", "c2", 1)]
    assert pel(s6, consumer="nobody") == []


def test_range_exclusive_bounds(s6):
    # incomplete: "(4" as end is 4-(MAX-1), which still includes 4-0
    got = s6.xpending_range("s", "g", "(1", "(4", 10)
    assert [p["message_id"] for p in got] == ["2-0", "3-0", "4-0"]
    got = s6.xpending_range("s", "g", "(1-0", "(5-0", 10)
    assert [p["message_id"] for p in got] == ["2-0", "3-0", "4-0"]


def test_range_incomplete_bounds(s6):
    got = s6.xpending_range("s", "g", "2", "4", 10)
    assert [p["message_id"] for p in got] == ["2-0", "3-0", "4-0"]
    got = s6.xpending_range("s", "g", "3", "3", 10)
    assert [p["message_id"] for p in got] == ["3-0"]


def test_range_count(s6):
    assert [p["message_id"] for p in s6.xpending_range("s", "g", "-", "+", 2)] == ["1-0", "2-0"]
    assert s6.xpending_range("s", "g", "-", "+", 0) == []


def test_range_start_after_end_is_empty(s6):
    assert s6.xpending_range("s", "g", "+", "-", 5) == []
    assert s6.xpending_range("s", "g", "4", "2", 5) == []


def test_range_idle_filter(s6):
    assert s6.xpending_range("s", "g", "-", "+", 10, idle=HUGE) == []
    assert len(s6.xpending_range("s", "g", "-", "+", 10, idle=0)) == 5
    # push 3-0 an hour into the past
    s6.xclaim("s", "g", "c2", 0, ["3-0"], idle=3_600_000, justid=True)
    got = s6.xpending_range("s", "g", "-", "+", 10, idle=1_800_000)
    assert [p["message_id"] for p in got] == ["3-0"]
    assert got[0]["time_since_delivered"] >= 3_600_000
    assert s6.xpending_range("s", "g", "-", "+", 10, idle=1_800_000, consumername="c1") == []
    got = s6.xpending_range("s", "g", "-", "+", 10, idle=1_800_000, consumername="c2")
    assert [p["message_id"] for p in got] == ["3-0"]


def test_range_with_all_bounds_none_falls_back_to_summary(s6):
    assert s6.xpending_range("s", "g", None, None, None) == s6.xpending("s", "g")


@pytest.mark.parametrize(
    "start, end, text",
    [
        ("bad", "+", INVALID_ID),
        ("(-", "+", INVALID_ID),
        ("-", "(+", INVALID_ID),
        (f"({M}-{M}", "+", "invalid start ID for the interval"),
        ("-", "(0-0", "invalid end ID for the interval"),
    ],
)
def test_range_invalid_bounds_checked_before_group(s6, start, end, text):
    with error(text):
        s6.xpending_range("s", "g", start, end, 5)
    with error(text):
        s6.xpending_range("s", "nog", start, end, 5)


@pytest.mark.parametrize(
    "args, kwargs, text",
    [
        (("-", "+", -1), {}, "XPENDING count must be a integer >= 0"),
        (("-", "+", 1), {"idle": -1}, "XPENDING idle must be a integer >= 0"),
        (("-", None, None), {},
         "XPENDING must be provided with min, max and count parameters, or none of them."),
        (("-", "+", None), {},
         "XPENDING must be provided with min, max and count parameters, or none of them."),
    ],
)
def test_range_data_errors(s6, args, kwargs, text):
    with error(text, DataError):
        s6.xpending_range("s", "g", *args, **kwargs)


def test_xpending_does_not_change_pel(s6):
    before = pel(s6)
    s6.xpending("s", "g")
    s6.xpending_range("s", "g", "-", "+", 10)
    assert pel(s6) == before


# -------------------------------------------------------------------------- XCLAIM


def test_xclaim_moves_entry_to_claimer(r):
    id1 = r.xadd("mystream", {"a": 1})
    r.xadd("mystream", {"b": 2})
    r.xadd("mystream", {"c": 3})
    r.xgroup_create("mystream", "mygroup", "0")
    reply = r.xreadgroup("mygroup", "consumer1", {"mystream": ">"}, count=1)
    assert reply[0][1] == [(id1, {"a": "1"})]
    assert len(pel(r, "mystream", "mygroup")) == 1
    assert r.xclaim("mystream", "mygroup", "consumer2", 0, [id1]) == [(id1, {"a": "1"})]
    assert pel(r, "mystream", "mygroup", "consumer1") == []
    assert pel(r, "mystream", "mygroup", "consumer2") == [(id1, "consumer2", 2)]


def test_xclaim_deleted_entries_are_removed_from_pel(x3):
    x3.xdel("x", "2-0")
    assert x3.xclaim("x", "grp", "Bob", 0, ["1-0", "2-0", "3-0"]) == [
        ("1-0", {"f": "v"}), ("3-0", {"f": "v"}),
    ]
    assert pel(x3, "x", "grp", "Alice") == []
    assert pel(x3, "x", "grp") == [("1-0", "Bob", 2), ("3-0", "Bob", 2)]


def test_xclaim_deleted_entry_is_removed_even_if_not_idle_enough(x3):
    x3.xdel("x", "2-0")
    assert x3.xclaim("x", "grp", "Bob", HUGE, ["2-0"]) == []
    assert [e[0] for e in pel(x3, "x", "grp")] == ["1-0", "3-0"]


def test_xclaim_with_trimming(x3):
    x3.xtrim("x", 1, approximate=False)
    assert x3.xclaim("x", "grp", "Bob", 0, ["1-0", "2-0", "3-0"]) == [("3-0", {"f": "v"})]
    assert pel(x3, "x", "grp", "Alice") == []
    assert pel(x3, "x", "grp") == [("3-0", "Bob", 2)]


def test_xclaim_min_idle_time(x3):
    assert x3.xclaim("x", "grp", "Bob", HUGE, ["1-0"]) == []
    assert pel(x3, "x", "grp", "Bob") == []
    x3.xclaim("x", "grp", "Alice", 0, ["1-0"], idle=60_000, justid=True)
    assert x3.xclaim("x", "grp", "Bob", 30_000, ["1-0", "2-0"]) == [("1-0", {"f": "v"})]
    assert pel(x3, "x", "grp", "Bob") == [("1-0", "Bob", 2)]


def test_xclaim_same_consumer(x3):
    assert len(x3.xclaim("x", "grp", "Alice", 0, ["1-0"])) == 1
    assert pel(x3, "x", "grp")[0] == ("1-0", "Alice", 2)


def test_xclaim_justid_does_not_increment_delivery_count(x3):
    assert x3.xclaim("x", "grp", "Bob", 0, ["1-0"]) == [("1-0", {"f": "v"})]
    assert pel(x3, "x", "grp")[0] == ("1-0", "Bob", 2)
    assert x3.xclaim("x", "grp", "Carol", 0, ["1-0"], justid=True) == ["1-0"]
    assert pel(x3, "x", "grp")[0] == ("1-0", "Carol", 2)


def test_xclaim_idle_and_retrycount(x3):
    assert x3.xclaim("x", "grp", "Dave", 0, ["3-0"], idle=5000, retrycount=7) == [
        ("3-0", {"f": "v"})
    ]
    (entry,) = x3.xpending_range("x", "grp", "3", "3", 10)
    assert (entry["consumer"], entry["times_delivered"]) == ("Dave", 7)
    assert entry["time_since_delivered"] >= 5000
    assert x3.xclaim("x", "grp", "Eve", 4000, ["3-0"]) == [("3-0", {"f": "v"})]
    assert pel(x3, "x", "grp", "Eve") == [("3-0", "Eve", 8)]


def test_xclaim_time_in_the_past_and_future(x3):
    past = now_ms() - 100_000
    assert x3.xclaim("x", "grp", "Fay", 0, ["2-0"], time=past, justid=True) == ["2-0"]
    (entry,) = x3.xpending_range("x", "grp", "2", "2", 1)
    assert entry["time_since_delivered"] >= 99_000
    # a delivery time in the future is clamped to now
    x3.xclaim("x", "grp", "Fay", 0, ["2-0"], time=now_ms() + 10_000_000, justid=True)
    (entry,) = x3.xpending_range("x", "grp", "2", "2", 1)
    assert 0 <= entry["time_since_delivered"] < 5_000_000


def test_xclaim_force_creates_pel_entry(r):
    r.xadd("x", {"f": "w"}, id="4")
    r.xadd("x", {"f": "w"}, id="5")
    r.xgroup_create("x", "grp", "$")
    assert r.xclaim("x", "grp", "Eve", 0, ["4-0"]) == []
    assert r.xclaim("x", "grp", "Eve", 0, ["4-0"], force=True) == [("4-0", {"f": "w"})]
    # FORCE without JUSTID: created with count 1, then incremented by the claim
    assert pel(r, "x", "grp") == [("4-0", "Eve", 2)]
    assert r.xclaim("x", "grp", "Eve", 0, ["5-0"], force=True, justid=True) == ["5-0"]
    assert pel(r, "x", "grp")[1] == ("5-0", "Eve", 1)
    assert r.xinfo_groups("x")[0]["last-delivered-id"] == "5-0"


def test_xclaim_force_does_not_resurrect_missing_entries(x3):
    assert x3.xclaim("x", "grp", "Eve", 0, ["99-0"], force=True) == []
    assert [e[0] for e in pel(x3, "x", "grp")] == ["1-0", "2-0", "3-0"]


def test_xclaim_duplicate_ids_are_processed_twice(x3):
    assert x3.xclaim("x", "grp", "Eve", 0, ["1-0", "1-0"]) == [
        ("1-0", {"f": "v"}), ("1-0", {"f": "v"}),
    ]
    assert pel(x3, "x", "grp")[0] == ("1-0", "Eve", 3)
    assert x3.xclaim("x", "grp", "Eve", 0, ["1-0", "1-0"], justid=True) == ["1-0", "1-0"]
    assert pel(x3, "x", "grp")[0] == ("1-0", "Eve", 3)


def test_xclaim_returns_claimed_in_argument_order(x3):
    got = x3.xclaim("x", "grp", "Bob", 0, ["3-0", "1-0", "2-0"], justid=True)
    assert got == ["3-0", "1-0", "2-0"]


def test_xclaim_creates_consumer_even_if_nothing_claimed(x3):
    x3.xclaim("x", "grp", "Ghost", HUGE, ["1-0"])
    x3.xclaim("x", "grp", "Ghost2", 0, ["99-0"])
    names = [c["name"] for c in x3.xinfo_consumers("x", "grp")]
    assert names == ["Alice", "Ghost", "Ghost2"]


def test_xclaim_nogroup(r):
    with error(nogroup("nokey", "g")):
        r.xclaim("nokey", "g", "c", 0, ["1-0"])
    r.xadd("x", {"f": "v"}, id="1")
    with error(nogroup("x", "nog")):
        r.xclaim("x", "nog", "c", 0, ["1-0"])


@pytest.mark.parametrize("ids", [["bad"], ["-"], ["1-0", "bad"], ["+"]])
def test_xclaim_invalid_id_is_an_unrecognized_option(x3, ids):
    with error(f"Unrecognized XCLAIM option '{ids[-1]}'"):
        x3.xclaim("x", "grp", "Fay", 0, ids)
    assert pel(x3, "x", "grp", "Alice") == [("1-0", "Alice", 1), ("2-0", "Alice", 1),
                                            ("3-0", "Alice", 1)]


@pytest.mark.parametrize(
    "args, kwargs, text",
    [
        ((0, []), {}, "XCLAIM message_ids must be a non empty list or tuple of message IDs to "
                      "claim"),
        ((0, "1-0"), {}, "XCLAIM message_ids must be a non empty list or tuple of message IDs "
                         "to claim"),
        ((-1, ["1-0"]), {}, "XCLAIM min_idle_time must be a non negative integer"),
        ((1.5, ["1-0"]), {}, "XCLAIM min_idle_time must be a non negative integer"),
        ((0, ["1-0"]), {"idle": "x"}, "XCLAIM idle must be an integer"),
        ((0, ["1-0"]), {"time": "x"}, "XCLAIM time must be an integer"),
        ((0, ["1-0"]), {"retrycount": "x"}, "XCLAIM retrycount must be an integer"),
    ],
)
def test_xclaim_data_errors(x3, args, kwargs, text):
    with error(text, DataError):
        x3.xclaim("x", "grp", "Fay", *args, **kwargs)


# ---------------------------------------------------------------------- XAUTOCLAIM


def test_xautoclaim_claims_from_other_consumer(r):
    ids = [r.xadd("mystream", {k: v}) for k, v in (("a", 1), ("b", 2), ("c", 3), ("d", 4))]
    r.xgroup_create("mystream", "mygroup", "0")
    r.xreadgroup("mygroup", "consumer1", {"mystream": ">"}, count=1)
    assert r.xautoclaim("mystream", "mygroup", "consumer2", 0, "-", count=1) == [
        "0-0", [(ids[0], {"a": "1"})], [],
    ]
    r.xreadgroup("mygroup", "consumer1", {"mystream": ">"}, count=3)
    r.xdel("mystream", ids[1])
    cursor, claimed, deleted = r.xautoclaim("mystream", "mygroup", "consumer2", 0, "-", count=3)
    assert cursor == ids[3]
    assert claimed == [(ids[0], {"a": "1"}), (ids[2], {"c": "3"})]
    assert deleted == [ids[1]]
    r.xdel("mystream", ids[3])
    # justid: redis-py returns only the list of claimed ids
    assert r.xautoclaim("mystream", "mygroup", "consumer2", 0, "-", justid=True) == [
        ids[0], ids[2],
    ]


def test_xautoclaim_as_an_iterator(r):
    for i in range(1, 6):
        r.xadd("s", {"f": i}, id=i)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "consumer1", {"s": ">"}, count=90)
    assert r.xautoclaim("s", "g", "consumer2", 0, count=2) == [
        "3-0", [("1-0", {"f": "1"}), ("2-0", {"f": "2"})], [],
    ]
    assert r.xautoclaim("s", "g", "consumer2", 0, "3-0", count=2) == [
        "5-0", [("3-0", {"f": "3"}), ("4-0", {"f": "4"})], [],
    ]
    assert r.xautoclaim("s", "g", "consumer2", 0, "5-0", count=2) == [
        "0-0", [("5-0", {"f": "5"})], [],
    ]
    assert pel(r) == [(f"{i}-0", "consumer2", 2) for i in range(1, 6)]


def test_xautoclaim_with_xdel(x3):
    x3.xdel("x", "2-0")
    assert x3.xautoclaim("x", "grp", "Bob", 0, "0-0") == [
        "0-0", [("1-0", {"f": "v"}), ("3-0", {"f": "v"})], ["2-0"],
    ]
    assert pel(x3, "x", "grp", "Alice") == []


def test_xautoclaim_deleted_entries_count_against_count(x3):
    x3.xdel("x", "1-0")
    x3.xdel("x", "2-0")
    assert x3.xautoclaim("x", "grp", "Bob", 0, "0-0", count=1) == ["2-0", [], ["1-0"]]
    assert x3.xautoclaim("x", "grp", "Bob", 0, "2-0", count=1) == ["3-0", [], ["2-0"]]
    assert x3.xautoclaim("x", "grp", "Bob", 0, "3-0", count=1) == ["0-0", [("3-0", {"f": "v"})], []]
    assert pel(x3, "x", "grp", "Alice") == []


def test_xautoclaim_with_trimming(x3):
    x3.xtrim("x", 1, approximate=False)
    assert x3.xautoclaim("x", "grp", "Bob", 0, "0-0") == [
        "0-0", [("3-0", {"f": "v"})], ["1-0", "2-0"],
    ]
    assert pel(x3, "x", "grp", "Alice") == []


def test_xautoclaim_removes_deleted_even_with_justid(x3):
    x3.xdel("x", "2-0")
    assert x3.xautoclaim("x", "grp", "Bob", 0, justid=True) == ["1-0", "3-0"]
    assert pel(x3, "x", "grp") == [("1-0", "Bob", 1), ("3-0", "Bob", 1)]


def test_xautoclaim_delivery_counts(x3):
    x3.xautoclaim("x", "grp", "Bob", 0)
    assert [e[2] for e in pel(x3, "x", "grp")] == [2, 2, 2]
    x3.xautoclaim("x", "grp", "Carol", 0, justid=True)
    assert pel(x3, "x", "grp") == [("1-0", "Carol", 2), ("2-0", "Carol", 2), ("3-0", "Carol", 2)]


def test_xautoclaim_min_idle_skips_and_examines_at_most_count_times_ten(r):
    for i in range(1, 31):
        r.xadd("s", {"i": i}, id=i)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "a", {"s": ">"})
    assert r.xautoclaim("s", "g", "b", HUGE, "0-0", count=1) == ["11-0", [], []]
    assert r.xautoclaim("s", "g", "b", HUGE, "0-0", count=2) == ["21-0", [], []]
    assert r.xautoclaim("s", "g", "b", HUGE, "0-0") == ["0-0", [], []]
    assert {c["name"]: c["pending"] for c in r.xinfo_consumers("s", "g")} == {"a": 30, "b": 0}


def test_xautoclaim_only_claims_idle_entries(x3):
    x3.xclaim("x", "grp", "Alice", 0, ["2-0"], idle=60_000, justid=True)
    assert x3.xautoclaim("x", "grp", "Bob", 30_000) == ["0-0", [("2-0", {"f": "v"})], []]
    assert pel(x3, "x", "grp") == [("1-0", "Alice", 1), ("2-0", "Bob", 2), ("3-0", "Alice", 1)]


@pytest.mark.parametrize(
    "start, expected", [("-", ["1-0", "2-0", "3-0"]), ("(1-0", ["2-0", "3-0"]),
                        ("2", ["2-0", "3-0"]), ("+", []), ("(0-0", ["1-0", "2-0", "3-0"])]
)
def test_xautoclaim_start_forms(x3, start, expected):
    got = x3.xautoclaim("x", "grp", "Bob", 0, start)
    assert got[0] == "0-0"
    assert [entry_id for entry_id, _ in got[1]] == expected


def test_xautoclaim_errors(x3):
    with error("COUNT must be > 0"):
        x3.xautoclaim("x", "grp", "Bob", 0, count=0)
    with error("COUNT must be > 0"):
        x3.xautoclaim("x", "grp", "Bob", 0, count=8070450532247928833)
    # COUNT is parsed before the group is looked up, the start id before both
    with error("COUNT must be > 0"):
        x3.xautoclaim("x", "nog", "Bob", 0, count=0)
    with error(INVALID_ID):
        x3.xautoclaim("x", "nog", "Bob", 0, "bad")
    with error(nogroup("x", "nog")):
        x3.xautoclaim("x", "nog", "Bob", 0)
    with error(nogroup("nokey", "g")):
        x3.xautoclaim("nokey", "g", "Bob", 0)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"min_idle_time": -1}, "XAUTOCLAIM min_idle_time must be a nonnegative integer"),
        ({"min_idle_time": 0, "count": -1}, "XPENDING count must be a integer >= 0"),
    ],
)
def test_xautoclaim_data_errors(x3, kwargs, text):
    with error(text, DataError):
        x3.xautoclaim("x", "grp", "Bob", **kwargs)


def test_xautoclaim_creates_consumer_even_if_nothing_claimed(x3):
    x3.xautoclaim("x", "grp", "Carol", HUGE, "0-0")
    assert [c["name"] for c in x3.xinfo_consumers("x", "grp")] == ["Alice", "Carol"]
