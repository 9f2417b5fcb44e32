"""WAL checkpoints off the committing thread.

In WAL mode SQLite appends each commit to the ``-wal`` file; a *checkpoint* copies those
pages back into the database file and fsyncs both. By default the commit that takes the
WAL past 1,000 pages runs that checkpoint itself, so one commit in a few hundred is slow
and, amortised, checkpoints are a large share of a small transaction's cost (measured:
about 40% of an XREADGROUP + XACK pair's commit time, ``bench/``).

A client that keeps committing hands that work to a :class:`Checkpointer`: a thread with
its own connection that runs ``PRAGMA wal_checkpoint(PASSIVE)`` (which never blocks
readers or writers) every :data:`COMMITS_PER_CHECKPOINT` commits. sqlite3 releases the
GIL while SQLite works, so the copy and the fsyncs run beside the client, on another
core. The thread starts only once a client has committed that many times: short-lived
processes (one ``streamctl add``) never start it and keep SQLite's own checkpoints.

Once it runs, the committing connection's automatic checkpoint is raised to
:data:`SAFETY_NET_PAGES`: a safety net that a working checkpointer never lets the WAL
reach (it still bounds the WAL if the thread stalls or the process forked without it).
Durability is unchanged: a checkpoint only moves committed pages from one file to the
other.
"""

from __future__ import annotations

import sqlite3
import threading

#: Commits between two background checkpoints (each commit adds one to a few pages).
COMMITS_PER_CHECKPOINT = 256
#: The committing connection's own automatic checkpoint, once the thread runs.
SAFETY_NET_PAGES = 8000
_NEVER = -(1 << 62)  # a commit count that never reaches COMMITS_PER_CHECKPOINT


class Checkpointer:
    """Background checkpoints for one database connection's commits."""

    def __init__(self, uri: str, db: sqlite3.Connection, *, enabled: bool = True):
        self._uri = uri + "?mode=rw"  # never create a file (the database may be gone)
        self._db = db  # the committing connection (its autocheckpoint is raised)
        self._commits = 0 if enabled else _NEVER
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def committed(self) -> None:
        """Called after each commit, with the caller's lock held: cheap."""
        self._commits += 1
        if self._commits < COMMITS_PER_CHECKPOINT:
            return
        self._commits = 0
        if self._thread is None:
            if not self._start():
                return
        self._wake.set()

    def _start(self) -> bool:
        try:
            conn = sqlite3.connect(
                self._uri, uri=True, isolation_level=None, check_same_thread=False, timeout=0
            )
        except sqlite3.Error:
            self._commits = _NEVER  # no second connection here: SQLite's own checkpoints
            return False
        thread = threading.Thread(
            target=self._run, args=(conn,), name="streamctl-checkpoint", daemon=True
        )
        thread.start()
        self._thread = thread
        try:
            self._db.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
        except sqlite3.Error:
            pass
        return True

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy or gone: the next round (or the safety net) catches up
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running)."""
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._wake.set()
            if thread is not threading.current_thread():
                thread.join()
