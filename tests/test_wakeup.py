"""Cross-process wake-ups (streamctl.wakeup): real writer processes, bounded waits only.

No timed assertions: a wait that should succeed gets a generous bound (it returns as soon
as the change is seen), and "nothing happened" is checked with a short wait returning False.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from streamctl import wakeup
from streamctl.wakeup import InotifyWatcher, PollingWatcher, open_watcher

LINUX = sys.platform.startswith("linux")
BOUND = 20.0  # seconds: generous upper bound for a wake-up that must happen

WRITER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA synchronous=NORMAL")
for line in sys.stdin:
    if line.strip() == "quit":
        break
    conn.execute("INSERT INTO t(x) VALUES (?)", (line.strip(),))
    print("committed", flush=True)
conn.close()
"""


def make_db(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t(x)")
    conn.close()


def write_once(path: str, value: str = "x") -> None:
    """One commit from another process, which then exits."""
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30);"
        "c.execute('INSERT INTO t(x) VALUES (?)', (sys.argv[2],)); c.close()"
    )
    subprocess.run([sys.executable, "-c", code, path, value], check=True, timeout=60)


class Writer:
    """A long-lived writer process that commits one row per request."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def commit(self, value: str = "x") -> None:
        self.proc.stdin.write(value + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "committed"

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)


@pytest.fixture
def db(tmp_path) -> str:
    path = os.fspath(tmp_path / "streams.db")
    make_db(path)
    return path


@pytest.fixture
def writer(db):
    w = Writer(db)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(params=["inotify", "poll"] if LINUX else ["poll"])
def kind(request, monkeypatch) -> str:
    if request.param == "poll":
        monkeypatch.setenv("STREAMCTL_WAKEUP", "poll")
    else:
        monkeypatch.delenv("STREAMCTL_WAKEUP", raising=False)
    return request.param


def test_open_watcher_picks_the_mechanism(db, kind):
    with open_watcher(db) as w:
        expected = InotifyWatcher if kind == "inotify" else PollingWatcher
        assert type(w) is expected


def test_wakes_on_commit_from_another_process(db, writer, kind):
    with open_watcher(db) as w:
        for i in range(5):
            writer.commit(str(i))
            assert w.wait(BOUND) is True


def test_change_before_wait_is_not_missed(db, kind):
    """A commit between creating the watcher and calling wait() is reported."""
    with open_watcher(db) as w:
        write_once(db)
        assert w.wait(BOUND) is True


def test_times_out_when_nothing_happens(db, kind):
    with open_watcher(db) as w:
        assert w.wait(0.05) is False
        assert w.wait(0) is False


def test_each_change_is_reported_once_then_quiet(db, writer, kind):
    with open_watcher(db) as w:
        writer.commit()
        assert w.wait(BOUND) is True
        # Spurious True is allowed by the contract, but a quiet database settles to False.
        results = [w.wait(0.05) for _ in range(5)]
        assert results[-1] is False


def test_wakes_a_thread_blocked_before_the_commit(db, writer, kind):
    with open_watcher(db) as w:
        started = threading.Event()
        result = {}

        def blocked():
            started.set()
            result["woke"] = w.wait(BOUND)

        t = threading.Thread(target=blocked)
        t.start()
        started.wait(BOUND)
        writer.commit()
        t.join(BOUND + 5)
        assert result == {"woke": True}


def test_many_watchers_in_many_threads_all_wake(tmp_path, kind):
    paths = []
    for i in range(3):
        p = os.fspath(tmp_path / f"db{i}.db")
        make_db(p)
        paths.append(p)
    watchers = [open_watcher(paths[i % 3]) for i in range(30)]
    try:
        results: dict[int, bool] = {}
        barrier = threading.Barrier(len(watchers) + 1)

        def blocked(i, w):
            barrier.wait(BOUND)
            results[i] = w.wait(BOUND)

        threads = [threading.Thread(target=blocked, args=(i, w)) for i, w in enumerate(watchers)]
        for t in threads:
            t.start()
        barrier.wait(BOUND)
        for p in paths:
            write_once(p)
        for t in threads:
            t.join(BOUND + 5)
        assert results == {i: True for i in range(len(watchers))}
    finally:
        for w in watchers:
            w.close()


def test_wakes_when_wal_does_not_exist_yet(tmp_path, kind):
    """The watcher is opened on a database whose -wal file is absent (all connections closed)."""
    path = os.fspath(tmp_path / "streams.db")
    make_db(path)
    assert not os.path.exists(path + "-wal")
    with open_watcher(path) as w:
        write_once(path)
        assert w.wait(BOUND) is True
        write_once(path, "again")
        assert w.wait(BOUND) is True


def test_wakes_when_database_is_created_later(tmp_path, kind):
    path = os.fspath(tmp_path / "later.db")
    with open_watcher(path) as w:
        assert w.wait(0.05) is False
        make_db(path)
        write_once(path)
        assert w.wait(BOUND) is True


def test_close_is_idempotent_and_wait_after_close_fails(db, kind):
    w = open_watcher(db)
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.wait(0)


# --------------------------------------------------------------- inotify specifics


def _fd_target(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _released(fd: int, bound: float = BOUND) -> bool:
    """Whether ``fd`` stops being an inotify descriptor within ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while "inotify" in (_fd_target(fd) or ""):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def short_linger(monkeypatch):
    """Unused inotify state is released after 50 ms instead of the default linger."""
    monkeypatch.delenv("STREAMCTL_WAKEUP", raising=False)
    monkeypatch.setattr(wakeup, "_LINGER", 0.05)
    wakeup._shutdown_hub()
    yield
    wakeup._shutdown_hub()


@pytest.mark.skipif(not LINUX, reason="inotify is Linux-only")
def test_close_releases_the_inotify_descriptor(db, short_linger):
    w = open_watcher(db)
    assert isinstance(w, InotifyWatcher)
    fd = w.fileno
    assert "inotify" in (_fd_target(fd) or "")
    w.close()
    assert _released(fd)  # after the linger, by the watcher's thread
    assert wakeup._hub is None


@pytest.mark.skipif(not LINUX, reason="inotify is Linux-only")
def test_shutdown_releases_at_once_and_watchers_recover(db, writer, monkeypatch):
    monkeypatch.delenv("STREAMCTL_WAKEUP", raising=False)
    w = open_watcher(db)
    fd = w.fileno
    wakeup._shutdown_hub()
    assert "inotify" not in (_fd_target(fd) or "")
    writer.commit()
    assert w.wait(BOUND) is True  # re-attached to a new instance
    writer.commit()
    assert w.wait(BOUND) is True
    w.close()


@pytest.mark.skipif(not LINUX, reason="inotify is Linux-only")
def test_one_inotify_instance_per_process(tmp_path, short_linger):
    """Many watchers share one instance (fs.inotify.max_user_instances is often 128)."""
    paths = []
    for i in range(5):
        p = os.fspath(tmp_path / f"db{i}.db")
        make_db(p)
        paths.append(p)
    watchers = [open_watcher(paths[i % 5]) for i in range(200)]
    try:
        assert all(isinstance(w, InotifyWatcher) for w in watchers)
        assert len({w.fileno for w in watchers}) == 1
        fd = watchers[0].fileno
    finally:
        for w in watchers[:-1]:
            w.close()
    assert watchers[-1].wait(0.2) is False  # longer than the linger: still watching
    assert "inotify" in (_fd_target(fd) or "")
    watchers[-1].close()
    assert _released(fd)


@pytest.mark.skipif(not LINUX, reason="inotify is Linux-only")
def test_follows_wal_file_deleted_and_recreated(tmp_path, monkeypatch):
    """Raw file events (no SQLite database to confirm with): each one is reported."""
    monkeypatch.delenv("STREAMCTL_WAKEUP", raising=False)
    path = os.fspath(tmp_path / "plain.db")
    wal = path + "-wal"
    with open_watcher(path) as w:
        assert w.wait(0.02) is False
        with open(wal, "wb") as f:  # created
            f.write(b"1")
        assert w.wait(BOUND) is True
        while w.wait(0.02):  # drain the open/write/close events
            pass
        with open(wal, "ab") as f:  # modified
            f.write(b"2")
        assert w.wait(BOUND) is True
        while w.wait(0.02):
            pass
        os.remove(wal)
        assert w.wait(BOUND) is True
        while w.wait(0.02):
            pass
        with open(wal, "wb") as f:  # recreated: a new inode is watched
            f.write(b"3")
        assert w.wait(BOUND) is True
        while w.wait(0.02):
            pass
        with open(wal, "ab") as f:
            f.write(b"4")
        assert w.wait(BOUND) is True


@pytest.mark.skipif(not LINUX or not hasattr(os, "fork"), reason="fork + inotify")
def test_watcher_works_in_a_forked_child(db, monkeypatch):
    monkeypatch.delenv("STREAMCTL_WAKEUP", raising=False)
    parent_watcher = open_watcher(db)
    try:
        pid = os.fork()
        if pid == 0:  # child: a fresh watcher must work; never return into pytest
            code = 1
            try:
                with open_watcher(db) as w:
                    write_once(db)
                    code = 0 if w.wait(BOUND) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent_watcher.wait(BOUND) is True  # the parent saw the child's commit
    finally:
        parent_watcher.close()
