"""Defects found in review of the engine/client (each test fails on SQLite today and
passes on Valkey, or is a SQLite-only test of a concurrency/error-handling contract)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

import streamctl
from streamctl.errors import StreamctlError


def _entries(r, key, n, value="v"):
    for i in range(1, n + 1):
        r.xadd(key, {"f": value}, id=f"{i}-0")


# ----------------------------------------------------------------- semantics (both backends)


def test_xreadgroup_same_key_twice_delivers_each_entry_once(r):
    # Valkey serves the two occurrences one after the other against the updated group:
    # 1-0,2-0 then 3-0,4-0. SQLite served 1-0,2-0 twice and never advanced past 2-0.
    _entries(r, "s", 5)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">", b"s": ">"}, count=2)
    assert r.xpending("s", "g")["pending"] == 4
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == "4-0"
    assert r.xinfo_groups("s")[0]["entries-read"] == 4
    pending = r.xpending_range("s", "g", "-", "+", 10)
    assert [p["times_delivered"] for p in pending] == [1, 1, 1, 1]


@pytest.mark.parametrize("bad", [("XLEN",), ("NOSUCHCOMMAND", "s"), ("XGROUP", "NOSUCHSUB", "s")])
def test_transaction_pipeline_with_a_queue_time_error_runs_nothing(r, bad):
    # MULTI/EXEC: an unknown command or a wrong arity is refused when queued, and EXEC
    # aborts the whole transaction (EXECABORT); redis-py raises even with
    # raise_on_error=False. SQLite ran the other commands.
    pipe = r.pipeline()
    pipe.xadd("s", {"f": "1"})
    pipe.execute_command(*bad)
    pipe.xadd("s", {"f": "2"})
    with pytest.raises(redis.exceptions.ResponseError):
        pipe.execute(raise_on_error=False)
    assert r.exists("s") == 0


def test_execute_command_xinfo_in_separate_words_returns_maps(r):
    # redis-py's default client reads XINFO replies as RESP3 maps; SQLite answered flat
    # RESP2 lists when the subcommand is a separate argument (the only way to send COUNT).
    _entries(r, "s", 3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    info = r.execute_command("XINFO", "STREAM", "s", "FULL", "COUNT", 1)
    assert isinstance(info, dict) and len(info["entries"]) == 1
    assert r.execute_command("XINFO", "STREAM", "s")["length"] == 3
    assert r.execute_command("XINFO", "GROUPS", "s")[0]["name"] == "g"
    assert r.execute_command("XINFO", "CONSUMERS", "s", "g")[0]["name"] == "c"


def test_xinfo_stream_full_negative_count_means_the_default_10(r):
    _entries(r, "s", 15)
    info = r.execute_command("XINFO STREAM", "s", "FULL", "COUNT", -1, full=True)
    assert len(info["entries"]) == 10


@pytest.mark.parametrize(
    "block, text",
    [
        (2**63 - 1, "timeout is out of range"),
        (2**64, "timeout is not an integer or out of range"),
    ],
)
def test_xread_block_out_of_range_is_an_error(r, block, text):
    r.xadd("s", {"f": "v"}, id="1-0")
    with pytest.raises(redis.exceptions.ResponseError) as exc:
        r.xread({"s": "0"}, block=block)
    assert str(exc.value) == text


def test_memoryview_arguments_are_accepted_like_redis_py(r):
    # redis-py's Encoder passes memoryview through; SQLite raised AttributeError.
    r.xadd(memoryview(b"s"), {"f": "v"}, id="1-0")
    with pytest.raises(redis.exceptions.ResponseError, match="^NOGROUP"):
        r.xpending(memoryview(b"s"), "nog")
    with pytest.raises(redis.exceptions.ResponseError, match="^NOGROUP"):
        r.xgroup_setid(memoryview(b"s"), "nog", "0")


def test_client_encoding_options_apply_to_replies(target, rb):
    latin = streamctl.connect(target, encoding="latin-1")
    replace = streamctl.connect(target, encoding_errors="replace")
    try:
        latin.xadd("s", {"é": "ü"}, id="1-0")
        assert latin.xrange("s") == [("1-0", {"é": "ü"})]
        rb.xadd("b", {b"f": b"\xff"}, id="1-0")
        assert replace.xrange("b") == [("1-0", {"f": "\ufffd"})]
    finally:
        latin.close()
        replace.close()


def test_approximate_maxlen_removes_the_same_whole_nodes_as_the_server(r):
    # 250 entries of ~40 listpack bytes: the server packs 100 per node (byte limit 4096
    # not reached), so MAXLEN ~ 10 drops two nodes = 200. The engine's size estimate
    # (10 bytes of overhead per entry, integers not encoded compactly) closed nodes at 97.
    _entries(r, "s", 250, value="v" * 30)
    assert r.xtrim("s", maxlen=10, approximate=True) == 200


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("[[-]", ["[", "\\", "]"]),  # "x-]" is a range up to "]" in stringmatchlen()
        ("[^", ["-", "[", "\\", "]", "a"]),  # unclosed negated class matches any byte
    ],
)
def test_keys_bracket_quirks_match_the_server(r, pattern, expected):
    for key in ["-", "[", "\\", "]", "a"]:
        r.xadd(key, {"f": "v"}, id="1-0")
    assert sorted(r.keys(pattern)) == expected


@pytest.mark.parametrize(
    "args, text",
    [
        (("XINFO", "STREAM", "s", "FOO"),
         "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."),
        (("SCAN", 0, "TYPE", "nosuchtype"), "unknown type name 'nosuchtype'"),
        (("XGROUP", "HELP", "x"), "wrong number of arguments for 'xgroup|help' command"),
    ],
)  # fmt: skip
def test_error_texts(r, args, text):
    r.xadd("s", {"f": "v"}, id="1-0")
    with pytest.raises(redis.exceptions.ResponseError) as exc:
        r.execute_command(*args)
    assert str(exc.value) == text


# ----------------------------------------------------------------- SQLite: threads, close


def test_blocking_read_stays_blocking_while_another_thread_uses_the_client(db_path):
    # Engine._read_command reads self._db.in_transaction outside the lock: if another
    # thread is mid-command on the same client, BLOCK is ignored as in a pipeline and
    # the read returns [] at once instead of waiting for the entry.
    r = streamctl.connect(db_path)
    w = streamctl.connect(db_path)
    engine = r.engine
    inside = threading.Event()

    def other_thread_command():
        with engine._lock:  # what any command of another thread does
            engine._db.execute("BEGIN")
            engine._db.execute("SELECT count(*) FROM streams").fetchall()
            inside.set()
            time.sleep(0.2)
            engine._db.execute("COMMIT")
        time.sleep(0.2)
        w.xadd("s", {"f": "v"}, id="1-0")

    t = threading.Thread(target=other_thread_command, daemon=True)
    t.start()
    inside.wait(5)
    try:
        assert r.xread({"s": "$"}, block=5000) == [["s", [("1-0", {"f": "v"})]]]
    finally:
        t.join(5)
        r.close()
        w.close()


def test_threads_blocked_on_one_client_each_wake_for_their_stream(db_path):
    # One InotifyWatcher (Engine._watcher) is shared by every thread of a client, and its
    # _seen/_version state is per watcher: the thread that wakes first consumes the
    # change and the other sleeps through it (until its timeout, or 60 s with BLOCK 0).
    r = streamctl.connect(db_path)
    w = streamctl.connect(db_path)
    try:
        for trial in range(8):
            got = {}

            def reader(key, got=got):
                got[key] = r.xread({key: "$"}, block=2000)

            a = threading.Thread(target=reader, args=(f"a{trial}",), daemon=True)
            b = threading.Thread(target=reader, args=(f"b{trial}",), daemon=True)
            a.start()
            time.sleep(0.05)
            b.start()
            time.sleep(0.05)
            w.xadd(f"b{trial}", {"f": "v"})
            b.join(1.0)  # wakes in ms when notified; a missed wake-up takes 2 s
            missed = b.is_alive()
            w.xadd(f"a{trial}", {"f": "v"})
            a.join(5)
            b.join(5)
            assert not missed, f"trial {trial}: reader of b{trial} slept through its commit"
            assert got[f"b{trial}"]
    finally:
        r.close()
        w.close()


def test_close_while_another_thread_blocks_gives_a_streamctl_error(db_path):
    # The blocked thread later hits the closed connection: sqlite3.ProgrammingError
    # escaped untranslated (storage._run reads db.in_transaction outside its try).
    r = streamctl.connect(db_path)
    out = {}

    def reader():
        try:
            out["result"] = r.xread({"s": "$"}, block=600)
        except Exception as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.1)
    r.close()
    t.join(5)
    assert "error" in out, out
    assert isinstance(out["error"], StreamctlError), repr(out["error"])
