"""Conformance: XRANGE / XREVRANGE (bounds, incomplete and exclusive IDs, COUNT, errors)."""

from __future__ import annotations

import random

import pytest
from redis.exceptions import DataError
from streamtools import error

M = 2**64 - 1
INVALID_ID = "Invalid stream ID specified as stream command argument"
INVALID_START = "invalid start ID for the interval"
INVALID_END = "invalid end ID for the interval"

VIP_IDS = ["0-1", f"0-{M}", "1-0", "42-0", "42-42", f"{M}-{M - 1}", f"{M}-{M}"]


@pytest.fixture
def vip(r):
    for entry_id in VIP_IDS:
        r.xadd("vipstream", {"foo": "bar"}, id=entry_id)
    return r


def ids(entries):
    return [entry_id for entry_id, _ in entries]


# ------------------------------------------------------------------------ basics


def test_xrange_returns_entries_in_order_with_fields(r):
    for i in range(1, 4):
        r.xadd("s", {"item": i, "value": chr(96 + i)}, id=f"{i}-0")
    assert r.xrange("s") == [
        ("1-0", {"item": "1", "value": "a"}),
        ("2-0", {"item": "2", "value": "b"}),
        ("3-0", {"item": "3", "value": "c"}),
    ]


def test_xrevrange_is_reverse_of_xrange(r):
    for j in range(300):
        r.xadd("s", {"item": j})
    assert r.xrange("s", "-", "+") == list(reversed(r.xrevrange("s", "+", "-")))


def test_xrange_missing_key_is_empty(r):
    assert r.xrange("nokey") == []
    assert r.xrevrange("nokey") == []


def test_xrange_positional_min_max_and_xrevrange_max_min(r):
    for i in range(1, 6):
        r.xadd("s", {"i": i}, id=i)
    assert ids(r.xrange("s", "2", "4")) == ["2-0", "3-0", "4-0"]
    assert ids(r.xrevrange("s", "4", "2")) == ["4-0", "3-0", "2-0"]
    assert ids(r.xrange("s", min="2", max="3")) == ["2-0", "3-0"]
    assert ids(r.xrevrange("s", max="3", min="2")) == ["3-0", "2-0"]


@pytest.mark.parametrize("start, end", [("5", "4"), ("3-1", "3-0"), ("+", "-"), ("(3", "3")])
def test_start_greater_than_end_is_empty(r, start, end):
    for i in range(1, 6):
        r.xadd("s", {"i": i}, id=i)
    assert r.xrange("s", start, end) == []
    assert r.xrevrange("s", end, start) == []


def test_single_entry_range(r):
    for i in range(1, 6):
        r.xadd("s", {"i": i}, id=i)
    assert r.xrange("s", "3-0", "3-0") == [("3-0", {"i": "3"})]
    assert r.xrevrange("s", "3-0", "3-0") == [("3-0", {"i": "3"})]


def test_xrange_skips_deleted_entries(r):
    for i in range(1, 6):
        r.xadd("s", {"i": i}, id=i)
    r.xdel("s", "2", "4")
    assert ids(r.xrange("s")) == ["1-0", "3-0", "5-0"]
    assert ids(r.xrevrange("s")) == ["5-0", "3-0", "1-0"]


# ------------------------------------------------------------------------- COUNT


def test_count(r):
    for j in range(50):
        r.xadd("s", {"item": j})
    assert len(r.xrange("s", "-", "+", count=10)) == 10
    assert len(r.xrevrange("s", "+", "-", count=10)) == 10
    assert r.xrange("s", count=3) == r.xrange("s")[:3]
    assert r.xrevrange("s", count=3) == r.xrevrange("s")[:3]
    assert len(r.xrange("s", count=1000)) == 50


def test_iterate_whole_stream_with_exclusive_cursor(r):
    for j in range(350):
        r.xadd("s", {"item": j})
    seen = []
    last = "-"
    while True:
        batch = r.xrange("s", last, "+", count=100)
        if not batch:
            break
        seen.extend(int(f["item"]) for _, f in batch)
        last = "(" + batch[-1][0]
    assert seen == list(range(350))


def test_iterate_backwards_with_exclusive_cursor(r):
    for j in range(250):
        r.xadd("s", {"item": j})
    seen = []
    last = "+"
    while batch := r.xrevrange("s", last, "-", count=60):
        seen.extend(int(f["item"]) for _, f in batch)
        last = "(" + batch[-1][0]
    assert seen == list(reversed(range(250)))


@pytest.mark.parametrize("count", [0, -1])
def test_count_below_one_is_a_data_error(r, count):
    with error("XRANGE count must be a positive integer", DataError):
        r.xrange("s", count=count)
    with error("XREVRANGE count must be a positive integer", DataError):
        r.xrevrange("s", count=count)


# -------------------------------------------------------------- incomplete IDs


def test_incomplete_start_is_ms_zero_and_end_is_ms_max(vip):
    assert ids(vip.xrange("vipstream", "42", "42")) == ["42-0", "42-42"]
    assert ids(vip.xrange("vipstream", "0", "0")) == ["0-1", f"0-{M}"]
    assert ids(vip.xrevrange("vipstream", "42", "1")) == ["42-42", "42-0", "1-0"]


def test_xrevrange_incomplete_max(r):
    # tcl "XREVRANGE regression test for issue #5006"
    r.xadd("teststream", {"key1": "value1"}, id="1234567891230")
    r.xadd("teststream", {"key2": "value2"}, id="1234567891240")
    r.xadd("teststream", {"key3": "value3"}, id="1234567891250")
    r.xadd("teststream2", {"key1": "value1"}, id="1234567891230")
    r.xadd("teststream2", {"key1": "value2"}, id="1234567891240")
    r.xadd("teststream2", {"key1": "value3"}, id="1234567891250")
    assert r.xrevrange("teststream", "1234567891245", "-") == [
        ("1234567891240-0", {"key2": "value2"}),
        ("1234567891230-0", {"key1": "value1"}),
    ]
    assert r.xrevrange("teststream2", "1234567891245", "-") == [
        ("1234567891240-0", {"key1": "value2"}),
        ("1234567891230-0", {"key1": "value1"}),
    ]


# --------------------------------------------------------------- exclusive ranges


def test_exclusive_ranges(vip):
    total = len(VIP_IDS)
    assert len(vip.xrange("vipstream", "-", "+")) == total
    assert len(vip.xrange("vipstream", "(" + VIP_IDS[0], "+")) == total - 1
    assert len(vip.xrange("vipstream", "-", "(" + VIP_IDS[-1])) == total - 1
    assert vip.xrange("vipstream", "(0-1", "(1-0") == [(f"0-{M}", {"foo": "bar"})]
    assert vip.xrange("vipstream", "(1-0", "(42-42") == [("42-0", {"foo": "bar"})]


def test_exclusive_bounds_carry_across_ms(vip):
    # (0-MAX as start is 1-0; (1-0 as end is 0-MAX
    assert ids(vip.xrange("vipstream", f"(0-{M}", "1-0")) == ["1-0"]
    assert ids(vip.xrange("vipstream", "0-1", "(1-0")) == ["0-1", f"0-{M}"]


def test_exclusive_incomplete_ids(vip):
    # "(42" as start is 42-1 (only 42-0 is excluded)
    assert ids(vip.xrange("vipstream", "(42", "+"))[:1] == ["42-42"]
    # "(42" as end is 42-(MAX-1): 42-0 and 42-42 are still included
    assert ids(vip.xrange("vipstream", "-", "(42"))[-2:] == ["42-0", "42-42"]
    # "(0" as end is 0-(MAX-1): 0-MAX is excluded
    assert ids(vip.xrange("vipstream", "-", "(0")) == ["0-1"]
    # "(0" as start is 0-1
    assert ids(vip.xrange("vipstream", "(0", "1")) == ["0-1", f"0-{M}", "1-0"]


def test_xrevrange_exclusive(vip):
    assert ids(vip.xrevrange("vipstream", "(42-42", "(0-1")) == ["42-0", "1-0", f"0-{M}"]
    assert ids(vip.xrevrange("vipstream", "+", "(" + f"{M}-{M - 1}")) == [f"{M}-{M}"]


@pytest.mark.parametrize(
    "start, end, text",
    [
        ("(-", "+", INVALID_ID),
        ("-", "(+", INVALID_ID),
        ("(", "+", INVALID_ID),
        ("-", "(", INVALID_ID),
        ("abc", "+", INVALID_ID),
        ("-", "1-x", INVALID_ID),
        ("1.5", "+", INVALID_ID),
        ("-", "", INVALID_ID),
        ("((1", "+", INVALID_ID),
        (f"({M}-{M}", "+", INVALID_START),
        ("-", "(0-0", INVALID_END),
    ],
)
@pytest.mark.parametrize("stream", ["vipstream", "nokey"])
def test_invalid_interval_errors_even_for_missing_key(vip, stream, start, end, text):
    with error(text):
        vip.xrange(stream, start, end)


@pytest.mark.parametrize(
    "maximum, minimum, text",
    [("(0-0", "-", INVALID_END), ("+", f"({M}-{M}", INVALID_START), ("(+", "-", INVALID_ID)],
)
def test_xrevrange_invalid_intervals(r, maximum, minimum, text):
    with error(text):
        r.xrevrange("s", maximum, minimum)


# ------------------------------------------------------------------------ fuzzing


def test_xrange_matches_a_model_on_random_ranges(r):
    rnd = random.Random(5006)
    stored = set()
    while len(stored) < 300:
        stored.add((rnd.randint(1, 60), rnd.randint(0, 40)))
    ordered = sorted(stored)
    for ms, seq in ordered:
        r.xadd("fuzz", {"ms": ms, "seq": seq}, id=f"{ms}-{seq}")
    for _ in range(60):
        a = (rnd.randint(0, 62), rnd.randint(0, 41))
        b = (rnd.randint(0, 62), rnd.randint(0, 41))
        expect = [f"{m}-{s}" for m, s in ordered if a <= (m, s) <= b]
        assert ids(r.xrange("fuzz", f"{a[0]}-{a[1]}", f"{b[0]}-{b[1]}")) == expect
        assert ids(r.xrevrange("fuzz", f"{b[0]}-{b[1]}", f"{a[0]}-{a[1]}")) == expect[::-1]
        # incomplete bounds: ms only
        expect_ms = [f"{m}-{s}" for m, s in ordered if a[0] <= m <= b[0]]
        assert ids(r.xrange("fuzz", str(a[0]), str(b[0]))) == expect_ms
