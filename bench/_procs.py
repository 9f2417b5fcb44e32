"""Child processes for the multi-process benchmarks (run as ``python bench/_procs.py ROLE ...``).

Roles:
  raw-writer DB            for each stdin line: sleep it (ms), INSERT a row carrying the time
  lib-writer DB STREAM     for each stdin line: sleep it (ms), xadd {"t": monotonic_ns}
  idle DB SECONDS          block in xread(block=...) on a quiet stream; print CPU used
  idle-watcher DB SECONDS  block in ChangeWatcher.wait(); print CPU used
  producer DB STREAM N     wait for a line on stdin, then xadd N messages one call each
  consumer DB STREAM GROUP NAME STOPFILE  read COUNT 1 + xack until STOPFILE exists and dry

Every role prints one JSON line on stdout when done. Times use time.monotonic_ns(), which is
CLOCK_MONOTONIC on Linux: comparable between processes.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _is_lock_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "locked" in text or "busy" in text


def raw_writer(db: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    conn.execute("PRAGMA synchronous=NORMAL")
    for line in sys.stdin:
        time.sleep(float(line) / 1000)
        conn.execute("INSERT INTO t(ns) VALUES (?)", (time.monotonic_ns(),))
        print("ok", flush=True)


def lib_writer(db: str, stream: str) -> None:
    import streamctl

    r = streamctl.connect(db)
    for line in sys.stdin:
        time.sleep(float(line) / 1000)
        r.xadd(stream, {"t": str(time.monotonic_ns())})
        print("ok", flush=True)
    r.close()


def idle(db: str, seconds: str) -> None:
    import streamctl

    r = streamctl.connect(db)
    r.xadd("quiet-setup", {"a": "1"})  # the file exists and is initialised
    r.xread({"quiet": "$"}, block=1)  # one-time costs (imports, watcher set-up) not counted
    print("ready", flush=True)
    wall, cpu = time.monotonic(), _cpu()
    res = r.xread({"quiet": "$"}, block=int(float(seconds) * 1000))
    wall, cpu = time.monotonic() - wall, _cpu() - cpu
    r.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "result": bool(res)}), flush=True)


def idle_watcher(db: str, seconds: str) -> None:
    from streamctl.wakeup import open_watcher

    w = open_watcher(db)
    w.wait(0.01)  # past the watcher's start-up check
    print("ready", flush=True)
    wall, cpu = time.monotonic(), _cpu()
    deadline = wall + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        w.wait(left)
    wall, cpu = time.monotonic() - wall, _cpu() - cpu
    kind = type(w).__name__
    w.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "kind": kind}), flush=True)


def producer(db: str, stream: str, n: str) -> None:
    import streamctl

    r = streamctl.connect(db)
    sys.stdin.readline()
    lock_errors = errors = 0
    t = time.monotonic()
    for i in range(int(n)):
        while True:
            try:
                r.xadd(stream, {"p": str(os.getpid()), "n": str(i)})
                break
            except Exception as exc:  # noqa: BLE001 - counted, then retried
                if _is_lock_error(exc):
                    lock_errors += 1
                else:
                    errors += 1
                    if errors > 100:
                        raise
    t = time.monotonic() - t
    r.close()
    print(
        json.dumps({"seconds": t, "n": int(n), "lock_errors": lock_errors, "errors": errors}),
        flush=True,
    )


def consumer(db: str, stream: str, group: str, name: str, stopfile: str) -> None:
    import streamctl

    r = streamctl.connect(db)
    sys.stdin.readline()
    lock_errors = errors = got = 0
    t = time.monotonic()
    while True:
        try:
            res = r.xreadgroup(group, name, {stream: ">"}, count=1, block=50)
            if res and res[0][1]:
                ids = [e[0] for e in res[0][1]]
                r.xack(stream, group, *ids)
                got += len(ids)
                continue
        except Exception as exc:  # noqa: BLE001 - counted
            if _is_lock_error(exc):
                lock_errors += 1
            else:
                errors += 1
                if errors > 100:
                    raise
            continue
        if os.path.exists(stopfile):
            break
    t = time.monotonic() - t
    r.close()
    print(
        json.dumps({"seconds": t, "n": got, "lock_errors": lock_errors, "errors": errors}),
        flush=True,
    )


ROLES = {
    "raw-writer": raw_writer,
    "lib-writer": lib_writer,
    "idle": idle,
    "idle-watcher": idle_watcher,
    "producer": producer,
    "consumer": consumer,
}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
