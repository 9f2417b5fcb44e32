"""Property tests (hypothesis) against the client API, on both backends.

* ID ordering: auto IDs strictly increase; explicit and ``<ms>-*`` IDs are accepted
  iff they are strictly greater than the last generated ID (with the exact error
  otherwise).
* Round trip: arbitrary field dicts (text and bytes) come back unchanged and in order.
* PEL: random sequences of XADD/XREADGROUP/XACK/XCLAIM/XAUTOCLAIM/XDEL agree with a
  model, and the PEL invariants hold after every step.
* entries-read/lag: random sequences of adds, deletes, trims, reads, group creation and
  SETID agree with a model of the live server's accounting (see
  test_conformance_xinfo_lag.py for the rules in words).

Fixtures are function-scoped, so every example starts by deleting the keys it uses.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ResponseError

M = 2**64 - 1
SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"
ZERO = "The ID specified in XADD must be greater than 0-0"
EXHAUSTED = "The stream has exhausted the last possible ID, unable to add more items"
NOW = int(time.time() * 1000)

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def parse(entry_id) -> tuple[int, int]:
    if isinstance(entry_id, bytes):
        entry_id = entry_id.decode()
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def fmt(pair: tuple[int, int]) -> str:
    return f"{pair[0]}-{pair[1]}"


# ------------------------------------------------------------------------ ID ordering

ms_values = st.one_of(
    st.integers(0, 5),
    st.integers(NOW - 3, NOW + 3),
    st.sampled_from([M - 1, M]),
    st.integers(0, M),
)
seq_values = st.one_of(st.integers(0, 3), st.sampled_from([M - 1, M]), st.integers(0, M))
id_ops = st.lists(
    st.one_of(
        st.just(("auto",)),
        st.tuples(st.just("explicit"), ms_values, seq_values),
        st.tuples(st.just("ms-*"), ms_values),
    ),
    min_size=1,
    max_size=15,
)


@SETTINGS
@given(ops=id_ops)
def test_ids_accepted_iff_strictly_greater(r, ops):
    r.delete("ids")
    last = (0, 0)
    accepted = []
    for op in ops:
        if op[0] == "explicit":
            wanted = (op[1], op[2])
            if wanted == (0, 0):
                expect = ZERO
            elif last == (M, M):
                expect = EXHAUSTED
            elif wanted <= last:
                expect = SMALLER
            else:
                expect = wanted
            arg = fmt(wanted)
        elif op[0] == "ms-*":
            ms = op[1]
            if last == (M, M):
                expect = EXHAUSTED
            elif ms < last[0] or (ms == last[0] and last[1] == M):
                expect = SMALLER
            elif ms == last[0]:
                expect = (ms, last[1] + 1)
            else:
                expect = (ms, 0)
            arg = f"{ms}-*"
        else:
            expect = EXHAUSTED if last == (M, M) else None
            arg = "*"

        before = int(time.time() * 1000)
        if isinstance(expect, str):
            with pytest.raises(ResponseError) as info:
                r.xadd("ids", {"op": op[0]}, id=arg)
            assert str(info.value) == expect
            continue
        got = parse(r.xadd("ids", {"op": op[0]}, id=arg))
        after = int(time.time() * 1000)
        if expect is not None:
            assert got == expect
        else:
            assert got > last
            if last[0] < before:
                assert before <= got[0] <= after and got[1] == 0
            elif last[1] < M:
                assert got in ((last[0], last[1] + 1), (got[0], 0))
        last = got
        accepted.append(got)

    assert [parse(i) for i, _ in r.xrange("ids")] == accepted
    assert accepted == sorted(set(accepted))
    if accepted:
        assert parse(r.xinfo_stream("ids")["last-generated-id"]) == last


@SETTINGS
@given(n=st.integers(2, 40))
def test_auto_ids_strictly_increase(r, n):
    r.delete("auto")
    ids = [parse(r.xadd("auto", {"i": i})) for i in range(n)]
    assert all(a < b for a, b in zip(ids, ids[1:]))


# ------------------------------------------------------------------------ round trip

text_fields = st.dictionaries(st.text(max_size=20), st.text(max_size=60), min_size=1, max_size=8)
byte_fields = st.dictionaries(
    st.binary(max_size=20), st.binary(max_size=60), min_size=1, max_size=8
)


@SETTINGS
@given(entries=st.lists(text_fields, min_size=1, max_size=5))
def test_text_fields_round_trip(r, entries):
    r.delete("rt")
    ids = [r.xadd("rt", fields) for fields in entries]
    got = r.xrange("rt")
    assert [i for i, _ in got] == ids
    for (_, fields), sent in zip(got, entries):
        assert list(fields.items()) == list(sent.items())
    assert r.xrevrange("rt") == got[::-1]
    assert r.xread({"rt": "0"}) == [["rt", got]]
    for entry_id, fields in got:
        assert r.xrange("rt", entry_id, entry_id) == [(entry_id, fields)]


@SETTINGS
@given(entries=st.lists(byte_fields, min_size=1, max_size=5))
def test_binary_fields_round_trip(rb, entries):
    rb.delete(b"rt\xff")
    ids = [rb.xadd(b"rt\xff", fields) for fields in entries]
    got = rb.xrange(b"rt\xff")
    assert [i for i, _ in got] == ids
    for (_, fields), sent in zip(got, entries):
        assert list(fields.items()) == list(sent.items())
    assert rb.xrevrange(b"rt\xff") == got[::-1]
    assert rb.xread({b"rt\xff": b"0"}) == [[b"rt\xff", got]]


# ------------------------------------------------------------------------------ PEL

consumer_names = st.sampled_from(["alice", "bob", "carol"])
PEL_OPS = ["add"] * 3 + ["read"] * 3 + ["del"] * 2 + ["history"] * 2 + ["claim"] * 2 + [
    "ack", "autoclaim",
]


def entry(i: int):
    return (f"{i}-0", {"n": str(i)})


@SETTINGS
@given(data=st.data())
def test_pel_matches_model_and_invariants_hold(r, data):
    r.delete("s")
    r.xgroup_create("s", "g", "$", mkstream=True)
    existing: list[int] = []
    added: set[int] = set()
    next_id = 1
    last_delivered = 0
    pel: dict[int, list] = {}  # id -> [consumer, times_delivered]
    consumers: set[str] = set()

    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        kind = data.draw(st.sampled_from(PEL_OPS))
        # ids to act on: mostly ones that were added (pending, acked or deleted), plus one
        # that never existed
        candidates = sorted(added) + [next_id + 7]
        picks = st.lists(st.sampled_from(candidates), min_size=1, max_size=4)
        if kind == "add":
            op = (kind, data.draw(st.integers(1, 3)))
        elif kind == "read":
            op = (kind, data.draw(consumer_names), data.draw(st.integers(1, 4)),
                  data.draw(st.booleans()))
        elif kind == "history":
            op = (kind, data.draw(consumer_names))
        elif kind in ("ack", "del"):
            op = (kind, data.draw(picks))
        elif kind == "claim":
            op = (kind, data.draw(consumer_names), data.draw(picks), data.draw(st.booleans()))
        else:
            op = (kind, data.draw(consumer_names), data.draw(st.booleans()))
        if kind == "add":
            for _ in range(op[1]):
                r.xadd("s", {"n": next_id}, id=next_id)
                existing.append(next_id)
                added.add(next_id)
                next_id += 1
        elif kind == "read":
            _, consumer, count, noack = op
            consumers.add(consumer)
            new = [i for i in existing if i > last_delivered][:count]
            got = r.xreadgroup("g", consumer, {"s": ">"}, count=count, noack=noack)
            assert got == ([["s", [entry(i) for i in new]]] if new else [])
            for i in new:
                last_delivered = i
                if not noack:
                    pel[i] = [consumer, 1]
        elif kind == "history":
            consumer = op[1]
            consumers.add(consumer)
            mine = sorted(i for i, (owner, _) in pel.items() if owner == consumer)
            got = r.xreadgroup("g", consumer, {"s": "0"})
            assert got == [["s", [entry(i) if i in existing else (f"{i}-0", {}) for i in mine]]]
            for i in mine:
                if i in existing:
                    pel[i][1] += 1
        elif kind == "ack":
            ids = op[1]
            assert r.xack("s", "g", *[f"{i}-0" for i in ids]) == len(set(ids) & set(pel))
            for i in ids:
                pel.pop(i, None)
        elif kind == "claim":
            _, consumer, ids, justid = op
            consumers.add(consumer)
            expect = []
            for i in ids:
                if i not in existing:
                    pel.pop(i, None)
                elif i in pel:
                    pel[i] = [consumer, pel[i][1] + (0 if justid else 1)]
                    expect.append(f"{i}-0" if justid else entry(i))
            got = r.xclaim("s", "g", consumer, 0, [f"{i}-0" for i in ids], justid=justid)
            assert got == expect
        elif kind == "autoclaim":
            _, consumer, justid = op
            consumers.add(consumer)
            claimed, deleted = [], []
            for i in sorted(pel):
                if i not in existing:
                    deleted.append(f"{i}-0")
                    del pel[i]
                else:
                    pel[i] = [consumer, pel[i][1] + (0 if justid else 1)]
                    claimed.append(i)
            got = r.xautoclaim("s", "g", consumer, 0, "0-0", justid=justid)
            if justid:
                assert got == [f"{i}-0" for i in claimed]
            else:
                assert got == ["0-0", [entry(i) for i in claimed], deleted]
        elif kind == "del":
            ids = op[1]
            assert r.xdel("s", *[f"{i}-0" for i in ids]) == len(set(ids) & set(existing))
            existing = [i for i in existing if i not in ids]

        # ---- invariants after every step
        summary = r.xpending("s", "g")
        rows = r.xpending_range("s", "g", "-", "+", 1000)
        assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in rows] == [
            (f"{i}-0", owner, count) for i, (owner, count) in sorted(pel.items())
        ]
        assert summary["pending"] == len(rows) == sum(c["pending"] for c in summary["consumers"])
        per_consumer: dict[str, int] = {}
        for p in rows:
            per_consumer[p["consumer"]] = per_consumer.get(p["consumer"], 0) + 1
        assert summary["consumers"] == [
            {"name": name, "pending": n} for name, n in sorted(per_consumer.items())
        ]
        assert summary["min"] == (rows[0]["message_id"] if rows else None)
        assert summary["max"] == (rows[-1]["message_id"] if rows else None)
        for p in rows:
            pid = parse(p["message_id"])
            assert pid[0] in added and pid <= (last_delivered, 0)
        (group,) = r.xinfo_groups("s")
        assert group["pending"] == len(rows)
        assert group["last-delivered-id"] == f"{last_delivered}-0"
        info = {c["name"]: c["pending"] for c in r.xinfo_consumers("s", "g")}
        assert set(info) == consumers
        assert all(info[name] == per_consumer.get(name, 0) for name in info)


# ------------------------------------------------------------------- entries-read / lag


class LagModel:
    """The live server's entries-read / lag accounting (Valkey 9)."""

    def __init__(self):
        self.entries: list[tuple[int, int]] = []
        self.last = (0, 0)
        self.max_deleted = (0, 0)
        self.added = 0
        self.groups: dict[str, list] = {}  # name -> [entries_read or None, last_id]

    @property
    def first(self):
        return self.entries[0] if self.entries else (0, 0)

    def has_tombstone(self, start):
        return bool(self.entries) and self.max_deleted != (0, 0) and start <= self.max_deleted

    def estimate(self, entry_id):
        if not self.added:
            return 0
        if not self.entries and entry_id <= self.last:
            return self.added
        if entry_id != (0, 0) and entry_id < self.max_deleted:
            return None
        if entry_id == self.last:
            return self.added
        if entry_id > self.last:
            return None
        if self.max_deleted == (0, 0) or self.max_deleted < self.first:
            if entry_id < self.first:
                return self.added - len(self.entries)
            if entry_id == self.first:
                return self.added - len(self.entries) + 1
        return None

    def lag(self, name):
        entries_read, last = self.groups[name]
        if not self.added:
            return 0
        if entries_read is not None and not self.has_tombstone(last):
            return self.added - entries_read
        estimate = self.estimate(last)
        return None if estimate is None else self.added - estimate

    def deliver(self, name, count):
        state = self.groups[name]
        served = [e for e in self.entries if e > state[1]][:count]
        for entry_id in served:
            if (state[0] is not None and state[1] >= self.first
                    and not self.has_tombstone(state[1])):
                state[0] += 1
            elif self.added:
                state[0] = self.estimate(entry_id)
            state[1] = entry_id
        return served


@SETTINGS
@given(data=st.data())
def test_entries_read_and_lag_match_model(r, data):
    r.delete("lag")
    model = LagModel()
    r.xgroup_create("lag", "g0", "0", mkstream=True)
    model.groups["g0"] = [None, (0, 0)]
    next_ms = 1
    steps = data.draw(st.integers(1, 40), label="steps")
    for _ in range(steps):
        op = data.draw(st.sampled_from(
            ["add"] * 3 + ["read"] * 3 + ["del"] * 2 + ["create", "setid", "trim", "minid"]
        ))
        if op == "add":
            next_ms += data.draw(st.integers(1, 2))
            r.xadd("lag", {"f": "v"}, id=f"{next_ms}-0")
            model.entries.append((next_ms, 0))
            model.last = (next_ms, 0)
            model.added += 1
        elif op == "del" and model.entries:
            victim = data.draw(st.sampled_from(model.entries + [(next_ms + 5, 0)]))
            r.xdel("lag", fmt(victim))
            if victim in model.entries:
                model.entries.remove(victim)
                model.max_deleted = max(model.max_deleted, victim)
        elif op == "read":
            name = data.draw(st.sampled_from(sorted(model.groups)))
            count = data.draw(st.sampled_from([1, 2, 100]))
            served = model.deliver(name, count)
            got = r.xreadgroup(name, "c", {"lag": ">"}, count=count)
            assert [parse(i) for i, _ in (got[0][1] if got else [])] == served
        elif op == "create":
            name = f"g{len(model.groups)}"
            how = data.draw(st.sampled_from(["0", "$", "entry", "any", "counted"]))
            entries_read = None
            if how == "0":
                start = (0, 0)
            elif how == "$":
                start = model.last
            elif how == "entry" and model.entries:
                start = data.draw(st.sampled_from(model.entries))
            elif how == "counted":
                start, entries_read = model.last, model.added
            else:
                start = (data.draw(st.integers(0, next_ms + 3)), 0)
            if entries_read is None:
                r.xgroup_create("lag", name, fmt(start))
            else:
                r.xgroup_create("lag", name, fmt(start), entries_read=entries_read)
            model.groups[name] = [entries_read, start]
        elif op == "setid":
            name = data.draw(st.sampled_from(sorted(model.groups)))
            start = (data.draw(st.integers(0, next_ms + 2)), 0)
            r.xgroup_setid("lag", name, fmt(start))
            model.groups[name] = [None, start]
        elif op == "trim" and model.entries:
            keep = data.draw(st.integers(0, len(model.entries)))
            r.xtrim("lag", keep, approximate=False)
            model.entries = model.entries[len(model.entries) - keep:] if keep else []
        elif op == "minid":
            bound = (data.draw(st.integers(0, next_ms + 1)), 0)
            r.xtrim("lag", minid=fmt(bound), approximate=False)
            model.entries = [e for e in model.entries if e >= bound]

        got = {
            g["name"]: (g["entries-read"], g["lag"], g["last-delivered-id"])
            for g in r.xinfo_groups("lag")
        }
        assert got == {
            name: (state[0], model.lag(name), fmt(state[1]))
            for name, state in model.groups.items()
        }
        info = r.xinfo_stream("lag")
        assert info["max-deleted-entry-id"] == fmt(model.max_deleted)
        assert info["entries-added"] == model.added
        assert info["length"] == len(model.entries)
