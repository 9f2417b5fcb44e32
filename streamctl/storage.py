"""The one way to open a streamctl database and to run a transaction on it.

* Files are private: a created database is 0600 (SQLite gives its ``-wal``/``-shm`` the same
  mode) and a created directory 0700, whatever the umask; an existing file keeps its mode.
* A file that is not a SQLite database, or one written by a newer streamctl, is refused
  before SQLite writes anything to it.
* Every write runs in ``BEGIN IMMEDIATE``. SQLite's own busy handler sleeps in steps of
  1–100 ms, which alone would ruin latency under contention, so the busy timeout is ours:
  a failed BEGIN is retried at once a few times, then after sleeps growing from 20 µs
  to 0.5 ms, until
  ``busy_timeout`` seconds have passed; then :class:`DatabaseBusyError`.
* sqlite3 errors are translated into :mod:`streamctl.errors` in one place
  (:func:`translate`), each naming the path.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time

from . import schema
from .errors import (
    DatabaseBusyError,
    DatabaseCorruptError,
    DatabaseError,
    DatabaseFullError,
    DatabaseReadOnlyError,
    NewerSchemaError,
    NotADatabaseError,
)

# Typing names only (importing typing would cost the CLI's start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")


SQLITE_HEADER = b"SQLite format 3\x00"
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_BUSY_TIMEOUT = 10.0

_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    text = str(exc)
    return "locked" in text or "busy" in text


def translate(exc: sqlite3.Error, path: str) -> DatabaseError:
    """The streamctl error for a sqlite3 error on ``path``."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if _is_busy(exc):
        return DatabaseBusyError(f"{path}: database is busy (locked by another writer)")
    if code == 8 or "readonly" in text or "read-only" in text:
        return DatabaseReadOnlyError(f"{path}: database is read-only")
    if code == 13 or "full" in text:
        return DatabaseFullError(f"{path}: database or disk is full; nothing was written")
    if code == 26 or "not a database" in text:
        return NotADatabaseError(f"{path}: not a SQLite database")
    if code == 11 or "malformed" in text or "corrupt" in text:
        return DatabaseCorruptError(f"{path}: database file is corrupt ({text})")
    if code == 14 or "unable to open" in text:
        return DatabaseError(f"{path}: cannot open database file")
    if code == 10 or "disk I/O" in text:
        return DatabaseError(f"{path}: disk I/O error")
    return DatabaseError(f"{path}: {text}")


def _make_private_dirs(directory: str) -> None:
    """Create ``directory`` and any missing parents as 0700 (existing ones untouched)."""
    missing = []
    current = os.path.abspath(directory)
    while current and not os.path.exists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise DatabaseError(f"{path}: cannot create directory ({exc.strerror})") from None
        os.chmod(path, 0o700)


def _check_existing_file(path: str) -> bool:
    """Validate an existing path; returns whether it holds data already."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot open or create database ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DatabaseError(f"{path}: is a directory, not a database file")
    if not stat.S_ISREG(st.st_mode):
        raise DatabaseError(f"{path}: not a regular file")
    if st.st_size == 0:
        return False
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot read ({exc.strerror})") from None
    if header != SQLITE_HEADER:
        raise NotADatabaseError(f"{path}: not a SQLite database (refusing to touch it)")
    return True


def _create_private_file(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except IsADirectoryError:
        raise DatabaseError(f"{path}: is a directory, not a database file") from None
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot create database ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_database(
    path: str,
    *,
    synchronous: str = "NORMAL",
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    readonly: bool = False,
) -> sqlite3.Connection:
    """Open (creating if needed) the streamctl database at ``path``, migrated to the latest
    schema. Raises a :class:`DatabaseError` naming the path if it cannot be used."""
    mode = str(synchronous).upper()
    if mode not in SYNCHRONOUS_MODES:
        raise DatabaseError(
            f"invalid synchronous mode {synchronous!r}: "
            f"choose one of {', '.join(SYNCHRONOUS_MODES)}"
        )
    path = os.fspath(path)
    if path in ("", ":memory:"):
        raise DatabaseError("an in-memory database cannot be shared: give a file path")
    has_data = _check_existing_file(path)
    immutable = has_data and _immutable_here(path)
    if immutable:
        readonly = True
    if readonly:
        if not has_data:
            raise DatabaseError(f"{path}: no database to open read-only")
        uri = "file:" + _uri_path(path) + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    else:
        directory = os.path.dirname(os.path.abspath(path))
        _make_private_dirs(directory)
        _create_private_file(path)
        uri = "file:" + _uri_path(path)
    try:
        db = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=0
        )
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    try:
        _configure(db, path, mode, busy_timeout, readonly)
    except BaseException:
        db.close()
        raise
    return db


def _immutable_here(path: str) -> bool:
    """Whether ``path`` is on a read-only file system with no ``-wal`` to replay.

    SQLite reads a WAL database through its ``-shm`` index, which cannot be created on a
    read-only file system, so a plain read-only open fails there ("unable to open").
    With no ``-wal`` (or an empty one) the file holds every commit and nothing on this
    mount can change it: it is opened ``immutable`` (read-only, without locks). (A process
    writing the same file through another, writable mount would not be noticed.)"""
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    try:
        if not statvfs(os.path.dirname(os.path.abspath(path))).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        return False
    try:
        return os.stat(path + "-wal").st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))


def _configure(db: sqlite3.Connection, path: str, sync: str, busy_timeout: float, readonly: bool):
    def setup() -> None:
        app_id, version = _identity(db)
        if app_id not in (0, schema.APPLICATION_ID):
            raise NotADatabaseError(
                f"{path}: not a streamctl database (application_id {app_id:#x})"
            )
        if app_id == 0 and _has_tables(db):
            raise NotADatabaseError(f"{path}: not a streamctl database (it has other tables)")
        if version > schema.LATEST_VERSION:
            raise NewerSchemaError(
                f"{path}: written by a newer streamctl (schema {version}, this version knows "
                f"{schema.LATEST_VERSION}); upgrade streamctl"
            )
        if readonly:
            if version < schema.LATEST_VERSION:
                raise DatabaseReadOnlyError(f"{path}: read-only and needs a schema upgrade")
            return
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        if version < schema.LATEST_VERSION:
            run_write(db, path, busy_timeout, lambda: _migrate(db, path))

    try:
        _retry_busy(setup, path, busy_timeout)
        db.execute(f"PRAGMA synchronous={sync}")
    except sqlite3.Error as exc:
        raise translate(exc, path) from None


def _identity(db: sqlite3.Connection) -> tuple[int, int]:
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    return app_id, version


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def _migrate(db: sqlite3.Connection, path: str) -> None:
    # Re-read inside the write lock: another process may have migrated meanwhile.
    app_id, version = _identity(db)
    if app_id == 0 and _has_tables(db):
        raise NotADatabaseError(f"{path}: not a streamctl database (it has other tables)")
    if version > schema.LATEST_VERSION:
        raise NewerSchemaError(f"{path}: written by a newer streamctl (schema {version})")
    for number, step in enumerate(schema.MIGRATIONS[version:], start=version + 1):
        step(db)
        db.execute(f"PRAGMA user_version={number}")
    db.execute(f"PRAGMA application_id={schema.APPLICATION_ID}")


def _backoff_sleeps(busy_timeout: float):
    """Pauses between attempts to take a busy write lock. A streamctl transaction holds
    the lock for tens of microseconds, so the first retries only yield the CPU (the
    holder may be waiting for it: 2 cores, many processes), then sleep 20 µs doubling to
    0.5 ms, with jitter so that waiters do not retry in lockstep."""
    deadline = time.monotonic() + busy_timeout
    for _ in range(3):
        yield 0.0
    delay = 0.00002
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        # Jitter from the clock's low bits: importing random would cost start-up time.
        jitter = 0.5 + (time.perf_counter_ns() & 1023) / 1024
        yield min(remaining, delay * jitter)
        delay = min(delay * 2, 0.0005)


def _retry_busy(fn: Callable[[], T], path: str, busy_timeout: float) -> T:
    sleeps = _backoff_sleeps(busy_timeout)
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            pause = next(sleeps, None)
            if pause is None:
                raise DatabaseBusyError(
                    f"{path}: database is busy (locked by another writer for more than "
                    f"{busy_timeout:g}s)"
                ) from None
            if pause:
                time.sleep(pause)
            else:
                os.sched_yield()


def run_write(db: sqlite3.Connection, path: str, busy_timeout: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction, retried whole while the
    database is busy; rolled back (and re-raised) on any error."""
    return _run(db, path, busy_timeout, fn, "BEGIN IMMEDIATE")


def run_read(db: sqlite3.Connection, path: str, busy_timeout: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in one read transaction (a consistent snapshot)."""
    return _run(db, path, busy_timeout, fn, "BEGIN")


def _run(db, path, busy_timeout, fn, begin):
    if db.in_transaction:  # nested (a pipeline): the outer transaction owns commit
        return fn()
    try:
        try:
            db.execute(begin)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            # Contended: the retrying path (the uncontended one above costs no closures).
            return _retry_busy(lambda: _attempt(db, fn, begin), path, busy_timeout)
        return _finish(db, fn)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None


def _attempt(db, fn, begin):
    db.execute(begin)
    return _finish(db, fn)


def _finish(db, fn):
    """Run ``fn`` in the transaction just begun; commit, or roll back and re-raise."""
    try:
        result = fn()
        db.execute("COMMIT")
        return result
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
