"""Conformance: XTRIM (MAXLEN/MINID, exact and approximate, LIMIT) and XDEL.

Approximate trimming removes whole nodes only. With the default
stream-node-max-entries 100 a node closes after 100 insertions (live + deleted entries
count), so the node boundaries below are at every 100th XADD; entries stay small so the
4096-byte node limit is never what closes a node.
"""

from __future__ import annotations

import random

import pytest
from redis.exceptions import DataError
from streamtools import error

INVALID_ID = "Invalid stream ID specified as stream command argument"
SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"


def fill(r, key, n, start=1):
    """Add ids start..start+n-1 (ms only) with field x."""
    for i in range(start, start + n):
        r.xadd(key, {"x": i}, id=i)


def first_id(r, key):
    return r.xrange(key, count=1)[0][0]


# ------------------------------------------------------------------------ MAXLEN


def test_xtrim_maxlen_exact_and_approximate(r):
    fill(r, "s", 1000)
    assert r.xtrim("s", 666, approximate=False) == 334
    assert r.xlen("s") == 666
    assert r.xtrim("s", 555, approximate=False) == 111
    assert r.xlen("s") == 555
    assert r.xtrim("s", 444) == 55
    assert r.xlen("s") == 500
    assert r.xtrim("s", 400) == 100
    assert r.xlen("s") == 400
    assert r.xtrim("s", 400, approximate=False) == 0
    assert first_id(r, "s") == "601-0"


def test_xtrim_maxlen_keeps_newest(r):
    fill(r, "s", 10)
    r.xtrim("s", 3, approximate=False)
    assert [i for i, _ in r.xrange("s")] == ["8-0", "9-0", "10-0"]


def test_xtrim_approximate_never_cuts_a_partial_node(r):
    fill(r, "s", 150)
    assert r.xtrim("s", 100) == 0
    assert r.xtrim("s", 50) == 100
    assert r.xlen("s") == 50
    assert first_id(r, "s") == "101-0"


def test_xtrim_maxlen_zero_keeps_an_empty_key(r):
    fill(r, "s", 5)
    assert r.xtrim("s", 0, approximate=False) == 5
    assert r.xlen("s") == 0
    assert r.exists("s") == 1
    info = r.xinfo_stream("s")
    assert (info["last-generated-id"], info["entries-added"]) == ("5-0", 5)


def test_xtrim_missing_key_is_zero(r):
    assert r.xtrim("nokey", 0) == 0
    assert r.xtrim("nokey", minid="5") == 0
    assert r.exists("nokey") == 0


def test_xtrim_with_limit(r):
    fill(r, "s", 1000)
    assert r.xtrim("s", 0, limit=150) == 100
    assert r.xtrim("s", 0, limit=99) == 0
    assert r.xtrim("s", 0, limit=250) == 200
    assert r.xlen("s") == 700
    assert r.xtrim("s", 0) == 700


def test_xtrim_limit_deletes_no_more_than_limit(r):
    fill(r, "s", 3)
    assert r.xtrim("s", 0, limit=1) == 0
    assert r.xlen("s") == 3


def test_xtrim_limit_requires_approximate(r):
    fill(r, "s", 3)
    with error("syntax error, LIMIT cannot be used without the special ~ option"):
        r.xtrim("s", 1, approximate=False, limit=30)
    assert r.xlen("s") == 3


def test_xtrim_approximate_uses_live_counts_of_nodes(r):
    fill(r, "s", 200)
    r.xdel("s", *[str(i) for i in range(1, 51)])
    assert r.xlen("s") == 150
    # node 1 holds 50 live entries: removing it would leave 100 < 120
    assert r.xtrim("s", 120) == 0
    assert r.xtrim("s", 100) == 50
    assert r.xlen("s") == 100
    assert first_id(r, "s") == "101-0"


def test_node_size_counts_deleted_entries(r):
    fill(r, "s", 50)
    r.xdel("s", *[str(i) for i in range(1, 11)])
    fill(r, "s", 60, start=51)
    # node 1 = ids 1..100 (90 live), node 2 = 101..110
    assert r.xlen("s") == 100
    assert r.xtrim("s", 10) == 90
    assert [i for i, _ in r.xrange("s")] == [f"{i}-0" for i in range(101, 111)]


# ------------------------------------------------------------------------- MINID


def test_xtrim_minid_exact(r):
    for i in range(1, 6):
        r.xadd("mystream", {"f": "v"}, id=f"{i}-0")
    assert r.xtrim("mystream", minid="3-0", approximate=False) == 2
    assert r.xrange("mystream") == [("3-0", {"f": "v"}), ("4-0", {"f": "v"}), ("5-0", {"f": "v"})]


def test_xtrim_minid_big_delta_from_master_entry(r):
    r.xadd("mystream", {"f": "v"}, id="1-0")
    r.xadd("mystream", {"f": "v"}, id="1641544570597-0")
    r.xadd("mystream", {"f": "v"}, id="1641544570597-1")
    r.xtrim("mystream", minid="1641544570597-0", approximate=False)
    assert r.xrange("mystream") == [
        ("1641544570597-0", {"f": "v"}), ("1641544570597-1", {"f": "v"}),
    ]


def test_xtrim_minid_approximate(r):
    fill(r, "s", 1000)
    assert r.xtrim("s", minid=555) == 500
    assert first_id(r, "s") == "501-0"
    assert r.xtrim("s", minid="555-0", approximate=False) == 54
    assert first_id(r, "s") == "555-0"
    assert r.xlen("s") == 446


def test_xtrim_minid_incomplete_id_is_ms_zero(r):
    for entry_id in ("1-0", "1-5", "2-0", "2-1", "3-0"):
        r.xadd("s", {"f": "v"}, id=entry_id)
    assert r.xtrim("s", minid="2", approximate=False) == 2
    assert first_id(r, "s") == "2-0"


def test_xtrim_minid_beyond_last_empties_stream(r):
    fill(r, "s", 10)
    assert r.xtrim("s", minid=2000, approximate=False) == 10
    assert r.xlen("s") == 0
    assert r.exists("s") == 1


def test_xtrim_minid_with_limit(r):
    fill(r, "s", 1000)
    assert r.xtrim("s", minid=1000, limit=300) == 300
    assert first_id(r, "s") == "301-0"


@pytest.mark.parametrize("bad", ["bad", "-", "+", "1-x", "(5"])
def test_xtrim_minid_invalid_id(r, bad):
    fill(r, "s", 3)
    with error(INVALID_ID):
        r.xtrim("s", minid=bad)
    assert r.xlen("s") == 3


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({}, "One of ``maxlen`` or ``minid`` must be specified"),
        ({"maxlen": 1, "minid": "1"}, "Only one of ``maxlen`` or ``minid`` may be specified"),
    ],
)
def test_xtrim_data_errors(r, kwargs, text):
    with error(text, DataError):
        r.xtrim("s", **kwargs)


def test_xtrim_keeps_last_generated_id(r):
    fill(r, "s", 5)
    r.xtrim("s", 0, approximate=False)
    with error(SMALLER):
        r.xadd("s", {"x": 1}, id="5")


# -------------------------------------------------------------------------- XDEL


def test_xdel_basic(r):
    r.xadd("somestream", {"foo": "value0"})
    entry_id = r.xadd("somestream", {"foo": "value1"})
    r.xadd("somestream", {"foo": "value2"})
    assert r.xdel("somestream", entry_id) == 1
    assert r.xlen("somestream") == 2
    assert [f["foo"] for _, f in r.xrange("somestream")] == ["value0", "value2"]


def test_xdel_multiple_ids(r):
    for i, name in enumerate("abcde", start=1):
        r.xadd("somestream", {name: i}, id=f"1-{i}")
    assert r.xdel("somestream", "1-1", "1-4", "1-5", "2-1") == 3
    assert r.xlen("somestream") == 2
    assert r.xrange("somestream") == [("1-2", {"b": "2"}), ("1-3", {"c": "3"})]


def test_xdel_repeated_and_missing_ids(r):
    fill(r, "s", 3)
    assert r.xdel("s", "2", "2") == 1
    assert r.xdel("s", "2") == 0
    assert r.xdel("s", "99-0") == 0
    assert r.xdel("nokey", "1-0") == 0
    assert r.exists("nokey") == 0


def test_xdel_incomplete_id_is_ms_zero(r):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.xdel("s", "1") == 1
    assert [i for i, _ in r.xrange("s")] == ["1-1"]


@pytest.mark.parametrize("bad", ["bad", "-", "+", "1-x", ""])
def test_xdel_invalid_id_deletes_nothing(r, bad):
    fill(r, "s", 3)
    with error(INVALID_ID):
        r.xdel("s", "1", bad)
    assert r.xlen("s") == 3


def test_xdel_without_ids_is_an_arity_error(r):
    fill(r, "s", 1)
    with error("wrong number of arguments for 'xdel' command"):
        r.xdel("s")


def test_xdel_all_keeps_the_key_and_last_id(r):
    fill(r, "s", 3)
    assert r.xdel("s", "1", "2", "3") == 3
    assert r.exists("s") == 1
    assert r.xlen("s") == 0
    assert r.xinfo_stream("s")["last-generated-id"] == "3-0"
    with error(SMALLER):
        r.xadd("s", {"x": 1}, id="3")
    assert r.xadd("s", {"x": 1}, id="3-*") == "3-1"


def test_xdel_down_to_zero_in_random_order(r):
    ids = [r.xadd("somestream", {"item": x}) for x in range(300)]
    random.Random(7).shuffle(ids)
    length = 300
    for entry_id in ids:
        assert r.xdel("somestream", entry_id) == 1
        length -= 1
        assert r.xlen("somestream") == length
        if length % 50 == 0:
            assert len(r.xrange("somestream")) == length
    assert r.xrange("somestream") == []


# ------------------------------------------------------------ node byte limit (4096)


def test_entries_larger_than_a_node_each_get_their_own_node(r):
    for _ in range(10):
        r.xadd("big", {"v": "x" * 5000})
    assert r.xtrim("big", 3) == 7
    assert r.xlen("big") == 3


def test_node_byte_limit_closes_nodes_before_100_entries(r):
    # ~100-byte values: stream-node-max-bytes 4096 closes each node after 36 entries
    for _ in range(300):
        r.xadd("mid", {"v": "y" * 100})
    assert r.xtrim("mid", 150) == 144
    assert r.xlen("mid") == 156
