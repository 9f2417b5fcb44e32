"""Fuzzing bad input, through the library and the command line: for every input either a
correct result or a clear error, and on error the database unchanged.

Library (differential: the SQLite engine must answer exactly what the live Valkey server
answers, result or error text):

* ID arguments of every command that takes one: arbitrary text and bytes (signs,
  blanks, NUL, invalid UTF-8, 128+ characters, out-of-range numbers);
* field names and values: empty, NUL bytes, invalid UTF-8, many fields, 1 MB values; and
  a 64 MB value (SQLite only: it round-trips);
* SQLite's own length limit (a lowered ``SQLITE_LIMIT_LENGTH``): a clear
  ``DatabaseError``, nothing written.

Command line (the installed executable, and the Typer app in-process for hypothesis):
malformed FIELD=VALUE, ``--data`` and ``--batch`` JSON, non-UTF-8 input, impossible
argument combinations and bad numbers: exit code as documented (2 usage, 3 refused, 4 not
found), one line on stderr, never an "internal error", database unchanged.

Size limits (documented in the report/README): one message (all its fields and values,
packed) must fit in one SQLite BLOB: 1,000,000,000 bytes with Python's default SQLite
build (``SQLITE_MAX_LENGTH``); Redis/Valkey take 512 MB per argument
(``proto-max-bulk-len``). ``FIELD=VALUE`` words are limited by the OS (128 KiB per word
on Linux, ``MAX_ARG_STRLEN``); larger values go through ``--data @FILE``, ``--data -``
or ``--batch``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamctl
from streamctl.errors import DatabaseError

BIN = os.path.join(os.path.dirname(sys.executable), "streamctl")
M = 2**64 - 1
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(path: str) -> list[str]:
    """Everything in the database (schema and rows), as SQL text, from a new connection."""
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


TIME_KEYS = {"time_since_delivered", "idle", "inactive", b"idle", b"inactive"}


def untimed(value):
    """``value`` without wall-clock-dependent numbers (XPENDING idle times)."""
    if isinstance(value, list):
        return [untimed(v) for v in value]
    if isinstance(value, dict):
        return {k: ("time" if k in TIME_KEYS else untimed(v)) for k, v in value.items()}
    return value


def outcome(fn, client):
    try:
        return ("ok", untimed(fn(client)))
    except redis.exceptions.DataError as exc:
        return ("DataError", str(exc))
    except redis.exceptions.ResponseError as exc:
        return ("ResponseError", str(exc))
    except UnicodeError as exc:
        return (type(exc).__name__,)


@pytest.fixture
def pair(valkey_url, db_path):
    """Bytes clients on a fresh SQLite file and on the Valkey server."""
    sqlite = streamctl.connect(db_path, decode_responses=False)
    valkey = redis.Redis.from_url(valkey_url, decode_responses=False)
    try:
        yield sqlite, valkey
    finally:
        sqlite.close()
        valkey.flushdb()
        valkey.close()


def setup_state(client) -> None:
    client.flushdb()
    client.xadd("k", {"f": "1"}, id="1-1")
    client.xadd("k", {"f": "2"}, id="2-2")
    client.xadd("k", {"f": "3"}, id=f"3-{M}")
    client.xgroup_create("k", "g", "0")
    client.xreadgroup("g", "c", {"k": ">"}, count=2)


# ---------------------------------------------------------------------- IDs, library

ID_ALPHABET = "0123456789-+*$>( \t\x00abex."
id_text = st.one_of(
    st.text(ID_ALPHABET, max_size=12),
    st.text(max_size=8),
    st.builds(lambda a, b: f"{a}-{b}", st.integers(-5, 2**65), st.integers(-5, 2**65)),
    st.sampled_from(
        [
            "",
            "-",
            "+",
            "$",
            ">",
            "*",
            "1-*",
            "0-0",
            f"{M}-{M}",
            f"{M + 1}",
            "1" * 128,
            "1" * 127,
            "01",
            "-0",
            "+1",
            " 1",
            "1 ",
            "1-",
            "-1-1",
            "\x001",
            "1\x00junk",
            "(1",
            "((1",
            "(+",
            "(-",
        ]
    ),
)
id_bytes = st.one_of(
    id_text.map(lambda s: s.encode("utf-8")),
    st.binary(max_size=10),
    st.sampled_from([b"\xff", b"1-\xff", b"\xc3(", b"1\x80-1"]),
).filter(lambda b: not (b[:1] in b"$>+*" and b[1:2] == b"\x00"))  # see the test below

ID_COMMANDS = {
    "xadd": lambda r, i: r.xadd("k", {"a": "b"}, id=i),
    "xadd-new": lambda r, i: r.xadd("new", {"a": "b"}, id=i),
    "xrange-min": lambda r, i: r.xrange("k", min=i),
    "xrange-max": lambda r, i: r.xrange("k", max=i),
    "xrevrange": lambda r, i: r.xrevrange("k", max=i, min="-"),
    "xdel": lambda r, i: r.xdel("k", i),
    "xack": lambda r, i: r.xack("k", "g", i),
    "xgroup_create": lambda r, i: r.xgroup_create("k", "g2", id=i),
    "xgroup_setid": lambda r, i: r.xgroup_setid("k", "g", i),
    "xreadgroup": lambda r, i: r.xreadgroup("g", "c", {"k": i}),
    "xread": lambda r, i: r.xread({"k": i}),
    "xautoclaim": lambda r, i: r.xautoclaim("k", "g", "c", 0, start_id=i),
    "xpending_range": lambda r, i: r.xpending_range("k", "g", min=i, max="+", count=10),
    "xclaim": lambda r, i: r.xclaim("k", "g", "c2", 0, [i]),
    "xtrim-minid": lambda r, i: r.xtrim("k", minid=i),
    "xadd-minid": lambda r, i: r.xadd("k", {"a": "b"}, id="9-9", minid=i),
}


@SETTINGS
@given(raw=id_bytes, command=st.sampled_from(sorted(ID_COMMANDS)))
def test_any_id_argument_gets_the_servers_answer_and_errors_change_nothing(pair, raw, command):
    sqlite, valkey = pair
    fn = ID_COMMANDS[command]
    setup_state(sqlite)
    setup_state(valkey)
    before = snapshot(sqlite.path)
    got = outcome(lambda r: fn(r, raw), sqlite)
    want = outcome(lambda r: fn(r, raw), valkey)
    if raw.split(b"\0", 1)[0] == b"*":  # an auto ID: its ms is each server's clock
        got, want = auto_id_untimed(got), auto_id_untimed(want)
    assert got == want, (command, raw)
    if got[0] != "ok":
        assert snapshot(sqlite.path) == before


def auto_id_untimed(result):
    """An XADD outcome with the milliseconds of an auto-generated ID left out."""
    if result[0] == "ok" and isinstance(result[1], bytes) and b"-" in result[1]:
        return ("ok", b"<ms>-" + result[1].split(b"-", 1)[1])
    return result


NAME_COMMANDS = {
    "xreadgroup": lambda r, n: r.xreadgroup(n, n, {n: ">"}),
    "xreadgroup-key": lambda r, n: r.xreadgroup("g", n, {"k": ">", n: ">"}),
    "xpending": lambda r, n: r.xpending("k", n),
    "xgroup_setid": lambda r, n: r.xgroup_setid("k", n, "0"),
    "xgroup_create": lambda r, n: r.xgroup_create(n, "g", "0"),
    "xgroup_create-new": lambda r, n: (r.xgroup_create("k", n, "0"), r.xinfo_groups("k")),
    "xgroup_createconsumer": lambda r, n: r.xgroup_createconsumer("k", n, n),
    "xinfo_consumers": lambda r, n: r.xinfo_consumers("k", n),
    # (\x01: never a valid option, so the option is always echoed in the error)
    "xclaim-option": lambda r, n: r.execute_command("XCLAIM", "k", "g", "c", 0, "1-1", n + b"\x01"),
    "xautoclaim": lambda r, n: r.xautoclaim(n, "g", n, 0),
    "xgroup-subcommand": lambda r, n: r.execute_command("XGROUP", n, "k", "g"),
    "unknown-command": lambda r, n: r.execute_command(b"X" + n, "k"),
}


@SETTINGS
@given(
    name=st.one_of(
        st.binary(max_size=8),
        st.sampled_from([b"", b"\x00", b"a\x00b", b"a\nb", b"a\r\nb", b"\xff", b"'", b"g"]),
    ),
    command=st.sampled_from(sorted(NAME_COMMANDS)),
)
def test_any_key_group_or_consumer_name_gets_the_servers_answer(pair, name, command):
    sqlite, valkey = pair
    fn = NAME_COMMANDS[command]
    setup_state(sqlite)
    setup_state(valkey)
    before = snapshot(sqlite.path)
    got = outcome(lambda r: fn(r, name), sqlite)
    assert got == outcome(lambda r: fn(r, name), valkey), (command, name)
    if got[0] != "ok":
        assert snapshot(sqlite.path) == before


def test_special_ids_and_keywords_end_at_a_nul_byte_as_on_the_server(pair):
    # The server compares '$', '>', '+', '*' and option names as C strings: "$\0junk" is
    # "$" and "COUNT\0x" is COUNT there.
    sqlite, valkey = pair
    calls = [
        lambda r: r.xgroup_create("k", "g2", id=b"$\x00"),
        lambda r: r.xread({"k": b"+\x00"}),
        lambda r: r.xreadgroup("g", "c", {"k": b">\x00"}),
        lambda r: r.xadd("k", {"a": "b"}, id=b"*\x00"),
        lambda r: r.execute_command("XRANGE", "k", "-", "+", b"COUNT\x00x", 1),
    ]
    for call in calls:
        setup_state(sqlite)
        setup_state(valkey)
        # (compare the kind of answer: an auto ID's time differs)
        assert outcome(call, sqlite)[0] == outcome(call, valkey)[0]


# --------------------------------------------------------------- fields, library

field_bytes = st.one_of(
    st.binary(max_size=20),
    st.sampled_from([b"", b"\x00", b"a\x00b", b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80", b" "]),
)


@SETTINGS
@given(fields=st.lists(st.tuples(field_bytes, field_bytes), min_size=1, max_size=6))
def test_any_field_names_and_values_round_trip_as_on_the_server(pair, fields):
    sqlite, valkey = pair
    for client in (sqlite, valkey):
        client.flushdb()
    mapping = dict(fields)
    add = outcome(lambda r: r.xadd("k", mapping, id="1-1"), sqlite)
    assert add == outcome(lambda r: r.xadd("k", mapping, id="1-1"), valkey)
    back = outcome(lambda r: r.xrange("k"), sqlite)
    assert back == outcome(lambda r: r.xrange("k"), valkey)
    assert back == ("ok", [(b"1-1", mapping)])


@pytest.mark.parametrize("value", [b"\xff\xfe", b"ok\xc3(", b"\xed\xa0\x80"])
def test_invalid_utf8_reads_fail_alike_on_a_decoding_client_and_stay_readable(
    valkey_url, db_path, value
):
    results = []
    for where in (db_path, valkey_url):
        raw = streamctl.connect(where, decode_responses=False)
        raw.flushdb()
        raw.xadd("k", {"f": value}, id="1-1")
        text = streamctl.connect(where)
        results.append(outcome(lambda r: r.xrange("k"), text))
        # The decoding client is still usable, and the bytes are intact.
        assert text.xlen("k") == 1
        assert raw.xrange("k") == [(b"1-1", {b"f": value})]
        text.close()
        raw.flushdb()
        raw.close()
    assert results[0] == results[1] == ("UnicodeDecodeError",)


def test_empty_names_many_fields_and_one_megabyte_values_as_on_the_server(pair):
    sqlite, valkey = pair
    big = os.urandom(1 << 20)
    cases = [
        {b"": b""},
        {b"f": b""},
        {b"": b"v"},
        {f"f{i}".encode(): str(i).encode() for i in range(5000)},
        {b"big": big, b"other": b"x"},
        {big[:4096]: big},
    ]
    for client in (sqlite, valkey):
        client.flushdb()
    for n, fields in enumerate(cases, start=1):
        want = outcome(lambda r, f=fields, n=n: r.xadd(b"", f, id=f"{n}-0"), valkey)
        assert outcome(lambda r, f=fields, n=n: r.xadd(b"", f, id=f"{n}-0"), sqlite) == want
    assert sqlite.xrange(b"") == valkey.xrange(b"")
    assert [fields for _, fields in sqlite.xrange(b"")] == cases
    assert sqlite.xadd(b"\x00\xff" * 1000, {b"k": b"v"}, id="1-1") == b"1-1"
    assert sqlite.exists(b"\x00\xff" * 1000) == 1


def test_a_64_megabyte_value_round_trips(db_path):
    r = streamctl.connect(db_path, decode_responses=False)
    value = os.urandom(64 << 20)
    msg_id = r.xadd("big", {"blob": value, "small": "x"})
    ((got_id, fields),) = r.xrange("big")
    assert got_id.decode() == msg_id.decode() and fields[b"blob"] == value
    assert fields[b"small"] == b"x"
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    r.close()


def test_a_message_over_sqlites_length_limit_is_a_clear_error_and_writes_nothing(db_path):
    r = streamctl.connect(db_path)
    r.xadd("s", {"f": "v"}, id="1-1")
    # SQLITE_LIMIT_LENGTH is 1e9 bytes by default; lowered here so the test stays small.
    r.engine._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1 << 20)
    before = snapshot(db_path)
    with pytest.raises(DatabaseError, match="too big") as info:
        r.xadd("s", {"f": "x" * (2 << 20)}, id="2-1")
    assert db_path in str(info.value)
    with pytest.raises(DatabaseError, match="too big"):  # a pipeline: nothing at all
        pipe = r.pipeline()
        pipe.xadd("s", {"f": "small"}, id="3-1")
        pipe.xadd("s", {"f": "x" * (2 << 20)}, id="4-1")
        pipe.execute()
    assert snapshot(db_path) == before
    assert r.xadd("s", {"f": "fits"}, id="5-1") == "5-1"
    r.close()


# ------------------------------------------------------------------ command line


def run_cli(db: str, *args: str, stdin: bytes | None = None, **kw) -> subprocess.CompletedProcess:
    argv = [BIN, "--db", db, *args]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=60, **kw)


def assert_clear_error(proc, code: int) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == code, (proc.args, proc.returncode, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamctl: "), err
    assert "internal error" not in err and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def cli_db(tmp_path):
    path = str(tmp_path / "cli.db")
    r = streamctl.connect(path)
    r.xadd("s", {"f": "v"}, id="5-5")
    r.xgroup_create("s", "g", "0")
    r.close()
    return path


DEEP = "[" * 20_000 + "]" * 20_000  # deeper than Python's recursion limit

# (arguments after --db, stdin, exit code)
BAD_CLI = [
    (["add", "s"], None, 2),
    (["add", "s", "novalue"], None, 2),
    (["add", "s", "=v"], None, 2),
    (["add", "s", "f=v", "--id", "abc"], None, 2),
    (["add", "s", "f=v", "--id", "1-\x01"], None, 2),
    (["add", "s", "f=v", "--id", "0-0"], None, 3),
    (["add", "s", "f=v", "--id", "1-1"], None, 3),
    (["add", "s", "f=v", "--maxlen", "-1"], None, 2),
    (["add", "s", "f=v", "--maxlen", "x"], None, 2),
    (["add", "s", "f=v", "--maxlen", "1", "--minid", "1"], None, 2),
    (["add", "s", "f=v", "--approx"], None, 2),
    (["add", "s", "f=v", "--minid", "nope"], None, 2),
    (["add", "nosuch", "f=v", "--nomkstream"], None, 4),
    (["add", "s", "--data", ""], None, 2),
    (["add", "s", "--data", "{"], None, 2),
    (["add", "s", "--data", "{}"], None, 2),
    (["add", "s", "--data", "[1, 2]"], None, 2),
    (["add", "s", "--data", '"text"'], None, 2),
    (["add", "s", "--data", "null"], None, 2),
    (["add", "s", "--data", '{"a": 1} trailing'], None, 2),
    (["add", "s", "--data", "@/nonexistent/file.json"], None, 2),
    (["add", "s", "--data", "-"], b"\xff\xfe{}", 2),
    (["add", "s", "--data", "-"], b"", 2),
    (["add", "s", "--data", "-"], b'{"a": "\xff"}', 2),
    (["add", "s", "--data", '{"a": "b"}', "f=v"], None, 2),
    (["add", "s", "--batch", "f=v"], b"{}", 2),
    (["add", "s", "--batch", "--id", "1-1"], b'{"a": "b"}\n', 2),
    (["add", "s", "--data", DEEP], None, 2),
    (["add", "s", "--data", '{"a": "\\ud800"}'], None, 2),
    (["range", "s", "abc"], None, 2),
    (["range", "s", "(5-5", "+"], None, 1),
    (["range", "s", "-", "(0-0"], None, 2),
    (["range", "s", "--count", "-1"], None, 2),
    (["read", "s", "--block", "-1"], None, 2),
    (["read", "s", "--from", "x"], None, 2),
    (["readgroup", "s", "nogroup", "c"], None, 4),
    (["readgroup", "s", "g", "c", "--id", "zzz"], None, 2),
    (["ack", "s", "g", "notanid"], None, 2),
    (["del", "s", "notanid"], None, 2),
    (["group", "create", "s", "g"], None, 3),
    (["group", "create", "s", "g2", "bad-id"], None, 2),
    (["group", "create", "nosuch", "g"], None, 4),
    (["group", "setid", "s", "nogroup", "0"], None, 4),
    (["pending", "s", "g", "-", "+"], None, 2),
    (["pending", "s", "g", "-", "+", "x"], None, 2),
    (["pending", "s", "nogroup"], None, 4),
    (["claim", "s", "g", "c", "-5", "1-1"], None, 2),
    (["autoclaim", "s", "g", "c", "0", "--count", "0"], None, 2),
    (["trim", "s"], None, 2),
    (["trim", "s", "--maxlen", "1", "--minid", "1"], None, 2),
    (["trim", "s", "--maxlen", "1", "--limit", "5"], None, 2),
    (["info", "nosuch"], None, 4),
    (["nosuchcommand"], None, 2),
    (["add", "s", "f=v", "--bogus"], None, 2),
    (["consume", "s"], None, 2),
    (["consume", "s", "-g", "nogroup", "--once"], None, 4),
    (["consume", "s", "-g", "g", "--exec", ""], None, 2),
    (["consume", "s", "-g", "g", "--exec", "'unbalanced"], None, 2),
    (["consume", "s", "-g", "g", "--exec", "no-such-command-xyz"], None, 2),
    (["consume", "s", "-g", "g", "--exec", "true", "--timeout", "0"], None, 2),
    (["consume", "s", "-g", "g", "--exec", "true", "--dead-letter", "s"], None, 2),
    (["consume", "s", "-g", "g", "--exec", "true", "--concurrency", "0"], None, 2),
    (["consume", "s", "-g", "g", "--backoff", "1"], None, 2),
]


@pytest.mark.parametrize(("args", "stdin", "code"), BAD_CLI, ids=lambda v: repr(v)[:60])
def test_bad_command_lines_are_clear_errors_and_change_nothing(cli_db, args, stdin, code):
    before = snapshot(cli_db)
    proc = run_cli(cli_db, *args, stdin=stdin)
    if code == 1:  # "found nothing": not an error message
        assert proc.returncode == 1 and proc.stdout == b"" and proc.stderr == b"", proc
    else:
        assert_clear_error(proc, code)
    assert snapshot(cli_db) == before


@pytest.mark.parametrize(
    "word",
    [b"f=\xff\xfe", b"\xff=v", b"f=ok\xc3("],
    ids=["value", "name", "truncated-sequence"],
)
def test_non_utf8_words_are_usage_errors(cli_db, word):
    # argv is bytes on Linux: Python hands undecodable bytes over as lone surrogates.
    before = snapshot(cli_db)
    proc = subprocess.run(
        [os.fsencode(BIN), b"--db", os.fsencode(cli_db), b"add", b"s", word],
        capture_output=True,
        timeout=60,
    )
    assert_clear_error(proc, 2)
    proc = subprocess.run(
        [os.fsencode(BIN), b"--db", os.fsencode(cli_db), b"add", b"s\xff", b"f=v"],
        capture_output=True,
        timeout=60,
    )
    assert_clear_error(proc, 2)
    assert snapshot(cli_db) == before


BAD_LINES = {
    "malformed": b'{"a": ',
    "array": b"[1, 2]",
    "empty-object": b"{}",
    "not-utf8": b'{"a": "\xff"}',
    "number": b"42",
}


@pytest.mark.parametrize("bad", sorted(BAD_LINES))
def test_a_bad_batch_line_keeps_exactly_the_lines_before_it(cli_db, bad):
    good = [json.dumps({"n": str(i), "v": "x" * i}).encode() for i in range(5)]
    stdin = b"\n".join(good[:3] + [b"", b"   ", b'{"crlf": "yes"}\r'] + [BAD_LINES[bad]] + good[3:])
    proc = run_cli(cli_db, "add", "s", "--batch", stdin=stdin + b"\n")
    line = assert_clear_error(proc, 2)
    assert "line 7" in line, line
    printed = proc.stdout.decode().split()
    r = streamctl.connect(cli_db)
    stored = r.xrange("s", min="(5-5")
    r.close()
    assert [i for i, _ in stored] == printed
    assert [f for _, f in stored] == [json.loads(g) for g in good[:3]] + [{"crlf": "yes"}]


def test_big_values_through_data_file_stdin_and_batch(cli_db, tmp_path):
    one_mb = "é" * (1 << 19)  # 1 MiB of UTF-8
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"v": one_mb, "nul": "a\u0000b"}), encoding="utf-8")
    first = run_cli(cli_db, "add", "s", "--data", f"@{path}")
    assert first.returncode == 0, first.stderr
    batch = run_cli(
        cli_db, "add", "s", "--batch", stdin=(json.dumps({"v": one_mb}) + "\n").encode() * 3
    )
    assert batch.returncode == 0, batch.stderr
    huge = run_cli(
        cli_db, "-q", "add", "s", "--data", "-", stdin=json.dumps({"v": "z" * (64 << 20)}).encode()
    )
    assert huge.returncode == 0, huge.stderr
    shown = run_cli(cli_db, "range", "s", "(5-5", "+", "--count", "4", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = [json.loads(line) for line in shown.stdout.decode().splitlines()]
    assert rows[0]["fields"] == {"v": one_mb, "nul": "a\u0000b"}
    assert [row["fields"] for row in rows[1:]] == [{"v": one_mb}] * 3
    r = streamctl.connect(cli_db)
    assert r.xrevrange("s", count=1)[0][1]["v"] == "z" * (64 << 20)
    r.close()


def test_a_word_longer_than_the_os_allows_is_refused_before_streamctl_runs(cli_db):
    # Documented limit: FIELD=VALUE words are argv; Linux refuses a word over 128 KiB.
    with pytest.raises(OSError):
        run_cli(cli_db, "add", "s", "f=" + "x" * (256 << 10))
    assert len(snapshot(cli_db)) > 0


# A hypothesis sweep over `add` command lines, in-process (the Typer app).

WORDS = st.one_of(
    st.sampled_from(
        [
            "f=v",
            "a=",
            "=",
            "=v",
            "x",
            "f==v",
            "--id",
            "1-1",
            "0-0",
            "*",
            "1-*",
            "--maxlen",
            "0",
            "-1",
            "--minid",
            "--approx",
            "--nomkstream",
            "--data",
            '{"a":"b"}',
            "{}",
            "[]",
            "--json",
            "-q",
            "--batch",
            "--",
            "-",
            "s",
            "\udcff=v",
            "f=\x00",
            "--count",
            "99999999999999999999999",
        ]
    ),
    st.text(min_size=0, max_size=6),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(words=st.lists(WORDS, max_size=7))
def test_random_add_command_lines_succeed_or_fail_cleanly(cli_db, words):
    from typer.testing import CliRunner

    from streamctl.cli.app import app

    before = snapshot(cli_db)
    length = len(streamctl.connect(cli_db).xrange("s"))
    result = CliRunner().invoke(
        app, ["--db", cli_db, "add", "s", *words], input="", catch_exceptions=False
    )
    assert result.exit_code in (0, 2, 3, 4), (words, result.exit_code, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, (
        words,
        result.stderr,
    )
    with streamctl.connect(cli_db) as r:
        after = len(r.xrange("s"))
    if result.exit_code == 0:
        assert after in (length, length + 1)  # one message (or none with --batch and no input)
    else:
        assert len(result.stderr.splitlines()) == 1, (words, result.stderr)
        assert snapshot(cli_db) == before
