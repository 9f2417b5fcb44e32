"""Wake-up latency of a blocked reader when another process commits, and the CPU an idle
blocked reader burns. Two levels:

* ``watcher``: streamctl.wakeup alone (ChangeWatcher.wait + a SELECT), writer = raw sqlite3
  in another process. Runs without the engine.
* ``lib``: the library, reader blocked in ``r.xread(..., block=...)``, writer = another
  process calling ``r.xadd``.

Each for ``inotify`` (the default on Linux) and ``poll`` (the portable fallback, forced with
STREAMCTL_WAKEUP=poll). Latency = reader has the row/message - writer about to commit
(CLOCK_MONOTONIC in both processes). The writer waits 2-12 ms (random) before each commit,
so the reader is blocked, and idle for a realistic, varied time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

from _common import BENCH_DIR, percentile, tempdir

PROCS = os.path.join(BENCH_DIR, "_procs.py")

FIGURES = {}
for _level, _what in (
    ("watcher", "watcher alone, raw sqlite writer"),
    ("lib", "library xread BLOCK, xadd elsewhere"),
):
    for _mech in ("inotify", "poll"):
        FIGURES[f"wakeup.{_level}.{_mech}.p50"] = (f"wake-up p50, {_mech}, {_what}", "ms")
        FIGURES[f"wakeup.{_level}.{_mech}.p99"] = (f"wake-up p99, {_mech}, {_what}", "ms")
        FIGURES[f"idle.{_level}.{_mech}"] = (f"idle CPU, {_mech}, {_what}", "% core")


@contextlib.contextmanager
def _mechanism(mech: str):
    old = os.environ.get("STREAMCTL_WAKEUP")
    if mech == "poll":
        os.environ["STREAMCTL_WAKEUP"] = "poll"
    else:
        os.environ.pop("STREAMCTL_WAKEUP", None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("STREAMCTL_WAKEUP", None)
        else:
            os.environ["STREAMCTL_WAKEUP"] = old


def _spawn(*args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, PROCS, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _delay() -> str:
    return f"{random.uniform(2.0, 12.0):.3f}\n"


def watcher_latency(mech: str, trials: int) -> dict[str, float]:
    from streamctl.wakeup import open_watcher

    with tempdir("wake-") as d, _mechanism(mech):
        db = os.path.join(d, "w.db")
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, ns INTEGER)")
        writer = _spawn("raw-writer", db)
        lat = []
        last = 0
        try:
            w = open_watcher(db)
            for _ in range(trials):
                writer.stdin.write(_delay())
                writer.stdin.flush()
                while True:
                    row = conn.execute("SELECT id, ns FROM t ORDER BY id DESC LIMIT 1").fetchone()
                    if row and row[0] > last:
                        break
                    if not w.wait(10.0) and writer.poll() is not None:
                        raise RuntimeError(f"the writer process exited ({writer.returncode})")
                t1 = time.monotonic_ns()
                last = row[0]
                lat.append((t1 - row[1]) / 1e6)
                writer.stdout.readline()
            w.close()
        finally:
            writer.stdin.close()
            writer.wait(30)
            conn.close()
    return _summary(f"wakeup.watcher.{mech}", lat)


def lib_latency(mech: str, trials: int) -> dict[str, float]:
    import streamctl

    with tempdir("wake-") as d, _mechanism(mech):
        db = os.path.join(d, "w.db")
        r = streamctl.connect(db)
        last = r.xadd("s", {"t": "0"})
        writer = _spawn("lib-writer", db, "s")
        lat = []
        try:
            for _ in range(trials):
                writer.stdin.write(_delay())
                writer.stdin.flush()
                res = r.xread({"s": last}, block=10000)
                t1 = time.monotonic_ns()
                if not res:
                    if writer.poll() is not None:
                        raise RuntimeError(f"the writer process exited ({writer.returncode})")
                    raise RuntimeError("xread(block=10000) timed out: the wake-up was missed")
                last, msg = res[0][1][-1]
                lat.append((t1 - int(msg["t"])) / 1e6)
                writer.stdout.readline()
        finally:
            writer.stdin.close()
            writer.wait(30)
            r.close()
    return _summary(f"wakeup.lib.{mech}", lat)


def _summary(prefix: str, lat: list[float]) -> dict[str, float]:
    lat.sort()
    return {f"{prefix}.p50": percentile(lat, 50), f"{prefix}.p99": percentile(lat, 99)}


def idle_cpu(levels: list[str], seconds: float, copies: int) -> dict[str, list[float]]:
    """``copies`` idle blocked readers per (level, mechanism), all at once; % of a core each."""
    procs = []
    with tempdir("idle-") as d:
        for level in levels:
            for mech in ("inotify", "poll"):
                for i in range(copies):
                    db = os.path.join(d, f"{level}-{mech}-{i}.db")
                    env = dict(os.environ)
                    env.pop("STREAMCTL_WAKEUP", None)
                    if mech == "poll":
                        env["STREAMCTL_WAKEUP"] = "poll"
                    if level == "watcher":
                        c = sqlite3.connect(db, isolation_level=None)
                        c.execute("PRAGMA journal_mode=WAL")
                        c.execute("CREATE TABLE t(x)")
                        c.close()
                        p = _spawn("idle-watcher", db, str(seconds), env=env)
                    else:
                        p = _spawn("idle", db, str(seconds), env=env)
                    procs.append((f"idle.{level}.{mech}", p))
        for _, p in procs:
            p.stdin.close()
        out: dict[str, list[float]] = {}
        for key, p in procs:
            lines = p.stdout.read().splitlines()
            p.wait(seconds + 60)
            data = json.loads(lines[-1])
            out.setdefault(key, []).append(100.0 * data["cpu"] / data["wall"])
    return out


if __name__ == "__main__":
    for m in ("inotify", "poll"):
        print(watcher_latency(m, 200))
    print(idle_cpu(["watcher"], 3, 2))
