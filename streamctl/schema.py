"""The database schema: ordered, append-only, named migrations (the only place DDL lives).

A streamctl database is recognised by ``PRAGMA application_id`` (:data:`APPLICATION_ID`);
its version is ``PRAGMA user_version``, the number of migrations applied. A migration is
never edited once released: a change is a new function appended below.

Layout, and why:

* ``entries`` — ``(stream, id)`` is the primary key of a WITHOUT ROWID table, so every range
  read is one index seek. ``id`` is the 16-byte big-endian ID (byte order = ID order),
  ``fields`` the packed field/value list (``streamctl.codec``). ``node`` is the
  radix-tree node Redis would have put the entry in (``streamctl.layout``); approximate
  (``~``) trimming removes whole nodes, as Redis does, so ``MAXLEN ~`` gives the same
  lengths here as there. ``node_ends`` remembers a node's last entry when XDEL removed it
  (Redis only flags it deleted, and ``MINID ~`` still sees it).
* ``streams`` — one row per stream key. The stream's counters are *derived*: the newest
  entry row carries entries-added and its node's fill, and ``streams`` keeps floors that
  only deletions and trims move (last-generated-id = max(floor, newest id); length =
  entries-added − removed). So an XADD writes one row in one B-tree page — the cost of
  a raw single-row insert — instead of also rewriting a counters row on another page.
* ``groups``/``consumers``/``pel`` — consumer groups. ``pending`` counters on groups and
  consumers are kept by triggers on ``pel``, so XINFO and ``info`` never count a PEL.
"""

from __future__ import annotations

import sqlite3

# Typing names only (importing typing would cost the CLI's start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Migration = Callable[[sqlite3.Connection], None]

#: "STRM": marks a file as a streamctl database.
APPLICATION_ID = 0x5354524D

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would COMMIT the migration's transaction.
    for statement in (
        """
        CREATE TABLE streams (
            id              INTEGER PRIMARY KEY,
            name            BLOB NOT NULL UNIQUE,
            last_id         BLOB NOT NULL,           -- floor of last-generated-id
            max_deleted_id  BLOB NOT NULL,
            added_floor     INTEGER NOT NULL DEFAULT 0,  -- floor of entries-added
            removed         INTEGER NOT NULL DEFAULT 0,  -- entries ever deleted or trimmed
            -- The newest node's state as of the last deletion or trim (entries-added was
            -- tail_added then); newer appends carry their own in their entry row.
            tail_added      INTEGER NOT NULL DEFAULT 0,
            tail_node       BLOB,
            tail_entries    INTEGER NOT NULL DEFAULT 0,
            tail_bytes      INTEGER NOT NULL DEFAULT 0,
            tail_fields     INTEGER NOT NULL DEFAULT 0
        );
        """,
        """
        CREATE TABLE entries (
            stream        INTEGER NOT NULL,
            id            BLOB NOT NULL,
            added         INTEGER NOT NULL,  -- entries-added once this entry was added
            node          BLOB NOT NULL,     -- the node's master ID (its first entry's)
            node_entries  INTEGER NOT NULL,  -- entries appended to the node so far
            node_bytes    INTEGER NOT NULL,  -- the node's listpack bytes so far
            node_fields   INTEGER NOT NULL,  -- signature of the node's master field names
            fields        BLOB NOT NULL,
            PRIMARY KEY (stream, id)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE node_ends (
            stream   INTEGER NOT NULL,
            node     BLOB NOT NULL,
            last_id  BLOB NOT NULL,  -- the node's last entry, deleted by XDEL
            PRIMARY KEY (stream, node)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE groups (
            id            INTEGER PRIMARY KEY,
            stream        INTEGER NOT NULL,
            name          BLOB NOT NULL,
            last_id       BLOB NOT NULL,
            entries_read  INTEGER,            -- NULL: invalid (Redis shows nil)
            pending       INTEGER NOT NULL DEFAULT 0,
            UNIQUE (stream, name)
        );
        """,
        """
        CREATE TABLE consumers (
            id           INTEGER PRIMARY KEY,
            grp          INTEGER NOT NULL,
            name         BLOB NOT NULL,
            seen_time    INTEGER NOT NULL,
            active_time  INTEGER NOT NULL DEFAULT -1,
            pending      INTEGER NOT NULL DEFAULT 0,
            UNIQUE (grp, name)
        );
        """,
        """
        CREATE TABLE pel (
            grp             INTEGER NOT NULL,
            id              BLOB NOT NULL,
            consumer        INTEGER,
            delivery_time   INTEGER NOT NULL,
            delivery_count  INTEGER NOT NULL,
            PRIMARY KEY (grp, id)
        ) WITHOUT ROWID;
        """,
        """
        CREATE INDEX pel_by_consumer ON pel (consumer, id);
        """,
        """
        CREATE TRIGGER pel_added AFTER INSERT ON pel BEGIN
            UPDATE groups SET pending = pending + 1 WHERE id = NEW.grp;
            UPDATE consumers SET pending = pending + 1 WHERE id = NEW.consumer;
        END;
        """,
        """
        CREATE TRIGGER pel_removed AFTER DELETE ON pel BEGIN
            UPDATE groups SET pending = pending - 1 WHERE id = OLD.grp;
            UPDATE consumers SET pending = pending - 1 WHERE id = OLD.consumer;
        END;
        """,
        """
        CREATE TRIGGER pel_moved AFTER UPDATE OF consumer ON pel
        WHEN OLD.consumer IS NOT NEW.consumer BEGIN
            UPDATE consumers SET pending = pending - 1 WHERE id = OLD.consumer;
            UPDATE consumers SET pending = pending + 1 WHERE id = NEW.consumer;
        END;
        """,
    ):
        db.execute(statement)


LATEST_VERSION = len(MIGRATIONS)
