"""The SQLite file itself: creation, modes, refusal of files that are not ours, schema
versions, and the guarantee that a refused file is left byte-for-byte untouched."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat

import pytest

import streamctl
from streamctl import schema
from streamctl.errors import (
    DatabaseError,
    NewerSchemaError,
    NotADatabaseError,
    StreamctlError,
)


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_created_files_and_directories_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "a" / "b" / "streams.db"
        r = streamctl.connect(str(path))
        r.xadd("s", {"f": "v"})
        assert mode(path) == 0o600
        assert mode(str(path) + "-wal") == 0o600
        assert mode(str(path) + "-shm") == 0o600
        assert mode(tmp_path / "a") == 0o700
        assert mode(tmp_path / "a" / "b") == 0o700
        r.close()
    finally:
        os.umask(old)


def test_an_existing_database_keeps_its_mode(tmp_path):
    path = tmp_path / "shared.db"
    streamctl.connect(str(path)).close()
    os.chmod(path, 0o640)
    r = streamctl.connect(str(path))
    r.xadd("s", {"f": "v"})
    r.close()
    assert mode(path) == 0o640


def test_wal_mode_and_schema_version(db_path):
    streamctl.connect(db_path).close()
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    db.close()


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = digest(path)
    with pytest.raises(NotADatabaseError, match="notes.txt"):
        streamctl.connect(str(path))
    assert digest(path) == before
    assert not os.path.exists(str(path) + "-wal")


def test_another_applications_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO users (name) VALUES ('ada')")
    db.commit()
    db.close()
    before = digest(path)
    with pytest.raises(NotADatabaseError, match="app.db"):
        streamctl.connect(str(path))
    assert digest(path) == before


def test_a_database_from_a_newer_streamctl_is_refused_and_untouched(db_path):
    streamctl.connect(db_path).close()
    db = sqlite3.connect(db_path)
    db.execute(f"PRAGMA user_version={schema.LATEST_VERSION + 1}")
    db.close()
    before = digest(db_path)
    with pytest.raises(NewerSchemaError, match="newer streamctl") as info:
        streamctl.connect(db_path)
    assert db_path in str(info.value)
    assert digest(db_path) == before


def test_a_directory_given_as_the_file_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="is a directory"):
        streamctl.connect(str(tmp_path))


def test_an_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # A path *through* a regular file cannot be created, even by root.
    target = blocker / "sub" / "streams.db"
    with pytest.raises(DatabaseError, match="cannot") as info:
        streamctl.connect(str(target))
    assert str(blocker) in str(info.value)
    assert blocker.read_text() == "x"


def test_errors_are_streamctl_errors(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(StreamctlError):
        streamctl.connect(str(path))


def test_an_empty_file_becomes_a_database(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    r = streamctl.connect(str(path))
    assert r.xadd("s", {"f": "v"}, id="1-1") == "1-1"
    r.close()


def test_read_only_client_reads_and_refuses_writes(db_path):
    r = streamctl.connect(db_path)
    r.xadd("s", {"f": "v"}, id="1-1")
    r.close()
    ro = streamctl.connect(db_path, readonly=True)
    assert ro.xrange("s") == [("1-1", {"f": "v"})]
    with pytest.raises(streamctl.errors.DatabaseReadOnlyError, match="read-only"):
        ro.xadd("s", {"f": "v"})
    ro.close()


def test_sqlite_url_with_options(tmp_path):
    path = tmp_path / "u.db"
    r = streamctl.connect(f"sqlite://{path}?synchronous=FULL")
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.engine._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    r.close()


def test_environment_decides_the_default_target(tmp_path, monkeypatch):
    path = tmp_path / "env.db"
    monkeypatch.setenv("STREAMCTL_DB", str(path))
    r = streamctl.connect()
    r.xadd("s", {"f": "v"}, id="1-1")
    r.close()
    assert path.exists()


def test_platform_default_path_matches_platformdirs(monkeypatch, tmp_path):
    import platformdirs

    from streamctl.config import default_db_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = os.path.join(platformdirs.user_data_dir("streamctl", appauthor=False), "streams.db")
    assert default_db_path() == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    expected = os.path.join(platformdirs.user_data_dir("streamctl", appauthor=False), "streams.db")
    assert default_db_path() == expected


def test_several_clients_in_one_process_share_state(db_path):
    a = streamctl.connect(db_path)
    b = streamctl.connect(db_path)
    a.xgroup_create("s", "g", "$", mkstream=True)
    sid = a.xadd("s", {"n": "1"})
    assert b.xreadgroup("g", "c", {"s": ">"}) == [["s", [(sid, {"n": "1"})]]]
    assert a.xpending("s", "g")["pending"] == 1
    a.close()
    b.close()


def test_busy_database_fails_with_busy_error_not_a_hang(db_path):
    r = streamctl.connect(db_path, busy_timeout=0.2)
    r.xadd("s", {"f": "v"}, id="1-1")
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(streamctl.errors.DatabaseBusyError, match="busy"):
            r.xadd("s", {"f": "v"})
        # Reads are not blocked by a writer in WAL mode.
        assert r.xlen("s") == 1
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert r.xadd("s", {"f": "v"}, id="2-1") == "2-1"
    r.close()


@pytest.mark.parametrize(
    "target, kind, location, options",
    [
        ("sqlite:///abs/streams.db", "sqlite", "/abs/streams.db", {}),
        ("sqlite:////abs/streams.db", "sqlite", "/abs/streams.db", {}),
        ("sqlite://rel.db?synchronous=FULL", "sqlite", "rel.db", {"synchronous": "FULL"}),
        ("plain/file.db", "sqlite", "plain/file.db", {}),
        ("redis://:secret@localhost:6379/0", "redis", "redis://:secret@localhost:6379/0", {}),
        ("unix:///run/redis.sock", "redis", "unix:///run/redis.sock", {}),
    ],
)
def test_targets_resolve(target, kind, location, options):
    from streamctl.config import resolve

    resolved = resolve(target)
    assert (resolved.kind, resolved.location, resolved.options) == (kind, location, options)


def test_unknown_url_scheme_is_refused_and_creates_nothing(tmp_path, monkeypatch):
    from streamctl.config import resolve

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        streamctl.connect("ftp://example.com/x")
    with pytest.raises(ValueError):
        resolve("http://example.com")
    assert list(tmp_path.iterdir()) == []


def test_redact_hides_passwords():
    from streamctl.config import redact

    assert redact("redis://:hunter2@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("redis://user:hunter2@host/0") == "redis://user:***@host/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


def test_synchronous_full_from_the_environment(db_path, monkeypatch):
    monkeypatch.setenv("STREAMCTL_SYNCHRONOUS", "FULL")
    r = streamctl.connect(db_path)
    assert r.engine._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    r.close()
    monkeypatch.setenv("STREAMCTL_SYNCHRONOUS", "sometimes")
    with pytest.raises(DatabaseError, match="invalid synchronous mode"):
        streamctl.connect(db_path)
    monkeypatch.delenv("STREAMCTL_SYNCHRONOUS")
    r = streamctl.connect(db_path)
    assert r.engine._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    r.close()
