"""Shared helpers for the benchmark suite: temp files, timing, machine description."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
TMP_ROOT = os.path.join(RESULTS_DIR, "tmp")  # git-ignored; on the same disk as the repo

# One message, the same for every system: a small JSON-ish job description.
FIELDS = {"to": "user@example.com", "subject": "hello", "n": "0"}
PAYLOAD = json.dumps(FIELDS)

now = time.perf_counter


class Skip(Exception):
    """A benchmark that cannot run here (missing tool/command); reason in the message."""


@contextlib.contextmanager
def tempdir(prefix: str = "run-"):
    """A fresh directory for one run's files, removed afterwards."""
    os.makedirs(TMP_ROOT, exist_ok=True)
    path = tempfile.mkdtemp(prefix=prefix, dir=TMP_ROOT)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fields(i: int) -> dict[str, str]:
    return {"to": "user@example.com", "subject": "hello", "n": str(i)}


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def median(values):
    return statistics.median(values)


def percentile(sorted_values, p: float) -> float:
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def streamctl_cli() -> str | None:
    """The ``streamctl`` executable: next to this Python first (the venv), then PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "streamctl")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("streamctl")


def cli_has(command: list[str]) -> bool:
    """Whether ``streamctl <command...> --help`` works (the command exists)."""
    exe = streamctl_cli()
    if exe is None:
        return False
    try:
        done = subprocess.run(
            [exe, *command, "--help"], capture_output=True, timeout=60, env=cli_env()
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STREAMCTL_URL", None)
    env.pop("STREAMCTL_DB", None)
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def engine_available() -> str | None:
    """None if the streamctl SQLite engine can be used, else why not."""
    try:
        import streamctl

        with tempdir("probe-") as d:
            r = streamctl.connect(os.path.join(d, "probe.db"))
            try:
                r.xadd("probe", {"a": "1"})
            finally:
                r.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *[os.path.relpath(sys.argv[0], REPO_DIR)], *sys.argv[1:]]),
        "filesystem": _filesystem(TMP_ROOT),
        "loadavg_at_start": _loadavg(),
    }
    try:
        import streamctl

        info["streamctl"] = streamctl.__version__
    except Exception:  # noqa: BLE001
        pass
    try:
        import redis

        info["redis-py"] = redis.__version__
    except Exception:  # noqa: BLE001
        pass
    try:
        out = subprocess.run(
            ["git", "-C", REPO_DIR, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0:
            info["git"] = out.stdout.strip()
    except OSError:
        pass
    return info


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _filesystem(path: str) -> str:
    """The mount point and type holding ``path`` (Linux), e.g. '/ ext4'."""
    try:
        path = os.path.realpath(path if os.path.exists(path) else os.path.dirname(path))
        best = ("", "")
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                mnt, fstype = parts[1], parts[2]
                inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) > len(best[0]):
                    best = (mnt, fstype)
        return " ".join(best).strip()
    except OSError:
        return ""


def cpu_seconds_of(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc, in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        data = fh.read()
    rest = data.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(rest[11]) + int(rest[12])) / ticks
