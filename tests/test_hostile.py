"""A hostile environment: a full disk, a damaged file, a read-only database, a database
locked by a long writer. In each case a clear error (one line and the documented exit
code on the command line) and nothing half-written.

* Disk full: a 2 MB tmpfs mounted for the test (root only; skipped where mounting is not
  permitted) and, everywhere, SQLite's own size limit (``PRAGMA max_page_count``).
* Damage: a truncated file and a file with a page of garbage are reported as corrupt
  (exit 6) when the damaged part is read; streamctl never rewrites, rebuilds or "repairs"
  the file (a failed operation leaves its bytes as they were).
* Read-only: tests run as root, which ignores file modes, so the database is made
  read-only with ``chattr +i`` (the immutable attribute; skipped where the file system
  does not support it), with a read-only bind mount (root only), and with the client's
  ``readonly`` option (``sqlite:///PATH?readonly=1`` on the command line).
* Busy: another process holds the write lock (``BEGIN IMMEDIATE``): readers carry on, a
  writer waits, and fails with exit 5 once its busy timeout (``?busy_timeout=S``) runs out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import streamctl
from streamctl.errors import (
    DatabaseBusyError,
    DatabaseCorruptError,
    DatabaseFullError,
    DatabaseReadOnlyError,
)

BIN = os.path.join(os.path.dirname(sys.executable), "streamctl")


def cli(db_or_url: str, *args: str, stdin: bytes | None = None, timeout: float = 60):
    opt = "--url" if "://" in db_or_url else "--db"
    proc = subprocess.run(
        [BIN, opt, db_or_url, *args], input=stdin, capture_output=True, timeout=timeout
    )
    proc.out = proc.stdout.decode()
    proc.err = proc.stderr.decode()
    return proc


def one_line(proc, code: int) -> str:
    assert proc.returncode == code, (proc.args, proc.returncode, proc.err)
    lines = proc.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamctl: "), proc.err
    assert "Traceback" not in proc.err and "internal error" not in proc.err, proc.err
    return lines[0]


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def integrity(path) -> list:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [(str(exc),)]
    finally:
        db.close()


def stored_ids(path, stream="s") -> list[str]:
    with streamctl.connect(path) as r:
        return [i for i, _ in r.xrange(stream)]


def populate(path, n=600, value="v" * 200) -> None:
    with streamctl.connect(path) as r:
        for i in range(n):
            r.xadd("s", {"f": value, "n": str(i)}, id=f"{i + 1}-1")
        r.xgroup_create("s", "g", "0")
        r.xreadgroup("g", "c", {"s": ">"}, count=10)
    # Closed: the WAL is checkpointed into the file and removed.
    assert not os.path.exists(str(path) + "-wal")


# =============================================================================== disk full


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root and CAP_SYS_ADMIN only)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    got = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(r, size: int) -> list[str]:
    """xadd values of ``size`` bytes until the disk is full; the IDs it reported."""
    got = []
    for _ in range(10_000):
        try:
            got.append(r.xadd("s", {"f": os.urandom(size // 2).hex()}))
        except DatabaseFullError as exc:
            assert "full" in str(exc) and "nothing was written" in str(exc)
            return got
    raise AssertionError("the disk never filled up")


def test_a_full_disk_is_a_clean_error_and_nothing_is_half_written(small_disk):
    path = str(small_disk / "x.db")
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * 400_000)
    r = streamctl.connect(path)
    reported = []
    for size in (40_000, 4_000, 400):  # fill every last page
        reported += fill(r, size)
    with pytest.raises(DatabaseFullError):
        pipe = r.pipeline()
        for _ in range(20):
            pipe.xadd("s", {"f": "p" * 2000})
        pipe.execute()
    assert stored_ids(path) == reported  # every reported add, and nothing else
    assert integrity(path) == [("ok",)]

    # The command line: exit 6 and one line; a --batch stores exactly what it printed.
    before = stored_ids(path)
    value = small_disk.parent / "value.json"
    value.write_text(json.dumps({"f": "z" * 60_000}))
    proc = cli(path, "add", "s", "--data", f"@{value}")
    assert "full" in one_line(proc, 6)
    lines = (json.dumps({"f": "b" * 20_000}) + "\n").encode() * 50
    proc = cli(path, "add", "s", "--batch", stdin=lines)
    assert "full" in one_line(proc, 6)
    assert stored_ids(path) == before + proc.out.split()
    # Reads still work on a full disk.
    assert cli(path, "len", "s").out.strip() == str(len(before) + len(proc.out.split()))
    assert cli(path, "info", "--json").returncode == 0

    # Space comes back: writes resume, the file is sound.
    ballast.unlink()
    assert r.xadd("s", {"f": "after"})
    assert cli(path, "add", "s", "f=after").returncode == 0
    r.close()
    assert integrity(path) == [("ok",)]


def test_sqlites_size_limit_is_a_clean_error_and_nothing_is_half_written(db_path):
    r = streamctl.connect(db_path)
    r.xgroup_create("s", "g", "$", mkstream=True)
    db = r.engine._db  # PRAGMA max_page_count is per connection
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages + 12}")
    reported = []
    with pytest.raises(DatabaseFullError, match="full"):
        for _ in range(10_000):
            reported.append(r.xadd("s", {"f": "x" * 2000}))
    with pytest.raises(DatabaseFullError):
        pipe = r.pipeline()
        pipe.xadd("s", {"small": "1"})
        pipe.xadd("s", {"big": "y" * 100_000})
        pipe.execute()
    assert stored_ids(db_path) == reported
    # A read-modify write (XREADGROUP adds PEL rows) that does not fit changes nothing.
    try:
        delivered = r.xreadgroup("g", "c", {"s": ">"})
    except DatabaseFullError:
        assert r.xpending("s", "g")["pending"] == 0
        assert r.xinfo_groups("s")[0]["last-delivered-id"] == "0-0"
    else:
        assert len(delivered[0][1]) == len(reported)
    db.execute("PRAGMA max_page_count=1073741823")
    assert r.xadd("s", {"f": "fits again"})
    r.close()
    assert integrity(db_path) == [("ok",)]


# ============================================================================ damaged files


def test_a_truncated_file_is_reported_as_corrupt_and_left_as_it_is(tmp_path):
    path = tmp_path / "cut.db"
    populate(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = digest(path)
    with pytest.raises(DatabaseCorruptError, match="corrupt") as info:
        with streamctl.connect(str(path)) as r:
            r.xrange("s")
            r.xadd("s", {"f": "v"})
    assert str(path) in str(info.value)
    for args in (["range", "s"], ["info"], ["add", "s", "f=v"], ["len", "s"]):
        line = one_line(cli(str(path), *args), 6)
        assert "corrupt" in line and str(path) in line
    assert digest(path) == before
    assert not os.path.exists(str(path) + "-journal")


def test_a_page_of_garbage_is_reported_as_corrupt_never_repaired(tmp_path):
    path = tmp_path / "bad.db"
    populate(path)
    data = bytearray(path.read_bytes())
    page = 4096
    middle = len(data) // page // 2 * page
    data[middle : middle + page] = os.urandom(page)
    path.write_bytes(bytes(data))
    before = digest(path)
    r = streamctl.connect(str(path))
    with pytest.raises(DatabaseCorruptError, match="corrupt"):
        r.xrange("s")  # reads every page of the stream, the damaged one too
    r.close()
    line = one_line(cli(str(path), "range", "s"), 6)
    assert "corrupt" in line
    one_line(cli(str(path), "range", "s", "--rev"), 6)
    # The failed reads changed nothing, and nothing was rebuilt.
    assert digest(path) == before
    assert integrity(path) != [("ok",)]
    assert sorted(os.listdir(tmp_path)) == ["bad.db"]


def test_a_damaged_header_is_not_a_database_and_is_left_alone(tmp_path):
    path = tmp_path / "head.db"
    populate(path, n=5)
    data = bytearray(path.read_bytes())
    data[0:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))
    before = digest(path)
    line = one_line(cli(str(path), "add", "s", "f=v"), 6)
    assert "not a SQLite database" in line
    one_line(cli(str(path), "info"), 6)
    assert digest(path) == before
    assert sorted(os.listdir(tmp_path)) == ["head.db"]


# ========================================================================= read-only files


def check_read_only(path: str, target: str) -> None:
    """Reads work through ``target``, writes are refused clearly, the data is unchanged."""
    ids = stored_ids(path) if os.access(path, os.R_OK) else None
    got = cli(target, "range", "s", "--count", "2", "--json")
    assert got.returncode == 0, got.err
    assert [json.loads(line)["id"] for line in got.out.splitlines()] == ["1-1", "2-1"]
    assert cli(target, "len", "s").out.strip() == "600"
    info = cli(target, "info", "--json")
    assert info.returncode == 0, info.err
    (stream,) = json.loads(info.out)["streams"]
    assert (stream["length"], stream["groups"][0]["pending"]) == (600, 10)
    pending = cli(target, "pending", "s", "g")
    assert pending.returncode == 0 and "pending\t10" in pending.out, pending.err
    for args in (
        ["add", "s", "f=v"],
        ["ack", "s", "g", "1-1"],
        ["group", "create", "s", "g2"],
        ["readgroup", "s", "g", "c"],
        ["trim", "s", "--maxlen", "1"],
        ["consume", "s", "-g", "g", "--once"],
    ):
        assert "read-only" in one_line(cli(target, *args), 6), args
    if ids is not None:
        assert stored_ids(path) == ids


def test_readonly_option_reads_and_refuses_writes(tmp_path):
    path = tmp_path / "ro.db"
    populate(path)
    before = digest(path)
    with streamctl.connect(str(path), readonly=True) as r:
        assert r.xlen("s") == 600 and r.xpending("s", "g")["pending"] == 10
        assert r.xinfo_stream("s")["length"] == 600
        for write in (
            lambda: r.xadd("s", {"f": "v"}),
            lambda: r.xack("s", "g", "1-1"),
            lambda: r.xgroup_create("s", "g2", "0"),
            lambda: r.xreadgroup("g", "c", {"s": ">"}),
            lambda: r.xtrim("s", maxlen=1),
            lambda: r.delete("s"),
        ):
            with pytest.raises(DatabaseReadOnlyError, match="read-only"):
                write()
    check_read_only(str(path), f"sqlite://{path}?readonly=1")
    assert digest(path) == before


@pytest.fixture
def immutable(tmp_path):
    path = tmp_path / "frozen.db"
    populate(path)
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed")
    got = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {got.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_an_immutable_file_can_be_read_and_refuses_writes(immutable):
    before = digest(immutable)
    with streamctl.connect(str(immutable)) as r:  # no option: SQLite opens it read-only
        assert r.xlen("s") == 600
        with pytest.raises(DatabaseReadOnlyError, match="read-only"):
            r.xadd("s", {"f": "v"})
    check_read_only(str(immutable), str(immutable))
    assert digest(immutable) == before


@pytest.fixture
def read_only_mount(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    populate(src / "ro.db")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a bind mount needs root")
    got = subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {got.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)], check=True)
        yield mnt / "ro.db"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_database_on_a_read_only_file_system_can_be_read(read_only_mount):
    # No -wal/-shm exist and none can be created: SQLite cannot open a WAL database in
    # the usual way there (it needs the -shm index).
    before = digest(read_only_mount)
    with streamctl.connect(str(read_only_mount), readonly=True) as r:
        assert r.xlen("s") == 600
    check_read_only(str(read_only_mount), str(read_only_mount))
    assert digest(read_only_mount) == before


# ================================================================================= busy

LOCKER = textwrap.dedent(
    """
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()          # hold the write lock until stdin closes
    db.execute("ROLLBACK")
    """
)


@pytest.fixture
def locked(tmp_path):
    """A database whose write lock another process holds; ``release()`` ends it."""
    path = tmp_path / "busy.db"
    populate(path, n=3)
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"

    def release():
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(30)

    proc.release = release
    proc.path = path
    try:
        yield proc
    finally:
        release()


def test_a_long_writer_makes_writers_fail_busy_with_exit_5_and_readers_carry_on(locked):
    path = locked.path
    url = f"sqlite://{path}?busy_timeout=0.3"
    before = stored_ids(path)
    for args in (
        ["add", "s", "f=v"],
        ["group", "create", "s", "g2"],
        ["ack", "s", "g", "1-1"],
        ["readgroup", "s", "g", "c"],
        ["consume", "s", "-g", "g", "--once"],
    ):
        line = one_line(cli(url, *args, timeout=30), 5)
        assert "busy" in line and str(path) in line, args
    # Readers are not blocked by a writer (WAL).
    assert cli(str(path), "range", "s").out.split("\n")[0].startswith("1-1")
    assert cli(str(path), "info", "--json").returncode == 0
    with streamctl.connect(str(path), busy_timeout=0.2) as r:
        with pytest.raises(DatabaseBusyError, match="busy"):
            r.xadd("s", {"f": "v"})
        assert r.xlen("s") == 3
    locked.release()
    assert stored_ids(path) == before
    assert cli(url, "add", "s", "f=v").returncode == 0


def test_a_writer_waits_for_the_lock_and_then_succeeds(locked):
    path = locked.path
    writer = subprocess.Popen(
        [BIN, "--db", str(path), "add", "s", "f=waited"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # sequencing only: the writer is now (or soon) waiting for the lock
        assert writer.poll() is None, writer.communicate()  # it waits; it has not given up
        locked.release()
        out, err = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    assert stored_ids(path)[-1] == out.strip()


# =========================================================================== durability


def fsyncs(argv: list[str], env: dict) -> int:
    """How many fsync/fdatasync calls ``argv`` made (strace)."""
    trace = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", "/dev/stderr", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert trace.returncode == 0, trace.stderr
    return sum(1 for line in trace.stderr.splitlines() if "sync(" in line)


def test_full_durability_is_selectable_on_the_command_line(tmp_path):
    path = tmp_path / "d.db"
    populate(path, n=2)
    env = {**os.environ}
    env.pop("STREAMCTL_SYNCHRONOUS", None)
    before = stored_ids(path)
    # An invalid mode is a clear error, before anything is written: the setting reaches
    # the database on every path (the fast `add`, the app, the worker, a sqlite:/// URL).
    bad = {**env, "STREAMCTL_SYNCHRONOUS": "sometimes"}
    for args in (
        ["--db", str(path), "add", "s", "f=v"],
        ["--db", str(path), "group", "create", "s", "g2"],
        ["--db", str(path), "consume", "s", "-g", "g", "--once"],
    ):
        got = subprocess.run([BIN, *args], capture_output=True, text=True, env=bad, timeout=60)
        assert "invalid synchronous mode" in one_line(SimpleProc(got), 6), args
    got = subprocess.run(
        [BIN, "--url", f"sqlite://{path}?synchronous=sometimes", "add", "s", "f=v"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "invalid synchronous mode" in one_line(SimpleProc(got), 6)
    assert stored_ids(path) == before
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: cannot count fsyncs")
    probe = subprocess.run(["strace", "-qq", "-e", "trace=none", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("ptrace is not permitted here")
    # FULL fsyncs the commit; NORMAL does not (another connection stays open, so that
    # closing the command's connection does not checkpoint, and the WAL is started).
    with streamctl.connect(str(path)) as keeper:
        keeper.xadd("s", {"f": "v"})  # starts the WAL (its first frame is synced)
        add = [BIN, "--db", str(path), "add", "s", "f=v"]
        assert fsyncs(add, env) == 0
        assert fsyncs(add, {**env, "STREAMCTL_SYNCHRONOUS": "FULL"}) >= 1
        url_add = [BIN, "--url", f"sqlite://{path}?synchronous=FULL", "add", "s", "f=v"]
        assert fsyncs(url_add, env) >= 1
        create = [BIN, "--db", str(path), "group", "create", "s", "g3"]
        assert fsyncs(create, {**env, "STREAMCTL_SYNCHRONOUS": "FULL"}) >= 1
    assert len(stored_ids(path)) == len(before) + 4


class SimpleProc:
    """A text CompletedProcess with the ``out``/``err`` names :func:`one_line` reads."""

    def __init__(self, proc):
        self.args, self.returncode = proc.args, proc.returncode
        self.out, self.err = proc.stdout, proc.stderr
