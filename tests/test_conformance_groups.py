"""Conformance: XGROUP CREATE / DESTROY / CREATECONSUMER / DELCONSUMER / SETID."""

from __future__ import annotations

import pytest
from streamtools import error

M = 2**64 - 1
INVALID_ID = "Invalid stream ID specified as stream command argument"
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
REQUIRES_KEY = (
    "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically."
)
ENTRIESREAD = "value for ENTRIESREAD must be positive or -1"


def nogroup(group, key):
    return f"NOGROUP No such consumer group '{group}' for key name '{key}'"


def group(r, key, name):
    (info,) = [g for g in r.xinfo_groups(key) if g["name"] == name]
    return info


@pytest.fixture
def s5(r):
    for i in range(1, 6):
        r.xadd("s", {"i": i}, id=f"{i}-0")
    return r


# -------------------------------------------------------------------------- CREATE


def test_create_and_duplicate_detection(r):
    r.xadd("mystream", {"foo": "bar"})
    assert r.xgroup_create("mystream", "mygroup", "$") is True
    with error(BUSYGROUP):
        r.xgroup_create("mystream", "mygroup", "$")
    with error(BUSYGROUP):
        r.xgroup_create("mystream", "mygroup", "0", mkstream=True)


def test_create_without_mkstream_requires_the_key(r):
    with error(REQUIRES_KEY):
        r.xgroup_create("mystream", "mygroup", "$")
    assert r.exists("mystream") == 0


def test_create_with_mkstream_creates_an_empty_stream(r):
    assert r.xgroup_create("mystream", "mygroup", "$", mkstream=True) is True
    assert r.exists("mystream") == 1
    assert r.xlen("mystream") == 0
    assert r.keys() == ["mystream"]
    info = r.xinfo_stream("mystream")
    assert info["length"] == 0 and info["groups"] == 1
    assert info["last-generated-id"] == "0-0" and info["entries-added"] == 0


def test_create_default_id_is_dollar(s5):
    s5.xgroup_create("s", "g")
    assert group(s5, "s", "g")["last-delivered-id"] == "5-0"
    assert s5.xreadgroup("g", "c", {"s": ">"}) == []


@pytest.mark.parametrize("bad", ["bad", "-", "+", "1-x", ">"])
def test_create_invalid_id_creates_nothing(r, bad):
    with error(INVALID_ID):
        r.xgroup_create("s", "g", bad, mkstream=True)
    assert r.exists("s") == 0


def test_create_on_missing_key_checks_key_before_id(r):
    with error(REQUIRES_KEY):
        r.xgroup_create("s", "g", "bad")


@pytest.mark.parametrize("value", [-3, -2])
def test_create_entries_read_must_be_positive_or_minus_one(r, value):
    r.xadd("s", {"a": 1})
    with error(ENTRIESREAD):
        r.xgroup_create("s", "g", "$", entries_read=value)
    with error(ENTRIESREAD):
        r.xgroup_create("nokey", "g", "$", mkstream=True, entries_read=value)
    assert r.exists("nokey") == 0
    assert r.xinfo_groups("s") == []


def test_create_with_entries_read(r):
    for i in range(1, 5):
        r.xadd("mystream", {chr(96 + i): i}, id=f"1-{i}")
    r.xgroup_create("mystream", "mygroup1", "$", entries_read=0)
    r.xgroup_create("mystream", "mygroup2", "$", entries_read=3)
    r.xgroup_create("mystream", "mygroup3", "$", entries_read=-1)
    assert group(r, "mystream", "mygroup1")["entries-read"] == 0
    assert group(r, "mystream", "mygroup2")["entries-read"] == 3
    assert group(r, "mystream", "mygroup3")["entries-read"] is None
    assert group(r, "mystream", "mygroup1")["lag"] == 4
    assert group(r, "mystream", "mygroup2")["lag"] == 1


def test_entries_read_beyond_entries_added_is_kept_as_given(r):
    # Valkey 9 stores ENTRIESREAD as given (no clamping), so lag can go negative
    r.xadd("s", {"a": 1}, id="1")
    r.xadd("s", {"a": 1}, id="2")
    r.xgroup_create("s", "g", "1", entries_read=7)
    assert (group(r, "s", "g")["entries-read"], group(r, "s", "g")["lag"]) == (7, -5)
    r.xreadgroup("g", "c", {"s": ">"}, count=1)
    assert (group(r, "s", "g")["entries-read"], group(r, "s", "g")["lag"]) == (8, -6)
    # a group positioned before the first entry gets its counter re-derived on delivery
    r.xgroup_create("s", "h", "0", entries_read=7)
    r.xreadgroup("h", "c", {"s": ">"}, count=1)
    assert (group(r, "s", "h")["entries-read"], group(r, "s", "h")["lag"]) == (1, 1)


@pytest.mark.parametrize(
    "start, last_delivered", [("0", "0-0"), ("$", "5-0"), ("3", "3-0"), ("99-5", "99-5"),
                              ("3-7", "3-7"), (f"{M}-{M}", f"{M}-{M}")]
)
def test_create_at_any_id(s5, start, last_delivered):
    s5.xgroup_create("s", "g", start)
    info = group(s5, "s", "g")
    assert info == {
        "name": "g",
        "consumers": 0,
        "pending": 0,
        "last-delivered-id": last_delivered,
        "entries-read": None,
        "lag": info["lag"],
    }


def test_create_at_dollar_on_missing_stream_with_mkstream(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert group(r, "s", "g")["last-delivered-id"] == "0-0"
    r.xadd("s", {"a": 1}, id="1")
    assert r.xreadgroup("g", "c", {"s": ">"}) == [["s", [("1-0", {"a": "1"})]]]


def test_groups_are_listed_sorted_by_raw_bytes(r):
    r.xadd("s", {"a": 1})
    for name in ["a", "_x", "B", "9", "Alice", "10", "g\u00e9", "Z"]:
        r.xgroup_create("s", name, "0")
    assert [g["name"] for g in r.xinfo_groups("s")] == [
        "10", "9", "Alice", "B", "Z", "_x", "a", "g\u00e9",
    ]


# ------------------------------------------------------------------------- DESTROY


def test_destroy(s5):
    s5.xgroup_create("s", "g", "0")
    assert s5.xgroup_destroy("s", "g") is True
    assert s5.xgroup_destroy("s", "g") is False
    assert s5.xinfo_groups("s") == []


def test_destroy_missing_key(r):
    with error(REQUIRES_KEY):
        r.xgroup_destroy("nokey", "g")


def test_destroy_drops_pel_and_consumers(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xreadgroup("g", "c", {"s": ">"})
    s5.xgroup_destroy("s", "g")
    s5.xgroup_create("s", "g", "0")
    assert s5.xpending("s", "g") == {"pending": 0, "min": None, "max": None, "consumers": []}
    assert s5.xinfo_consumers("s", "g") == []
    assert len(s5.xreadgroup("g", "c", {"s": ">"})[0][1]) == 5


def test_destroy_leaves_other_groups_alone(s5):
    s5.xgroup_create("s", "g1", "0")
    s5.xgroup_create("s", "g2", "0")
    s5.xreadgroup("g2", "c", {"s": ">"}, count=2)
    s5.xgroup_destroy("s", "g1")
    assert [g["name"] for g in s5.xinfo_groups("s")] == ["g2"]
    assert s5.xpending("s", "g2")["pending"] == 2


def test_stream_survives_destroy_of_its_last_group(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    r.xgroup_destroy("s", "g")
    assert r.exists("s") == 1


# ------------------------------------------------------------------ CREATECONSUMER


def test_createconsumer(r):
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xadd("mystream", {"f": "v"})
    assert r.xinfo_groups("mystream")[0]["consumers"] == 0
    r.xreadgroup("mygroup", "Alice", {"mystream": ">"}, count=1)
    assert r.xinfo_groups("mystream")[0]["consumers"] == 1
    assert r.xgroup_createconsumer("mystream", "mygroup", "Alice") == 0
    assert r.xgroup_createconsumer("mystream", "mygroup", "Bob") == 1
    assert r.xinfo_groups("mystream")[0]["consumers"] == 2
    assert [c["name"] for c in r.xinfo_consumers("mystream", "mygroup")] == ["Alice", "Bob"]
    bob = r.xinfo_consumers("mystream", "mygroup")[1]
    assert bob["pending"] == 0


def test_createconsumer_group_must_exist(r):
    r.xadd("mystream", {"f": "v"})
    with error(nogroup("mygroup", "mystream")):
        r.xgroup_createconsumer("mystream", "mygroup", "consumer")


def test_createconsumer_key_must_exist(r):
    with error(REQUIRES_KEY):
        r.xgroup_createconsumer("nokey", "g", "c")


# --------------------------------------------------------------------- DELCONSUMER


def test_delconsumer_returns_pending_count_and_drops_its_pel(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xreadgroup("g", "a", {"s": ">"}, count=3)
    s5.xreadgroup("g", "b", {"s": ">"}, count=1)
    assert s5.xgroup_delconsumer("s", "g", "a") == 3
    assert s5.xpending("s", "g") == {
        "pending": 1, "min": "4-0", "max": "4-0", "consumers": [{"name": "b", "pending": 1}],
    }
    info = group(s5, "s", "g")
    assert (info["consumers"], info["pending"], info["last-delivered-id"]) == (1, 1, "4-0")
    # the dropped entries are neither redelivered nor claimable
    assert s5.xclaim("s", "g", "b", 0, ["1-0", "2-0", "3-0"]) == []
    assert s5.xautoclaim("s", "g", "b", 0) == ["0-0", [("4-0", {"i": "4"})], []]
    assert s5.xreadgroup("g", "b", {"s": ">"}) == [["s", [("5-0", {"i": "5"})]]]


def test_delconsumer_unknown_consumer_is_zero(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xgroup_createconsumer("s", "g", "idle")
    assert s5.xgroup_delconsumer("s", "g", "nobody") == 0
    assert s5.xgroup_delconsumer("s", "g", "idle") == 0
    assert s5.xinfo_consumers("s", "g") == []


def test_delconsumer_errors(s5):
    with error(nogroup("nog", "s")):
        s5.xgroup_delconsumer("s", "nog", "c")
    with error(REQUIRES_KEY):
        s5.xgroup_delconsumer("nokey", "g", "c")


# --------------------------------------------------------------------------- SETID


def test_setid_moves_last_delivered_and_resets_entries_read(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xreadgroup("g", "c", {"s": ">"}, count=2)
    assert group(s5, "s", "g")["entries-read"] == 2
    assert s5.xgroup_setid("s", "g", "4-0") is True
    info = group(s5, "s", "g")
    assert info["last-delivered-id"] == "4-0" and info["entries-read"] is None
    assert s5.xreadgroup("g", "c", {"s": ">"}) == [["s", [("5-0", {"i": "5"})]]]


@pytest.mark.parametrize(
    "to, expected", [("-", "0-0"), ("+", f"{M}-{M}"), ("$", "5-0"), ("3", "3-0"), ("99-1", "99-1")]
)
def test_setid_accepts_non_strict_ids(s5, to, expected):
    s5.xgroup_create("s", "g", "0")
    assert s5.xgroup_setid("s", "g", to) is True
    assert group(s5, "s", "g")["last-delivered-id"] == expected


def test_setid_with_entries_read(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xgroup_setid("s", "g", "$", entries_read=5)
    info = group(s5, "s", "g")
    assert (info["entries-read"], info["lag"]) == (5, 0)
    s5.xgroup_setid("s", "g", "2", entries_read=2)
    info = group(s5, "s", "g")
    assert (info["entries-read"], info["lag"]) == (2, 3)


def test_setid_errors(s5):
    s5.xgroup_create("s", "g", "0")
    with error(nogroup("nog", "s")):
        s5.xgroup_setid("s", "nog", "5-0")
    with error(REQUIRES_KEY):
        s5.xgroup_setid("nokey", "g", "0")
    with error(INVALID_ID):
        s5.xgroup_setid("s", "g", "bad")
    with error(ENTRIESREAD):
        s5.xgroup_setid("s", "g", "$", entries_read=-2)


def test_setid_back_redelivers_and_reassigns_pel_entries(r):
    # tcl "PEL NACK reassignment after XGROUP SETID event"
    for _ in range(4):
        r.xadd("events", {"f1": "v1"})
    r.xgroup_create("events", "g1", "$")
    r.xadd("events", {"f1": "v1"})
    assert len(r.xreadgroup("g1", "c1", {"events": ">"})[0][1]) == 1
    r.xgroup_setid("events", "g1", "-")
    assert len(r.xreadgroup("g1", "c2", {"events": ">"})[0][1]) == 5
    pending = r.xpending_range("events", "g1", "-", "+", 10)
    assert [(p["consumer"], p["times_delivered"]) for p in pending] == [("c2", 1)] * 5
    assert r.xpending("events", "g1")["consumers"] == [{"name": "c2", "pending": 5}]
    assert [(c["name"], c["pending"]) for c in r.xinfo_consumers("events", "g1")] == [
        ("c1", 0), ("c2", 5),
    ]


def test_setid_beyond_last_id_then_new_entries(s5):
    s5.xgroup_create("s", "g", "0")
    s5.xgroup_setid("s", "g", "99-0")
    assert s5.xreadgroup("g", "c", {"s": ">"}) == []
    s5.xadd("s", {"i": 100}, id="100")
    assert s5.xreadgroup("g", "c", {"s": ">"}) == [["s", [("100-0", {"i": "100"})]]]
