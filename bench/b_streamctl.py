"""streamctl through the library (``streamctl.connect(file)``): the same workloads as the
Valkey anchor (b_baseline's functions, run on the other backend), the scale runs and the
multi-process contention run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

from _common import BENCH_DIR, now, rate, tempdir
from b_baseline import consumer_figures, prefill, read_ack, xadd_pipelined, xadd_single

PROCS = os.path.join(BENCH_DIR, "_procs.py")

FIGURES = {
    "lib.xadd": ("streamctl: xadd one call per message", "msgs/s"),
    "lib.xadd_pipe": ("streamctl: pipeline of 1000 xadd", "msgs/s"),
    "lib.read1_ack": ("streamctl: xreadgroup COUNT 1 + xack", "msgs/s"),
    "lib.read100_ack": ("streamctl: xreadgroup COUNT 100 + xack", "msgs/s"),
    "contention.produce": ("4 producers + 4 consumers: produced (aggregate)", "msgs/s"),
    "contention.consume": ("4 producers + 4 consumers: consumed end-to-end", "msgs/s"),
    "contention.lock_errors": ("4P+4C: lock errors seen by callers (must be 0)", "count"),
    "contention.errors": ("4P+4C: other errors", "count"),
}
for _size in ("1k", "1M"):
    FIGURES[f"scale.{_size}.xadd"] = (f"scale {_size}: xadd one call per message", "msgs/s")
    FIGURES[f"scale.{_size}.xadd_pipe"] = (f"scale {_size}: pipeline of 1000 xadd", "msgs/s")
    FIGURES[f"scale.{_size}.read1_ack"] = (f"scale {_size}: xreadgroup COUNT 1 + xack", "msgs/s")
    FIGURES[f"scale.{_size}.read100_ack"] = (
        f"scale {_size}: xreadgroup COUNT 100 + xack",
        "msgs/s",
    )
    FIGURES[f"scale.{_size}.info_ms"] = (f"scale {_size}: info (xinfo_stream + xinfo_groups)", "ms")
FIGURES["scale.1M.build"] = ("scale 1M: building the stream (pipelines of 1000)", "msgs/s")
FIGURES["scale.1M.bytes_per_msg"] = ("scale 1M: database bytes per message", "bytes")
FIGURES["scale.1k.cli_info_ms"] = ("scale 1k: `streamctl info --json` (whole process)", "ms")
FIGURES["scale.1M.cli_info_ms"] = ("scale 1M: `streamctl info --json` (whole process)", "ms")


def run_lib(cfg) -> dict[str, float]:
    import streamctl

    with tempdir("lib-") as d:
        r = streamctl.connect(os.path.join(d, "lib.db"))
        try:
            out = {
                "lib.xadd": xadd_single(r, cfg.single),
                "lib.xadd_pipe": xadd_pipelined(r, cfg.pipeline, stream="p"),
            }
            out.update(consumer_figures(r, cfg, "lib"))
        finally:
            r.close()
    return out


# ----------------------------------------------------------------------------- scale


class ScaleDB:
    """One database at a given size, built once per benchmark run; measured ``runs`` times.

    * ``1k``: 1,000 entries, one group ("work"), nothing pending.
    * ``1M``: 1,000,000 entries, 50 groups, 10,000 entries pending in "work" (consumer
      "stuck") plus 1 in each of the other 49 groups.

    Each measurement round adds ``single`` + ``pipeline`` entries and reads+acks
    ``read1`` + ``read100`` of them in "work" (which was moved to the end of the stream, so
    it delivers new entries while its 10,000 old ones stay pending).
    """

    def __init__(self, directory: str, size: int, groups: int, pending: int) -> None:
        import streamctl

        self.path = os.path.join(directory, f"scale-{size}.db")
        self.size = size
        self.r = streamctl.connect(self.path)
        r = self.r
        t = now()
        prefill(r, "big", size)
        self.build_rate = rate(size, now() - t)
        r.xgroup_create("big", "work", id="0")
        if pending:
            got = 0
            while got < pending:
                res = r.xreadgroup("work", "stuck", {"big": ">"}, count=min(1000, pending - got))
                got += len(res[0][1])
        r.xgroup_setid("big", "work", id="$")
        for i in range(1, groups):
            r.xgroup_create("big", f"g{i}", id="0")
            r.xreadgroup(f"g{i}", "c", {"big": ">"}, count=1)
        self.bytes_per_msg = self._bytes_per_msg()

    def _bytes_per_msg(self) -> float:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        total = sum(
            os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p)
        )
        return total / self.size

    def measure(self, cfg, key: str) -> dict[str, float]:
        r = self.r
        out = {
            f"scale.{key}.xadd": xadd_single(r, cfg.single, stream="big"),
            f"scale.{key}.xadd_pipe": xadd_pipelined(r, cfg.pipeline, stream="big"),
            f"scale.{key}.read1_ack": read_ack(r, "big", "work", "w", 1, cfg.read1),
            f"scale.{key}.read100_ack": read_ack(r, "big", "work", "w", 100, cfg.read100),
        }
        times = []
        for _ in range(21):
            t = now()
            r.xinfo_stream("big")
            groups = r.xinfo_groups("big")
            times.append((now() - t) * 1000)
        assert groups and all("lag" in g for g in groups)
        times.sort()
        out[f"scale.{key}.info_ms"] = times[len(times) // 2]
        return out

    def close(self) -> None:
        self.r.close()


def cli_info_ms(path: str, repeat: int = 5) -> float | None:
    from _common import cli_env, cli_has, streamctl_cli

    if not cli_has(["info"]):
        return None
    exe = streamctl_cli()
    times = []
    for _ in range(repeat):
        t = now()
        done = subprocess.run(
            [exe, "--db", path, "info", "--json"], capture_output=True, env=cli_env(), timeout=120
        )
        times.append((now() - t) * 1000)
        if done.returncode != 0:
            return None
        json.loads(done.stdout)
    times.sort()
    return times[len(times) // 2]


# ----------------------------------------------------------------------------- contention


def run_contention(cfg, producers: int = 4, consumers: int = 4) -> dict[str, float]:
    import streamctl

    per = cfg.contention
    with tempdir("cont-") as d:
        db = os.path.join(d, "cont.db")
        stop = os.path.join(d, "stop")
        r = streamctl.connect(db)
        r.xgroup_create("jobs", "g", id="0", mkstream=True)
        procs = []
        for _ in range(producers):
            procs.append(("p", _spawn("producer", db, "jobs", str(per))))
        for i in range(consumers):
            procs.append(("c", _spawn("consumer", db, "jobs", "g", f"c{i}", stop)))
        time.sleep(0.5)  # let them import and connect (they wait for a line on stdin)
        t0 = time.monotonic()
        for _, p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = {"p": [], "c": []}
        for kind, p in procs:
            if kind == "p":
                results["p"].append(json.loads(p.stdout.readline()))
        produced_at = time.monotonic()
        total = per * producers
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            info = r.xinfo_groups("jobs")[0]
            if info["pending"] == 0 and info["entries-read"] == total:
                break
            time.sleep(0.005)
        consumed_at = time.monotonic()
        open(stop, "w").close()
        for kind, p in procs:
            if kind == "c":
                results["c"].append(json.loads(p.stdout.readline()))
        for _, p in procs:
            p.stdin.close()
            p.wait(60)
        r.close()
    consumed = sum(c["n"] for c in results["c"])
    if consumed != total:
        raise RuntimeError(f"contention: consumed {consumed} of {total}")
    everyone = results["p"] + results["c"]
    return {
        "contention.produce": rate(total, produced_at - t0),
        "contention.consume": rate(total, consumed_at - t0),
        "contention.lock_errors": float(sum(x["lock_errors"] for x in everyone)),
        "contention.errors": float(sum(x["errors"] for x in everyone)),
    }


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, PROCS, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


if __name__ == "__main__":
    from types import SimpleNamespace

    cfg = SimpleNamespace(
        single=2000, backlog=10000, read1=1000, read100=10000, pipeline=20000, contention=1000
    )
    print(run_lib(cfg))
    print(run_contention(cfg))
    with tempdir("scale-") as d:
        s = ScaleDB(d, 1000, 1, 0)
        print(s.measure(cfg, "1k"))
        s.close()
