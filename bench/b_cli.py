"""streamctl's command line, as shell scripts use it (process startup included).

The worker figures reuse bench/bench_worker.py (the worker's own benchmark) when present.
Every figure is skipped, not failed, when ``streamctl`` or the command is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _common import Skip, cli_env, cli_has, fields, now, rate, streamctl_cli, tempdir

FIGURES = {
    "cli.add_ms": ("`streamctl add` one process per message", "ms/process"),
    "cli.python_ms": ("for scale: `python -c 'import sqlite3, json'`", "ms/process"),
    "cli.add_batch": ("`streamctl add --batch` (NDJSON on stdin, one process)", "msgs/s"),
    "cli.consume_json": ("`streamctl consume --json --once` > /dev/null", "msgs/s"),
    "cli.consume_exec": ("`consume --exec /bin/true --concurrency 2 --once`", "msgs/s"),
    "cli.xargs": ("`seq N | xargs -P2 -n1 /bin/true`", "runs/s"),
}


def _require(command: list[str]) -> str:
    exe = streamctl_cli()
    if exe is None:
        raise Skip("streamctl is not installed")
    if not cli_has(command):
        raise Skip(f"streamctl {' '.join(command)} is not available")
    return exe


def _run(cmd, **kw) -> float:
    t = now()
    done = subprocess.run(cmd, env=cli_env(), **kw)
    elapsed = now() - t
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else ""
        raise RuntimeError(f"{cmd!r} exited {done.returncode}: {err.strip()[:300]}")
    return elapsed


def run_add(cfg) -> dict[str, float]:
    exe = _require(["add"])
    out = {}
    with tempdir("cli-") as d:
        db = os.path.join(d, "cli.db")
        cmd = [exe, "--db", db, "add", "jobs", "to=user@example.com", "subject=hello", "n=1"]
        base = [sys.executable, "-c", "import sqlite3, json"]
        for _ in range(2):  # warm-up: page cache, bytecode, the database itself
            _run(cmd, capture_output=True)
            _run(base, capture_output=True)
        adds, pys = [], []
        for _ in range(cfg.cli_adds):  # alternate, so drifting load hits both alike
            adds.append(_run(cmd, capture_output=True) * 1000)
            pys.append(_run(base, capture_output=True) * 1000)
        adds.sort()
        pys.sort()
        out["cli.add_ms"] = adds[len(adds) // 2]
        out["cli.python_ms"] = pys[len(pys) // 2]

        n = cfg.cli_batch
        data = "".join(json.dumps(fields(i)) + "\n" for i in range(n)).encode()
        t = now()
        done = subprocess.run(
            [exe, "--db", db, "add", "--batch", "batch"],
            input=data,
            capture_output=True,
            env=cli_env(),
        )
        elapsed = now() - t
        if done.returncode != 0:
            raise RuntimeError(f"add --batch exited {done.returncode}: {done.stderr[-300:]!r}")
        if done.stdout.count(b"\n") != n:
            raise RuntimeError("add --batch did not print one ID per line")
        out["cli.add_batch"] = rate(n, elapsed)
    return out


def run_worker(cfg) -> dict[str, float]:
    """consume --json and consume --exec vs xargs -P2: bench_worker.py's functions."""
    exe = _require(["consume"])
    import bench_worker

    with tempdir("cli-") as d:
        db = os.path.join(d, "worker.db")
        args = ["--db", db]
        out = {"cli.consume_json": bench_worker.run_print(exe, args, db, cfg.cli_consume)}
        base = bench_worker.baseline(cfg.cli_exec, 2)
        out["cli.xargs"] = base["xargs"]
        out["cli.consume_exec"] = bench_worker.run_exec(exe, args, db, cfg.cli_exec, 2)
    return out


if __name__ == "__main__":
    from types import SimpleNamespace

    cfg = SimpleNamespace(cli_adds=10, cli_batch=20000, cli_consume=20000, cli_exec=500)
    print(run_add(cfg))
    print(run_worker(cfg))
