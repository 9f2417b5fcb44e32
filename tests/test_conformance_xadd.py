"""Conformance: XADD and XLEN (IDs, NOMKSTREAM, MAXLEN/MINID exact and approximate, LIMIT).

Ported from redis/redis tests/unit/type/stream.tcl; every expectation holds on Valkey 9.
Approximate trimming follows the server's node layout with the defaults
stream-node-max-entries 100 / stream-node-max-bytes 4096; entries here are kept small so
that nodes always close at 100 entries (live + deleted), never on the byte limit.
"""

from __future__ import annotations

import time

import pytest
from redis.exceptions import DataError
from streamtools import error

M = 2**64 - 1
INVALID_ID = "Invalid stream ID specified as stream command argument"
SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"
ZERO = "The ID specified in XADD must be greater than 0-0"
EXHAUSTED = "The stream has exhausted the last possible ID, unable to add more items"


def split(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def now_ms() -> int:
    return int(time.time() * 1000)


def add_many(r, key, n, **kw):
    return [r.xadd(key, {"x": j}, **kw) for j in range(n)]


# --------------------------------------------------------------------------- auto IDs


def test_xadd_then_xrange_fetches_entries(r):
    r.xadd("mystream", {"item": 1, "value": "a"})
    r.xadd("mystream", {"item": 2, "value": "b"})
    assert r.xlen("mystream") == 2
    items = r.xrange("mystream", "-", "+")
    assert [fields for _, fields in items] == [
        {"item": "1", "value": "a"},
        {"item": "2", "value": "b"},
    ]


def test_auto_id_uses_current_milliseconds(r):
    before = now_ms()
    entry_id = r.xadd("s", {"f": "v"})
    after = now_ms()
    assert isinstance(entry_id, str)
    ms, seq = split(entry_id)
    assert before <= ms <= after
    assert seq >= 0


def test_auto_ids_are_strictly_increasing(r):
    ids = [split(r.xadd("s", {"i": i})) for i in range(50)]
    assert all(a < b for a, b in zip(ids, ids[1:]))


def test_auto_ids_strictly_increasing_inside_transaction(r):
    pipe = r.pipeline()
    for i in range(3):
        pipe.xadd("s", {"item": i})
    ids = [split(i) for i in pipe.execute()]
    assert ids[0] < ids[1] < ids[2]


def test_auto_id_after_future_last_id_with_max_seq(r):
    # tcl "XADD streamID edge": the next ms with seq 0 (timestamp is far in the future)
    r.xadd("x", {"f": "v"}, id=f"2577343934890-{M}")
    assert r.xadd("x", {"f2": "v2"}) == "2577343934891-0"
    assert r.xrange("x") == [
        (f"2577343934890-{M}", {"f": "v"}),
        ("2577343934891-0", {"f2": "v2"}),
    ]


def test_auto_id_when_last_ms_is_in_the_future_increments_seq(r):
    r.xadd("z", {"a": 1}, id="99999999999999-5")
    assert r.xadd("z", {"a": 1}) == "99999999999999-6"
    assert r.xadd("z", {"a": 1}) == "99999999999999-7"


def test_auto_id_after_past_last_id_uses_clock(r):
    r.xadd("s", {"a": 1}, id=f"7-{M}")
    before = now_ms()
    ms, seq = split(r.xadd("s", {"a": 1}))
    assert ms >= before and seq == 0


def test_auto_id_when_last_ms_is_max_minus_one_with_max_seq(r):
    r.xadd("s", {"a": 1}, id=f"{M - 1}-{M}")
    assert r.xadd("s", {"a": 1}) == f"{M}-0"


def test_auto_id_error_when_overflowing(r):
    r.xadd("mystream", {"a": "b"}, id=f"{M}-{M}")
    with error(EXHAUSTED):
        r.xadd("mystream", {"c": "d"})


# ----------------------------------------------------------------------- explicit IDs


@pytest.mark.parametrize(
    "given, stored",
    [
        ("1-1", "1-1"),
        ("5", "5-0"),
        (f"{M}-{M}", f"{M}-{M}"),
        ("0-1", "0-1"),
        (f"0-{M}", f"0-{M}"),
        (1234567891230, "1234567891230-0"),
    ],
)
def test_explicit_id_is_returned_normalised(r, given, stored):
    assert r.xadd("s", {"f": "v"}, id=given) == stored
    assert r.xrange("s")[0][0] == stored


@pytest.mark.parametrize(
    "given, stored",
    [(" 7", "7-0"), ("+8", "8-0"), ("09-02", "9-2"), ("10-+3", "10-3")],
)
def test_explicit_id_number_parsing_quirks_are_accepted(r, given, stored):
    # strtoull-style parsing accepts a leading space or '+', and leading zeros
    assert r.xadd("s", {"f": "v"}, id=given) == stored


@pytest.mark.parametrize(
    "bad",
    ["1 ", "1-", "", "1.5", "0x10", "-1", "1-2-3", "18446744073709551616", f"1-{M + 1}",
     "abc", "a" * 128, "-", "+", "*-5", "*-*", "5-**", "-*", "1-x"],
)
def test_invalid_explicit_id_is_rejected_and_creates_nothing(r, bad):
    with error(INVALID_ID):
        r.xadd("q", {"a": 1}, id=bad)
    assert r.exists("q") == 0


@pytest.mark.parametrize("zero", ["0-0", "0"])
def test_id_zero_is_rejected_before_key_creation(r, zero):
    with error(ZERO):
        r.xadd("otherstream", {"k": "v"}, id=zero)
    assert r.exists("otherstream") == 0
    assert r.keys() == []


def test_id_zero_is_rejected_on_existing_stream(r):
    r.xadd("s", {"k": "v"}, id="3-3")
    with error(ZERO):
        r.xadd("s", {"k": "v"}, id="0-0")
    assert r.xlen("s") == 1


@pytest.mark.parametrize("again", ["5-0", "5", "4-9", "1-0", "0-1", "4-*", "3-*"])
def test_equal_or_smaller_explicit_id_is_rejected(r, again):
    r.xadd("s", {"a": 1}, id="5-0")
    with error(SMALLER):
        r.xadd("s", {"a": 2}, id=again)
    assert r.xlen("s") == 1


def test_explicit_id_must_exceed_last_generated_even_after_xdel(r):
    # tcl "Blocking XREAD for stream that ran dry (issue #5299)"
    r.xadd("mystream", {"key": "value"}, id="666")
    r.xdel("mystream", "666")
    for again in ("665", "666"):
        with error(SMALLER):
            r.xadd("mystream", {"key": "value"}, id=again)
    assert r.xadd("mystream", {"key": "value"}, id="667") == "667-0"


def test_explicit_id_must_exceed_last_generated_even_after_trim(r):
    r.xadd("s", {"a": 1}, id="10-0")
    r.xtrim("s", 0, approximate=False)
    with error(SMALLER):
        r.xadd("s", {"a": 1}, id="9-0")
    assert r.xadd("s", {"a": 1}, id="10-1") == "10-1"


def test_exhausted_stream_rejects_every_add(r):
    r.xadd("mm", {"a": 1}, id=f"{M}-{M}")
    for kwargs in ({}, {"id": "5-*"}, {"id": f"{M}-*"}, {"id": "0-*"}, {"id": "1-1"}):
        with error(EXHAUSTED):
            r.xadd("mm", {"a": 1}, **kwargs)
    # the 0-0 check still comes first
    with error(ZERO):
        r.xadd("mm", {"a": 1}, id="0-0")
    assert r.xlen("mm") == 1


# ------------------------------------------------------------------------- <ms>-* IDs


def test_ms_star_increments_sequence_of_last_id(r):
    id1 = r.xadd("mystream", {"item": 1}, id="123-456")
    id2 = r.xadd("mystream", {"item": 2}, id="123-*")
    assert id2 == "123-457"
    assert split(id1) < split(id2)


def test_ms_star_is_zero_for_future_timestamp(r):
    r.xadd("mystream", {"item": 1}, id="123-456")
    assert r.xadd("mystream", {"item": 2}, id="789-*") == "789-0"


def test_ms_star_cannot_be_smaller_than_last_id(r):
    r.xadd("mystream", {"item": 1}, id="123-456")
    with error(SMALLER):
        r.xadd("mystream", {"item": 2}, id="42-*")


def test_ms_star_cannot_overflow_sequence(r):
    # 7.0 said "Elements are too large to be stored"; 7.2+/Valkey say "equal or smaller"
    r.xadd("mystream", {"a": "b"}, id=f"1-{M}")
    with error(SMALLER):
        r.xadd("mystream", {"c": "d"}, id="1-*")


def test_zero_star_on_new_stream_gives_zero_one(r):
    assert r.xadd("mystream", {"a": "b"}, id="0-*") == "0-1"
    assert r.xadd("mystream", {"a": "b"}, id="0-*") == "0-2"


def test_ms_star_after_plain_ms_id(r):
    assert r.xadd("s", {"a": 1}, id="3") == "3-0"
    assert r.xadd("s", {"a": 1}, id="3-*") == "3-1"


def test_max_ms_star_with_room_in_sequence(r):
    r.xadd("m", {"a": 1}, id=f"{M}-5")
    assert r.xadd("m", {"a": 1}, id=f"{M}-*") == f"{M}-6"
    assert r.xadd("m", {"a": 1}) == f"{M}-7"


# ---------------------------------------------------------------------------- fields


def test_field_order_and_str_conversion(r):
    r.xadd("s", {"z": 1, "a": 1.5, "m": "text", "b": b"raw"}, id="1-0")
    (entry_id, fields), = r.xrange("s")
    assert entry_id == "1-0"
    assert list(fields.items()) == [("z", "1"), ("a", "1.5"), ("m", "text"), ("b", "raw")]


def test_empty_field_name_and_value_are_kept(r):
    r.xadd("s", {"": "", "k": ""}, id="1-0")
    assert r.xrange("s") == [("1-0", {"": "", "k": ""})]


def test_many_fields_round_trip(r):
    fields = {f"f{i}": f"v{i}" for i in range(200)}
    r.xadd("s", fields, id="1-0")
    assert r.xrange("s")[0][1] == fields


def test_unicode_fields_round_trip(r):
    fields = {"naïve": "café ☕", "日本": "語", "nul\x00in": "side\x00"}
    r.xadd("s", fields, id="1-0")
    assert r.xrange("s") == [("1-0", fields)]


# ------------------------------------------------------------------------ NOMKSTREAM


def test_nomkstream_on_missing_key_returns_none_and_creates_nothing(r):
    assert r.xadd("mystream", {"item": 1}, nomkstream=True) is None
    assert r.exists("mystream") == 0


def test_nomkstream_on_existing_key_adds(r):
    r.xadd("mystream", {"item": 1, "value": "a"})
    assert r.xadd("mystream", {"item": 2, "value": "b"}, nomkstream=True) is not None
    assert r.xlen("mystream") == 2
    assert [f for _, f in r.xrange("mystream")] == [
        {"item": "1", "value": "a"},
        {"item": "2", "value": "b"},
    ]


def test_nomkstream_still_validates_id_first(r):
    with error(ZERO):
        r.xadd("nm", {"a": 1}, id="0-0", nomkstream=True)
    with error(INVALID_ID):
        r.xadd("nm", {"a": 1}, id="bad", nomkstream=True)
    assert r.exists("nm") == 0


def test_nomkstream_on_emptied_stream_adds(r):
    r.xadd("s", {"a": 1}, id="1")
    r.xdel("s", "1")
    assert r.xadd("s", {"a": 2}, id="2", nomkstream=True) == "2-0"


# ---------------------------------------------------------------------- MAXLEN/MINID


def test_maxlen_exact(r):
    for j in range(1000):
        field = "xitem" if j % 10 else "yitem"
        r.xadd("mystream", {field: j}, maxlen=5, approximate=False)
    assert r.xlen("mystream") == 5
    assert [int(list(f.values())[0]) for _, f in r.xrange("mystream")] == list(range(995, 1000))


def test_maxlen_approximate_keeps_whole_nodes(r):
    # tcl: 1000 adds with MAXLEN ~ 555 and 100-entry nodes -> 600 entries
    for j in range(1000):
        r.xadd("mystream", {"xitem" if j % 10 else "yitem": j}, maxlen=555)
    assert r.xlen("mystream") == 600
    assert r.xrange("mystream", count=1)[0][1] == {"yitem": "400"}
    assert r.xrevrange("mystream", count=1)[0][1] == {"xitem": "999"}


def test_maxlen_defaults_to_approximate(r):
    for j in range(1000):
        r.xadd("s", {"x": j}, maxlen=5)
    # a partial node is never trimmed by '~': the last full node survives
    assert r.xlen("s") == 100
    assert r.xrange("s", count=1)[0][1] == {"x": "900"}


def test_maxlen_larger_than_length_trims_nothing(r):
    add_many(r, "s", 100)
    r.xadd("s", {"x": "v"}, maxlen=200, approximate=False)
    assert r.xlen("s") == 101


def test_maxlen_zero_creates_an_empty_stream(r):
    entry_id = r.xadd("mystream", {"a": "b"}, maxlen=0)
    assert r.xlen("mystream") == 0
    assert r.exists("mystream") == 1
    info = r.xinfo_stream("mystream")
    assert info["length"] == 0
    assert info["last-generated-id"] == entry_id
    assert info["entries-added"] == 1
    assert info["first-entry"] is None and info["last-entry"] is None


def test_maxlen_zero_exact_on_existing_stream(r):
    add_many(r, "s", 10)
    r.xadd("s", {"x": "v"}, maxlen=0, approximate=False)
    assert r.xlen("s") == 0
    assert r.xrange("s") == []


def test_minid_exact(r):
    for j in range(1, 1001):
        minid = 1000 if j < 5 else j - 5
        r.xadd("mystream", {"xitem": j}, id=j, minid=minid, approximate=False)
    assert r.xlen("mystream") == 6
    assert [f["xitem"] for _, f in r.xrange("mystream")] == [str(i) for i in range(995, 1001)]


def test_minid_approximate_keeps_whole_nodes(r):
    for j in range(1, 1001):
        r.xadd("s", {"x": j}, id=j)
    r.xadd("s", {"x": "new"}, id=1001, minid=555)
    # nodes hold ids 1-100, 101-200, ...: the node holding 555 stays
    assert r.xrange("s", count=1)[0][0] == "501-0"
    assert r.xlen("s") == 501


def test_minid_greater_than_last_id_empties_stream(r):
    for j in range(1, 101):
        r.xadd("s", {"x": j}, id=j)
    r.xadd("s", {"x": "v"}, id="101", minid="500", approximate=False)
    assert r.xlen("s") == 0
    assert r.exists("s") == 1


def test_minid_applies_after_the_new_entry(r):
    r.xadd("s", {"x": 1}, id="1")
    r.xadd("s", {"x": 2}, id="2")
    # the entry being added is itself below MINID: it is trimmed away too
    assert r.xadd("s", {"x": 3}, id="3", minid="10", approximate=False) == "3-0"
    assert r.xlen("s") == 0


@pytest.mark.parametrize("bad", ["-", "+", "bad", "1-x"])
def test_minid_invalid_id(r, bad):
    with error(INVALID_ID):
        r.xadd("s", {"a": 1}, minid=bad)
    assert r.exists("s") == 0


# ---------------------------------------------------------------------------- LIMIT


def test_limit_deletes_no_more_than_limit(r):
    for _ in range(3):
        r.xadd("yourstream", {"xitem": "v"})
    r.xadd("yourstream", {"xitem": "v"}, maxlen=0, limit=1)
    assert r.xlen("yourstream") == 4


def test_limit_consecutive_calls(r):
    add_many(r, "s", 1000)
    r.xadd("s", {"x": "v"}, maxlen=550, limit=300)
    assert r.xlen("s") == 701
    r.xadd("s", {"x": "v"}, maxlen=550, limit=300)
    assert r.xlen("s") == 602
    r.xadd("s", {"x": "v"}, maxlen=550, limit=300)
    assert r.xlen("s") == 603


def test_limit_without_trim_strategy_is_a_syntax_error(r):
    with error("syntax error, LIMIT cannot be used without specifying a trimming strategy"):
        r.xadd("s", {"a": 1}, limit=5)
    assert r.exists("s") == 0


def test_limit_with_exact_trim_is_a_syntax_error(r):
    with error("syntax error, LIMIT cannot be used without the special ~ option"):
        r.xadd("s", {"a": 1}, maxlen=1, approximate=False, limit=5)


# ------------------------------------------------------------------------------ XLEN


def test_xlen_missing_key_is_zero(r):
    assert r.xlen("nokey") == 0


def test_xlen_counts_mass_insertion(r):
    for j in range(500):
        r.xadd("mystream", {"item": j} if j % 10 else {"item": j, "otherfield": "foo"})
    assert r.xlen("mystream") == 500
    items = r.xrange("mystream")
    assert [int(f["item"]) for _, f in items] == list(range(500))


# ------------------------------------------------------------- client-side DataErrors


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"fields": {}}, "XADD fields must be a non-empty dict"),
        ({"fields": [("a", 1)]}, "XADD fields must be a non-empty dict"),
        ({"fields": {"a": 1}, "maxlen": -1}, "XADD maxlen must be non-negative integer"),
        ({"fields": {"a": 1}, "maxlen": "5"}, "XADD maxlen must be non-negative integer"),
        ({"fields": {"a": 1}, "maxlen": 1, "minid": "1"},
         "Only one of ```maxlen``` or ```minid``` may be specified"),
    ],
)
def test_xadd_data_errors(r, kwargs, text):
    with error(text, DataError):
        r.xadd("s", **kwargs)
    assert r.exists("s") == 0
