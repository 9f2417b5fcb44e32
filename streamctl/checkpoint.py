"""WAL checkpoints off the committing thread.

In WAL mode SQLite appends each commit to the ``-wal`` file; a *checkpoint* copies those
pages back into the database file and fsyncs both. By default the commit that takes the
WAL past 1,000 pages runs that checkpoint itself, so one commit in a few hundred is slow
and, amortised, checkpoints cost a small transaction 5-10% of its time (``bench/``).

A client that keeps committing hands that work to a background thread with its own
connection, which runs ``PRAGMA wal_checkpoint(PASSIVE)`` (it never blocks readers or
writers) every :data:`COMMITS_PER_CHECKPOINT` commits. sqlite3 releases the GIL while
SQLite works, so the copying and the fsyncs run beside the client, on another core. The
thread starts only once a client has committed that many times: short-lived processes
(one ``streamctl add``) never start it and keep SQLite's own checkpoints.

Once it runs, the committing connection's own automatic checkpoint moves to
:data:`OWN_CHECKPOINT_PAGES`, a fallback. A passive checkpoint cannot finish while the
writer keeps appending, and the WAL only starts over after one that finished, so when the
WAL has grown to half that size the thread's next round is a RESTART checkpoint, which
waits (briefly) for the write lock and finishes. The WAL file then stays within a few
thousand pages (measured: at most 20 MB under a writer that never pauses, against 4 MB with
SQLite's own checkpoints); a RESTART stalls the writer for about a millisecond.

Safety: a module lock is held around every background checkpoint and taken by
``os.fork()`` (``register_at_fork``), so a child is never forked while the thread is
inside SQLite (whose allocator mutex the child would inherit locked); the child starts
its own thread if it keeps committing. The thread holds no reference to the client, so
a client dropped without ``close()`` is collected and its thread stops. Durability is
unchanged: a checkpoint only moves committed pages from one file to the other.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref

#: Commits between two background checkpoints (each commit adds one to a few pages).
COMMITS_PER_CHECKPOINT = 64
#: The committing connection's own automatic checkpoint, once the thread runs.
OWN_CHECKPOINT_PAGES = 2000
_NEVER = -(1 << 62)  # a commit count that never reaches COMMITS_PER_CHECKPOINT
_RESTART_WAIT = 0.02  # seconds a RESTART checkpoint waits for the write lock
_JOIN_TIMEOUT = 5.0  # close() does not wait longer for a checkpoint stuck in I/O

# Held around each background checkpoint, and across os.fork() (see the docstring).
_FORK_LOCK = threading.Lock()
_LIVE: weakref.WeakSet[Checkpointer] = weakref.WeakSet()


class _Shared:
    """What the thread and its Checkpointer share (the thread sees nothing else)."""

    __slots__ = ("wake", "closed")

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.closed = False


class Checkpointer:
    """Background checkpoints for one connection's commits."""

    def __init__(self, uri: str, db: sqlite3.Connection, *, synchronous: str = "NORMAL",
                 enabled: bool = True):  # fmt: skip
        self._uri = uri + "?mode=rw"  # never create a file (the database may be gone)
        self._db = db  # the committing connection (its own checkpoint is moved)
        self._synchronous = synchronous
        self._commits = 0 if enabled else _NEVER
        self._shared = _Shared()
        self._thread: threading.Thread | None = None
        self._stop = None
        _LIVE.add(self)

    def committed(self) -> None:
        """Called after each commit, with the caller's lock held: cheap."""
        self._commits += 1
        if self._commits < COMMITS_PER_CHECKPOINT:
            return
        self._commits = 0
        if self._thread is None and not self._start():
            return
        self._shared.wake.set()

    def _start(self) -> bool:
        try:
            conn = sqlite3.connect(
                self._uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=_RESTART_WAIT,
            )
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={OWN_CHECKPOINT_PAGES}")
        except sqlite3.Error:
            self._commits = _NEVER  # no second connection here: SQLite's own checkpoints
            return False
        shared = self._shared
        thread = threading.Thread(
            target=_run, args=(conn, shared), name="streamctl-checkpoint", daemon=True
        )
        thread.start()
        self._thread = thread
        # Dropped without close(): stop the thread when the client is collected.
        self._stop = weakref.finalize(self, _stop, shared)
        return True

    def close(self) -> None:
        """Stop the thread, after the checkpoint it may be running."""
        _stop(self._shared)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT)

    def _forked(self) -> None:
        """In a forked child: the parent's thread does not exist here."""
        if self._thread is not None:
            self._thread = None
            self._shared = _Shared()
            if self._stop is not None:
                self._stop.detach()
                self._stop = None
            if self._commits != _NEVER:
                self._commits = 0


def _run(conn: sqlite3.Connection, shared: _Shared) -> None:
    mode = "PASSIVE"
    try:
        while True:
            shared.wake.wait()
            shared.wake.clear()
            if shared.closed:
                return
            with _FORK_LOCK:
                try:
                    _, frames, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                except sqlite3.Error:
                    continue  # busy or gone: the next round, or the writer's own, catches up
            # A passive checkpoint never finishes while the writer keeps appending, and
            # the WAL only starts over after one that did. Once it is half the writer's
            # own threshold, the next round waits (briefly) for the write lock instead:
            # RESTART finishes, and the next commit starts the WAL over.
            mode = "RESTART" if frames >= OWN_CHECKPOINT_PAGES // 2 else "PASSIVE"
    finally:
        conn.close()


def _stop(shared: _Shared) -> None:
    shared.closed = True
    shared.wake.set()


def _after_fork_in_child() -> None:
    _FORK_LOCK.release()
    for checkpointer in list(_LIVE):
        checkpointer._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_FORK_LOCK.acquire,
        after_in_parent=_FORK_LOCK.release,
        after_in_child=_after_fork_in_child,
    )
