"""Conformance: XINFO STREAM (plain and FULL), XINFO GROUPS (entries-read, lag), XINFO CONSUMERS.

radix-tree-* layout counts are never compared. Times (seen-time, delivery times, idle,
inactive) are checked structurally only.

entries-read / lag follow Valkey 9, which differs from both the 7.0 rules and the Redis 8
fixes described in the reference note (§9). What the live server does, in the terms of
that note:
* "tombstone in [a, +inf)" is simply: stream non-empty, max-deleted != 0-0 and
  a <= max-deleted (the 7.x "first entry > max-deleted means no tombstone" shortcut is
  gone, as in Redis 8);
* estimate(id) is invalid when id != 0-0 and id < max-deleted (as in Redis 8), otherwise
  the 7.x rules;
* on delivery, entries-read is incremented only if it is valid, the group's previous
  last id >= the first entry, and there is no tombstone at/after the previous last id;
  otherwise it becomes estimate(delivered id) (as in Redis 8);
* lag keeps the 7.x shape: entries-added == 0 -> 0; valid entries-read and no tombstone
  at/after last-delivered -> entries-added - entries-read; else entries-added -
  estimate(last-delivered) or None. (No Redis 8 "lag = length" / "lag 0 when emptied"
  branches: after XTRIM the old lag stays.)
"""

from __future__ import annotations

import time

from streamtools import error

STABLE_STREAM_FIELDS = {
    "length", "last-generated-id", "max-deleted-entry-id", "entries-added",
    "recorded-first-entry-id", "groups", "first-entry", "last-entry",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def stable(info: dict) -> dict:
    assert set(info) == STABLE_STREAM_FIELDS | {"radix-tree-keys", "radix-tree-nodes"}
    return {k: v for k, v in info.items() if not k.startswith("radix-tree-")}


def lag(r, key="x", name=None):
    """{group: (entries-read, lag)} or, with name, that group's pair."""
    groups = {g["name"]: (g["entries-read"], g["lag"]) for g in r.xinfo_groups(key)}
    full = {
        g["name"]: (g["entries-read"], g["lag"])
        for g in r.xinfo_stream(key, full=True)["groups"]
    }
    assert groups == full
    return groups[name] if name else groups


def add(r, key, *ids):
    for entry_id in ids:
        r.xadd(key, {"data": entry_id}, id=entry_id)


# --------------------------------------------------------------------- XINFO STREAM


def test_xinfo_stream_plain(r):
    add(r, "s", "1-0", "2-0", "3-0")
    r.xgroup_create("s", "g1", "0")
    r.xgroup_create("s", "g2", "$")
    assert stable(r.xinfo_stream("s")) == {
        "length": 3,
        "last-generated-id": "3-0",
        "max-deleted-entry-id": "0-0",
        "entries-added": 3,
        "recorded-first-entry-id": "1-0",
        "groups": 2,
        "first-entry": ("1-0", {"data": "1-0"}),
        "last-entry": ("3-0", {"data": "3-0"}),
    }


def test_xinfo_stream_of_empty_stream(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert stable(r.xinfo_stream("s")) == {
        "length": 0,
        "last-generated-id": "0-0",
        "max-deleted-entry-id": "0-0",
        "entries-added": 0,
        "recorded-first-entry-id": "0-0",
        "groups": 1,
        "first-entry": None,
        "last-entry": None,
    }


def test_xinfo_stream_after_deleting_everything(r):
    r.xadd("s", {"a": 1}, id="1")
    r.xdel("s", "1")
    assert stable(r.xinfo_stream("s")) == {
        "length": 0,
        "last-generated-id": "1-0",
        "max-deleted-entry-id": "1-0",
        "entries-added": 1,
        "recorded-first-entry-id": "0-0",
        "groups": 0,
        "first-entry": None,
        "last-entry": None,
    }


def test_entries_added_and_recorded_first_entry(r):
    r.xadd("x", {"data": "a"}, id="1-0")
    info = r.xinfo_stream("x", full=True)
    assert (info["entries-added"], info["recorded-first-entry-id"]) == (1, "1-0")
    r.xadd("x", {"data": "a"}, id="2-0")
    info = r.xinfo_stream("x", full=True)
    assert (info["entries-added"], info["recorded-first-entry-id"]) == (2, "1-0")


def test_xdel_and_xtrim_are_reflected_by_recorded_first_entry(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    info = r.xinfo_stream("x", full=True)
    assert (info["entries-added"], info["recorded-first-entry-id"]) == (5, "1-0")
    r.xdel("x", "2-0")
    assert r.xinfo_stream("x", full=True)["recorded-first-entry-id"] == "1-0"
    r.xdel("x", "1-0")
    assert r.xinfo_stream("x", full=True)["recorded-first-entry-id"] == "3-0"
    r.xtrim("x", 2, approximate=False)
    assert r.xinfo_stream("x")["recorded-first-entry-id"] == "4-0"
    assert r.xinfo_stream("x")["entries-added"] == 5


def test_max_deleted_entry_id(r):
    add(r, "x", "1-0", "2-0", "3-0")
    assert r.xinfo_stream("x", full=True)["max-deleted-entry-id"] == "0-0"
    r.xdel("x", "2-0")
    assert r.xinfo_stream("x", full=True)["max-deleted-entry-id"] == "2-0"
    r.xdel("x", "1-0")
    assert r.xinfo_stream("x", full=True)["max-deleted-entry-id"] == "2-0"
    # XTRIM does not move it
    r.xtrim("x", 0, approximate=False)
    assert r.xinfo_stream("x")["max-deleted-entry-id"] == "2-0"


def test_xinfo_missing_key(r):
    for call in (
        lambda: r.xinfo_stream("nokey"),
        lambda: r.xinfo_stream("nokey", full=True),
        lambda: r.xinfo_groups("nokey"),
        lambda: r.xinfo_consumers("nokey", "g"),
    ):
        with error("no such key"):
            call()


def test_xinfo_full_output(r):
    # tcl "XINFO FULL output"
    add(r, "x", "100", "101", "102", "103", "104")
    r.xgroup_create("x", "g1", "0")
    r.xgroup_create("x", "g2", "0")
    before = now_ms()
    r.xreadgroup("g1", "Alice", {"x": ">"}, count=1)
    r.xreadgroup("g1", "Bob", {"x": ">"}, count=1)
    r.xreadgroup("g1", "Bob", {"x": ">"}, count=1, noack=True)
    r.xreadgroup("g2", "Charlie", {"x": ">"}, count=4)
    after = now_ms()
    r.xdel("x", "103")
    reply = r.xinfo_stream("x", full=True)
    assert {k: v for k, v in reply.items() if k not in ("radix-tree-keys", "radix-tree-nodes",
                                                        "groups")} == {
        "length": 4,
        "last-generated-id": "104-0",
        "max-deleted-entry-id": "103-0",
        "entries-added": 5,
        "recorded-first-entry-id": "100-0",
        "entries": {
            "100-0": {"data": "100"}, "101-0": {"data": "101"},
            "102-0": {"data": "102"}, "104-0": {"data": "104"},
        },
    }
    g1, g2 = reply["groups"]
    assert (g1["name"], g1["last-delivered-id"], g1["pel-count"]) == ("g1", "102-0", 2)
    assert [p[0] for p in g1["pending"]] == ["100-0", "101-0"]
    assert [p[1] for p in g1["pending"]] == ["Alice", "Bob"]
    assert all(before <= p[2] <= after and p[3] == 1 for p in g1["pending"])
    alice, bob = g1["consumers"]
    assert (alice["name"], alice["pel-count"]) == ("Alice", 1)
    assert [p[0] for p in alice["pending"]] == ["100-0"]
    assert (bob["name"], bob["pel-count"]) == ("Bob", 1)
    assert [p[0] for p in bob["pending"]] == ["101-0"]
    assert all(before <= p[1] <= after and p[2] == 1 for p in alice["pending"] + bob["pending"])
    assert (g2["name"], g2["pel-count"]) == ("g2", 4)
    (charlie,) = g2["consumers"]
    assert charlie["name"] == "Charlie"
    assert [p[0] for p in charlie["pending"]] == ["100-0", "101-0", "102-0", "103-0"]


def test_xinfo_full_group_and_consumer_fields(r):
    add(r, "x", "1")
    r.xgroup_create("x", "g", "0")
    r.xgroup_createconsumer("x", "g", "never")
    before = now_ms()
    r.xreadgroup("g", "reader", {"x": ">"})
    after = now_ms()
    (grp,) = r.xinfo_stream("x", full=True)["groups"]
    assert set(grp) == {"name", "last-delivered-id", "entries-read", "lag", "pel-count",
                        "pending", "consumers"}
    never, reader = grp["consumers"]
    assert set(never) == {"name", "seen-time", "active-time", "pel-count", "pending"}
    assert (never["name"], never["active-time"], never["pel-count"], never["pending"]) == (
        "never", -1, 0, [])
    assert never["seen-time"] <= after
    assert reader["name"] == "reader"
    assert before <= reader["seen-time"] <= after
    assert before <= reader["active-time"] <= after
    assert reader["pending"] == [["1-0", reader["pending"][0][1], 1]]


def test_xinfo_full_caps_entries_and_pel_at_ten(r):
    for i in range(1, 16):
        r.xadd("s", {"a": i}, id=i)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    reply = r.xinfo_stream("s", full=True)
    assert list(reply["entries"]) == [f"{i}-0" for i in range(1, 11)]
    (grp,) = reply["groups"]
    assert grp["pel-count"] == 15
    assert [p[0] for p in grp["pending"]] == [f"{i}-0" for i in range(1, 11)]
    assert grp["consumers"][0]["pel-count"] == 15
    assert len(grp["consumers"][0]["pending"]) == 10


def test_xinfo_full_of_empty_stream(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    reply = r.xinfo_stream("s", full=True)
    assert reply["entries"] == {}
    assert reply["groups"] == [{
        "name": "g", "last-delivered-id": "0-0", "entries-read": None, "lag": 0,
        "pel-count": 0, "pending": [], "consumers": [],
    }]


# --------------------------------------------------------------------- XINFO GROUPS


def test_xinfo_groups_fields(r):
    add(r, "s", "1", "2", "3")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "a", {"s": ">"}, count=2)
    r.xreadgroup("g", "b", {"s": ">"}, count=1, noack=True)
    assert r.xinfo_groups("s") == [{
        "name": "g", "consumers": 2, "pending": 2, "last-delivered-id": "3-0",
        "entries-read": 3, "lag": 0,
    }]


def test_xinfo_groups_of_stream_without_groups(r):
    r.xadd("s", {"a": 1})
    assert r.xinfo_groups("s") == []


# -------------------------------------------------------------- entries-read and lag


def test_lag_in_empty_streams(r):
    r.xgroup_create("x", "g1", "0", mkstream=True)
    assert lag(r, name="g1") == (None, 0)
    r.xadd("x", {"data": "a"}, id="1-0")
    r.xdel("x", "1-0")
    info = r.xinfo_stream("x")
    assert (info["max-deleted-entry-id"], info["entries-added"]) == ("1-0", 1)
    assert lag(r, name="g1") == (None, 0)


def test_lag_sanity(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xgroup_create("x", "g1", "0")
    assert lag(r, name="g1") == (None, 5)
    r.xreadgroup("g1", "c11", {"x": ">"}, count=1)
    assert lag(r, name="g1") == (1, 4)
    r.xreadgroup("g1", "c12", {"x": ">"}, count=10)
    assert lag(r, name="g1") == (5, 0)
    r.xadd("x", {"data": "f"}, id="6-0")
    assert lag(r, name="g1") == (5, 1)


def test_lag_of_groups_created_at_various_ids(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xgroup_create("x", "zero", "0")
    r.xgroup_create("x", "dollar", "$")
    r.xgroup_create("x", "middle", "3-0")
    r.xgroup_create("x", "counted", "0", entries_read=0)
    r.xgroup_create("x", "mid-counted", "3-0", entries_read=3)
    r.xgroup_create("x", "future", "9-0")
    assert lag(r) == {
        "zero": (None, 5), "dollar": (None, 0), "middle": (None, None),
        "counted": (0, 5), "mid-counted": (3, 2), "future": (None, None),
    }
    r.xadd("x", {"data": "6"}, id="6-0")
    assert lag(r) == {
        "zero": (None, 6), "dollar": (None, None), "middle": (None, None),
        "counted": (0, 6), "mid-counted": (3, 3), "future": (None, None),
    }
    r.xreadgroup("middle", "c", {"x": ">"}, count=1)
    assert lag(r, name="middle") == (None, None)
    r.xreadgroup("middle", "c", {"x": ">"})
    assert lag(r, name="middle") == (6, 0)


def test_lag_with_xdels(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xdel("x", "3-0")
    r.xgroup_create("x", "g1", "0")
    r.xgroup_create("x", "g2", "0")
    assert lag(r) == {"g1": (None, None), "g2": (None, None)}
    for _ in range(3):
        r.xreadgroup("g1", "c11", {"x": ">"}, count=1)
        assert lag(r, name="g1") == (None, None)
    r.xreadgroup("g1", "c11", {"x": ">"}, count=1)
    assert lag(r, name="g1") == (5, 0)
    r.xadd("x", {"data": "f"}, id="6-0")
    assert lag(r, name="g1") == (5, 1)
    r.xtrim("x", minid="3-0", approximate=False)
    assert lag(r) == {"g1": (5, 1), "g2": (None, 3)}
    r.xtrim("x", minid="5-0", approximate=False)
    assert lag(r) == {"g1": (5, 1), "g2": (None, 2)}


def test_lag_with_tombstone_after_last_delivered_id(r):
    r.xgroup_create("x", "g1", "$", mkstream=True)
    r.xadd("x", {"data": "a"}, id="1-0")
    r.xreadgroup("g1", "alice", {"x": ">"})
    r.xadd("x", {"data": "c"}, id="2-0")
    r.xadd("x", {"data": "d"}, id="3-0")
    r.xdel("x", "2-0")
    assert lag(r, name="g1") == (1, None)
    r.xdel("x", "1-0")
    # Valkey 9: still None (Redis 8 reports 1 here; the 7.0 rules would give 2)
    assert lag(r, name="g1") == (1, None)
    r.xreadgroup("g1", "alice", {"x": ">"})
    assert lag(r, name="g1") == (3, 0)


def test_lag_when_entries_deleted_before_being_read(r):
    # valkey-io/valkey#1951
    add(r, "x", "1-0", "2-0", "3-0", "4-0")
    r.xgroup_create("x", "g1", "0")
    r.xreadgroup("g1", "c1", {"x": ">"}, count=2)
    assert lag(r, name="g1") == (2, 2)
    r.xdel("x", "3-0")
    assert lag(r, name="g1") == (2, None)
    r.xreadgroup("g1", "c1", {"x": ">"}, count=2)
    assert lag(r, name="g1") == (4, 0)


def test_lag_with_xtrim(r):
    r.xgroup_create("x", "mygroup", "$", mkstream=True)
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xreadgroup("mygroup", "alice", {"x": ">"}, count=1)
    assert lag(r, name="mygroup") == (1, 4)
    r.xtrim("x", 1, approximate=False)
    assert r.xinfo_stream("x")["max-deleted-entry-id"] == "0-0"
    # Valkey 9 keeps the counter-based lag after trimming (Redis 8 reports 1, then 0)
    assert lag(r, name="mygroup") == (1, 4)
    r.xtrim("x", 0, approximate=False)
    assert lag(r, name="mygroup") == (1, 4)


def test_entries_read_re_estimated_when_group_fell_behind_trimmed_entries(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xgroup_create("x", "g", "0")
    r.xreadgroup("g", "c", {"x": ">"}, count=1)
    r.xtrim("x", 2, approximate=False)
    assert lag(r, name="g") == (1, 4)
    # the group's last id (1-0) is now before the first entry: the counter is re-derived
    # from the delivered id instead of being incremented
    assert r.xreadgroup("g", "c", {"x": ">"}, count=1)[0][1][0][0] == "4-0"
    assert lag(r, name="g") == (4, 1)
    r.xreadgroup("g", "c", {"x": ">"})
    assert lag(r, name="g") == (5, 0)


def test_lag_group_at_last_id_is_estimable_despite_tombstones(r):
    add(r, "x", "1-0", "2-0", "3-0", "4-0", "5-0")
    r.xgroup_create("x", "mid", "3-0")
    r.xgroup_create("x", "last", "5-0")
    r.xgroup_create("x", "zero", "0")
    r.xdel("x", "4-0")
    assert lag(r) == {"last": (None, 0), "mid": (None, None), "zero": (None, None)}
    r.xdel("x", "1-0")
    assert lag(r) == {"last": (None, 0), "mid": (None, None), "zero": (None, None)}
    r.xadd("x", {"d": 1}, id="7-0")
    assert lag(r) == {"last": (None, None), "mid": (None, None), "zero": (None, None)}
    r.xreadgroup("zero", "c", {"x": ">"})
    assert lag(r, name="zero") == (6, 0)


def test_lag_after_trimming_without_tombstones_is_estimated(r):
    for i in range(1, 11):
        r.xadd("x", {"i": i}, id=i)
    r.xtrim("x", 5, approximate=False)
    r.xgroup_create("x", "g", "0")
    assert lag(r, name="g") == (None, 5)
    r.xreadgroup("g", "c", {"x": ">"}, count=1)
    assert lag(r, name="g") == (6, 4)
    r.xreadgroup("g", "c", {"x": ">"}, count=1)
    assert lag(r, name="g") == (7, 3)


def test_lag_after_first_entry_deleted(r):
    add(r, "x", "1-0", "2-0", "3-0")
    r.xdel("x", "1-0")
    r.xgroup_create("x", "g", "0")
    # the only tombstone lies before the first entry: estimable
    assert lag(r, name="g") == (None, 2)
    r.xreadgroup("g", "c", {"x": ">"}, count=1)
    assert lag(r, name="g") == (2, 1)
    r.xreadgroup("g", "c", {"x": ">"})
    assert lag(r, name="g") == (3, 0)


def test_noack_reads_update_entries_read(r):
    add(r, "x", "1", "2", "3")
    r.xgroup_create("x", "g", "0")
    r.xreadgroup("g", "c", {"x": ">"}, count=2, noack=True)
    assert lag(r, name="g") == (2, 1)


def test_setid_resets_entries_read(r):
    add(r, "x", "1", "2", "3")
    r.xgroup_create("x", "g", "0")
    r.xreadgroup("g", "c", {"x": ">"})
    assert lag(r, name="g") == (3, 0)
    r.xgroup_setid("x", "g", "2-0")
    assert lag(r, name="g") == (None, None)
    r.xgroup_setid("x", "g", "$")
    assert lag(r, name="g") == (None, 0)
    r.xgroup_setid("x", "g", "0")
    assert lag(r, name="g") == (None, 3)
    r.xgroup_setid("x", "g", "1-0", entries_read=1)
    assert lag(r, name="g") == (1, 2)


def test_entries_read_propagates_through_reads(r):
    # tcl "XREADGROUP ACK would propagate entries-read"
    r.xadd("mystream", {"a": "b", "c": "d", "e": "f"})
    r.xgroup_create("mystream", "mygroup", "$")
    r.xreadgroup("mygroup", "ryan", {"mystream": ">"}, count=1)
    r.xadd("mystream", {"a1": "b1", "a2": "b2"})
    r.xadd("mystream", {"name": "v1"})
    r.xreadgroup("mygroup", "ryan", {"mystream": ">"}, count=1)
    r.xreadgroup("mygroup", "ryan", {"mystream": ">"}, count=1)
    assert lag(r, "mystream", "mygroup") == (3, 0)


# ------------------------------------------------------------------ XINFO CONSUMERS


def test_xinfo_consumers_fields_and_order(r):
    add(r, "s", "1", "2", "3")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "b", {"s": ">"}, count=2)
    r.xreadgroup("g", "Alice", {"s": ">"}, count=1)
    r.xgroup_createconsumer("s", "g", "10")
    got = r.xinfo_consumers("s", "g")
    assert [(c["name"], c["pending"]) for c in got] == [("10", 0), ("Alice", 1), ("b", 2)]
    for c in got:
        assert set(c) == {"name", "pending", "idle", "inactive"}
        assert isinstance(c["idle"], int) and c["idle"] >= 0
        assert isinstance(c["inactive"], int)
    assert got[0]["inactive"] == -1
    assert got[1]["inactive"] >= 0 and got[2]["inactive"] >= 0


def test_inactive_is_minus_one_until_a_successful_read_or_claim(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    r.xgroup_createconsumer("s", "g", "created")
    r.xreadgroup("g", "emptyread", {"s": ">"})
    r.xreadgroup("g", "history", {"s": "0"})
    r.xadd("s", {"a": 1}, id="1")
    r.xadd("s", {"a": 2}, id="2")
    r.xreadgroup("g", "noack", {"s": ">"}, count=1, noack=True)
    r.xreadgroup("g", "reader", {"s": ">"}, count=1)
    r.xclaim("s", "g", "claimer", 0, ["2-0"])
    r.xclaim("s", "g", "claimnothing", 0, ["9-0"])
    r.xautoclaim("s", "g", "autonothing", 10**9, "0-0")
    inactive = {c["name"]: c["inactive"] for c in r.xinfo_consumers("s", "g")}
    never = {"created", "emptyread", "history", "noack", "claimnothing", "autonothing"}
    assert {name for name, value in inactive.items() if value == -1} == never
    assert all(inactive[name] >= 0 for name in ("reader", "claimer"))


def test_xinfo_consumers_missing_group(r):
    r.xadd("s", {"a": 1})
    with error("NOGROUP No such consumer group 'nog' for key name 's'"):
        r.xinfo_consumers("s", "nog")


def test_xinfo_consumers_empty_group(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert r.xinfo_consumers("s", "g") == []
