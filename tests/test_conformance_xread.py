"""Conformance: XREAD (multiple streams, $, +, strictly-greater, BLOCK and wake-ups).

Blocking tests never assert on time: a second connection writes from a thread after a
short sleep and the test asserts only on what the blocked read returned. Reads start
from an explicit ID wherever possible so the outcome does not depend on which side
of the race ran first.
"""

from __future__ import annotations

import pytest
from redis.exceptions import DataError
from streamtools import error, later

M = 2**64 - 1
INVALID_ID = "Invalid stream ID specified as stream command argument"
GT_ERROR = (
    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option."
)


@pytest.fixture
def abc(r):
    for i in range(1, 4):
        r.xadd("a", {"k": i}, id=f"{i}-0")
    r.xadd("b", {"k": "b"}, id="2-0")
    return r


# ----------------------------------------------------------------- non-blocking


def test_xread_multiple_streams_in_request_order(abc):
    assert abc.xread({"b": "0", "a": "0-0", "c": "0"}) == [
        ["b", [("2-0", {"k": "b"})]],
        ["a", [("1-0", {"k": "1"}), ("2-0", {"k": "2"}), ("3-0", {"k": "3"})]],
    ]


def test_xread_returns_only_ids_strictly_greater(abc):
    assert abc.xread({"a": "2-0"}) == [["a", [("3-0", {"k": "3"})]]]
    assert abc.xread({"a": "3-0"}) == []
    # an incomplete id is ms-0
    assert abc.xread({"a": "2"}) == [["a", [("3-0", {"k": "3"})]]]
    assert abc.xread({"a": "2-5"}) == [["a", [("3-0", {"k": "3"})]]]


def test_xread_count_applies_per_stream(abc):
    assert abc.xread({"a": "0", "b": "0"}, count=1) == [
        ["a", [("1-0", {"k": "1"})]],
        ["b", [("2-0", {"k": "b"})]],
    ]


def test_xread_nonexistent_and_empty_streams_give_empty_list(r):
    assert r.xread({"s1": "0-0", "s2": "0-0"}) == []
    r.xadd("e", {"a": 1}, id="1")
    r.xdel("e", "1")
    assert r.xread({"e": "0"}) == []


def test_xread_non_empty_second_stream(r):
    for j in range(20):
        r.xadd("mystream", {"item": j})
    res = r.xread({"nostream": "0-0", "mystream": "0-0"}, count=1)
    assert len(res) == 1 and res[0][0] == "mystream"
    assert res[0][1][0][1] == {"item": "0"}


def test_xread_dollar_is_last_generated_id(abc):
    assert abc.xread({"a": "$", "b": "$", "nokey": "$"}) == []


def test_xread_tail_deleted_serves_nothing(r):
    r.xadd("d", {"k": 1}, id="1")
    r.xadd("d", {"k": 2}, id="2")
    r.xdel("d", "2")
    assert r.xread({"d": "1"}) == []
    assert r.xread({"d": "0"}) == [["d", [("1-0", {"k": "1"})]]]


def test_xread_id_edge_sequence_overflow(r):
    r.xadd("x", {"f": "v"}, id="1-1")
    r.xadd("x", {"f": "v"}, id=f"1-{M}")
    r.xadd("x", {"f": "v"}, id="2-1")
    assert r.xread({"x": f"1-{M}"}, block=0) == [["x", [("2-1", {"f": "v"})]]]


def test_xread_gt_id_is_an_error(abc):
    with error(GT_ERROR):
        abc.xread({"a": ">"})


@pytest.mark.parametrize("bad", ["-", "(1", "x", "1-", "1.5", f"{M + 1}"])
def test_xread_invalid_ids(abc, bad):
    with error(INVALID_ID):
        abc.xread({"a": bad})


# ------------------------------------------------------------------- XREAD +


def test_xread_plus_returns_last_entry(r):
    # Valkey 9 behaves as Redis 7.4+ here ('+' = the last entry; 7.0/7.2: invalid ID)
    for i in range(1, 4):
        r.xadd("lestream", {f"k{i}": f"v{i}"}, id=f"{i}-0")
    assert r.xread({"lestream": "+"}) == [["lestream", [("3-0", {"k3": "v3"})]]]
    r.xadd("lestream", {"k4": "v4"}, id=f"3-{M - 1}")
    r.xadd("lestream", {"k5": "v5"}, id=f"3-{M}")
    assert r.xread({"lestream": "+"}) == [["lestream", [(f"3-{M}", {"k5": "v5"})]]]


def test_xread_plus_on_empty_or_missing_stream(r):
    assert r.xread({"lestream": "+"}) == []
    r.xadd("lestream", {"k1": "v1"}, id="1-0")
    r.xdel("lestream", "1-0")
    assert r.xread({"lestream": "+"}) == []


def test_xread_plus_on_stream_that_never_had_entries(r):
    r.xgroup_create("e", "g", "$", mkstream=True)
    assert r.xread({"e": "+"}) == []
    assert r.xread({"e": "+"}, block=20) == []
    r.xadd("t", {"a": 1}, maxlen=0)
    assert r.xread({"t": "+", "e": "+"}) == []


def test_xread_plus_ignores_count_and_serves_several_streams(r):
    for i in range(1, 4):
        r.xadd("{l}1", {f"k{i}": f"v{i}"}, id=f"{i}-0")
        r.xadd("{l}2", {f"k{i}": f"v{i + 3}"}, id=f"{i}-0")
    assert r.xread({"{l}1": "+", "{l}2": "+", "{l}3": "+"}, count=3) == [
        ["{l}1", [("3-0", {"k3": "v3"})]],
        ["{l}2", [("3-0", {"k3": "v6"})]],
    ]


def test_xread_plus_with_block_on_non_empty_stream_returns_at_once(r):
    for i in range(1, 4):
        r.xadd("lestream", {f"k{i}": f"v{i}"}, id=f"{i}-0")
    assert r.xread({"lestream": "+"}, block=1000000) == [["lestream", [("3-0", {"k3": "v3"})]]]


# ---------------------------------------------------------------------- BLOCK


def test_block_with_data_available_returns_immediately(abc):
    assert abc.xread({"a": "0"}, block=0) == abc.xread({"a": "0"})


def test_block_timeout_returns_empty_list(r):
    r.xadd("s", {"a": 1})
    assert r.xread({"s": "$"}, block=50) == []
    assert r.xread({"nokey": "$", "s": "$"}, block=50) == []


def test_block_will_not_reply_with_empty_array_when_tail_deleted(r):
    r.xadd("s1", {"f": "v"}, id="666")
    r.xadd("s1", {"f2": "v2"}, id="667")
    r.xdel("s1", "667")
    assert r.xread({"s1": "666"}, block=10) == []


def test_block_on_stream_that_ran_dry_times_out(r):
    r.xadd("mystream", {"key": "value"}, id="666")
    r.xdel("mystream", "666")
    assert r.xread({"mystream": "665"}, block=10) == []


def test_block_wakes_on_xadd_from_other_connection(r, target):
    old = r.xadd("s2", {"old": "abcd1234"})
    join = later(target, lambda c: c.xadd("s2", {"new": "abcd1234"}))
    res = r.xread({"s1": "$", "s2": old, "s3": "$"}, block=5000)
    join()
    assert len(res) == 1 and res[0][0] == "s2"
    assert [f for _, f in res[0][1]] == [{"new": "abcd1234"}]


def test_block_wakes_for_stream_created_later(r, target):
    join = later(target, lambda c: c.xadd("later", {"k": "v"}, id="5-0"))
    res = r.xread({"later": "0-0"}, block=5000)
    join()
    assert res == [["later", [("5-0", {"k": "v"})]]]


def test_block_from_last_id_with_explicit_ids(r, target):
    # tcl "Blocking XREAD for stream that ran dry": wakes with the new entry only
    r.xadd("mystream", {"key": "value"}, id="666")
    r.xdel("mystream", "666")
    join = later(target, lambda c: c.xadd("mystream", {"key": "value"}, id="667"))
    res = r.xread({"mystream": "665"}, block=5000)
    join()
    assert res == [["mystream", [("667-0", {"key": "value"})]]]


def test_block_id_edge_wakes_after_max_sequence(r, target):
    def writer(c):
        c.xadd("x", {"f": "v"}, id="1-1")
        c.xadd("x", {"f": "v"}, id=f"1-{M}")
        c.xadd("x", {"f": "v"}, id="2-1")

    join = later(target, writer)
    for _ in range(3):
        res = r.xread({"x": f"1-{M}"}, block=5000)
        if res:
            break
    join()
    assert res[0][1][0] == ("2-1", {"f": "v"})


def test_block_serves_whole_transaction(r, target):
    old = r.xadd("s2", {"old": "abcd1234"})

    def writer(c):
        pipe = c.pipeline()
        for word in ("one", "two", "three"):
            pipe.xadd("s2", {"field": word})
        pipe.execute()

    join = later(target, writer)
    res = r.xread({"s2": old}, block=5000)
    join()
    assert [f["field"] for _, f in res[0][1]] == ["one", "two", "three"]


def test_block_survives_key_deleted_and_recreated(r, target):
    r.xadd("mystream", {"f": "v"}, id="666")

    def writer(c):
        c.delete("mystream")
        c.xadd("mystream", {"f": "v"}, id="667")

    join = later(target, writer)
    res = r.xread({"mystream": "666"}, block=5000)
    join()
    assert res == [["mystream", [("667-0", {"f": "v"})]]]


def test_block_with_count(r, target):
    r.xadd("s", {"i": 0}, id="1")

    def writer(c):
        pipe = c.pipeline()
        for i in range(2, 7):
            pipe.xadd("s", {"i": i}, id=str(i))
        pipe.execute()

    join = later(target, writer)
    res = r.xread({"s": "1"}, count=2, block=5000)
    join()
    assert [entry_id for entry_id, _ in res[0][1]] == ["2-0", "3-0"]


# ---------------------------------------------------------------- DataErrors


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"streams": {}}, "XREAD streams must be a non empty dict"),
        ({"streams": ["s"]}, "XREAD streams must be a non empty dict"),
        ({"streams": {"s": 0}, "count": 0}, "XREAD count must be a positive integer"),
        ({"streams": {"s": 0}, "count": -5}, "XREAD count must be a positive integer"),
        ({"streams": {"s": 0}, "block": -1}, "XREAD block must be a non-negative integer"),
    ],
)
def test_xread_data_errors(r, kwargs, text):
    with error(text, DataError):
        r.xread(**kwargs)
