"""``streamctl consume`` throughput, measured as a user runs it (the command, startup
included):

* ``exec``: ``consume --exec /bin/true --concurrency 2 --once`` over 2,000 messages,
  against the same 2,000 runs of /bin/true, 2 at a time, from ``xargs -P2`` and from a
  plain shell loop, in the same run (the faster of the two is the baseline). Target:
  at least 70% of the baseline's rate.
* ``print``: ``consume --json --once`` to /dev/null over 100,000 messages. Target:
  at least 20,000 messages/s.

Runs alternate (baseline, worker, baseline, ...) so that a noisy machine affects both;
the median of ``--repeat`` runs (and of the per-run ratios) is reported. The worker's
figures include its startup (Python, the CLI, opening the database), measured on its own
as ``worker.startup``.

    python bench/bench_worker.py                 # SQLite file
    python bench/bench_worker.py --url redis://127.0.0.1:6379/0   # a server you run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Skip, cli_env, cli_has, machine, median, rate, streamctl_cli, tempdir  # noqa: E402

FIGURES = {
    "worker.startup": ("consume --exec /bin/true --once on an empty stream", "ms"),
    "worker.exec": ("consume --exec /bin/true -c 2 --once (startup included)", "msgs/s"),
    "worker.exec_loop": ("the same, startup (above) subtracted", "msgs/s"),
    "worker.baseline": ("/bin/true 2 at a time: best of xargs -P2 and a shell loop", "runs/s"),
    "worker.exec_ratio": ("consume --exec rate / baseline rate (target >= 0.70)", "ratio"),
    "worker.print_json": ("consume --json --once > /dev/null (startup included)", "msgs/s"),
}


def _fill(target: str, stream: str, n: int) -> None:
    import streamctl

    r = streamctl.connect(target)
    try:
        if target.startswith(("redis://", "rediss://", "unix://")):
            r.delete(stream)
        chunk = 5000
        for start in range(0, n, chunk):
            pipe = r.pipeline(transaction=True)
            for i in range(start, min(n, start + chunk)):
                pipe.xadd(stream, {"to": "user@example.com", "subject": "hello", "n": str(i)})
            pipe.execute()
    finally:
        r.close()


def _pending(target: str, stream: str, group: str) -> int:
    import streamctl

    r = streamctl.connect(target)
    try:
        return int(r.xpending(stream, group)["pending"])
    finally:
        r.close()


def _timed(cmd: list[str], **kw) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, **kw)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{cmd!r} exited {done.returncode}: {getattr(done, 'stderr', '')}")
    return elapsed


def baseline(n: int, concurrency: int) -> dict[str, float]:
    xargs = _timed(
        ["sh", "-c", f"seq {n} | xargs -P{concurrency} -n1 /bin/true"], stdout=subprocess.DEVNULL
    )
    loop_body = " ".join(["/bin/true &"] * concurrency) + " wait;"
    loop = _timed(
        ["sh", "-c", f"i=0; while [ $i -lt {n // concurrency} ]; do {loop_body} i=$((i+1)); done"],
        stdout=subprocess.DEVNULL,
    )
    return {"xargs": rate(n, xargs), "loop": rate(n, loop)}


def _consume(cli: str, target_args: list[str], stream: str, *options: str) -> list[str]:
    """``streamctl consume STREAM -g g --create-group OPTIONS --once -q``."""
    return [cli, *target_args, "consume", stream, "--group", "g", "--create-group",
            *options, "--once", "-q"]  # fmt: skip


def _all_acked(target: str, stream: str) -> None:
    left = _pending(target, stream, "g")
    if left:
        raise RuntimeError(f"{left} messages left pending")


def run_exec(cli: str, target_args: list[str], target: str, n: int, concurrency: int) -> float:
    stream = f"bench-exec-{time.monotonic_ns()}"
    _fill(target, stream, n)
    cmd = _consume(
        cli, target_args, stream, "--exec", "/bin/true", "--concurrency", str(concurrency)
    )
    elapsed = _timed(cmd, env=cli_env(), stderr=subprocess.PIPE, text=True)
    _all_acked(target, stream)
    return rate(n, elapsed)


def run_startup(cli: str, target_args: list[str], target: str) -> float:
    stream = f"bench-empty-{time.monotonic_ns()}"
    cmd = _consume(cli, target_args, stream, "--exec", "/bin/true")
    return _timed(cmd, env=cli_env(), stderr=subprocess.PIPE, text=True)


def run_print(cli: str, target_args: list[str], target: str, n: int) -> float:
    stream = f"bench-print-{time.monotonic_ns()}"
    _fill(target, stream, n)
    cmd = _consume(cli, target_args, stream, "--json")
    elapsed = _timed(
        cmd, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _all_acked(target, stream)
    return rate(n, elapsed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="a Redis/Valkey URL instead of a SQLite file")
    ap.add_argument("--cli", help="the streamctl executable [default: the venv's]")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--print-messages", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = ap.parse_args(argv)

    cli = args.cli or streamctl_cli()
    if cli is None or (args.cli is None and not cli_has(["consume"])):
        raise Skip("streamctl consume is not available")
    with tempdir("worker-") as d:
        if args.url:
            target, target_args = args.url, ["--url", args.url]
        else:
            target = os.path.join(d, "bench.db")
            target_args = ["--db", target]
        base, worker, printed, startup = [], [], [], []
        for _ in range(args.repeat):
            b = baseline(args.messages, args.concurrency)
            base.append(max(b.values()))
            startup.append(run_startup(cli, target_args, target))
            worker.append(run_exec(cli, target_args, target, args.messages, args.concurrency))
            printed.append(run_print(cli, target_args, target, args.print_messages))
    start_s = median(startup)
    results = {
        "worker.startup": start_s * 1000,
        "worker.exec": median(worker),
        "worker.exec_loop": median([args.messages / (args.messages / w - start_s) for w in worker]),
        "worker.baseline": median(base),
        "worker.exec_ratio": median([w / b for w, b in zip(worker, base, strict=True)]),
        "worker.print_json": median(printed),
        "backend": "redis" if args.url else "sqlite",
        "runs": {"exec": worker, "baseline": base, "print_json": printed, "startup_s": startup},
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, (label, unit) in FIGURES.items():
            value = results[key]
            print(
                f"{label:<62} {value:>10.2f} {unit}"
                if unit == "ratio"
                else f"{label:<62} {value:>10.0f} {unit}"
            )
        print(f"backend: {results['backend']}; runs: {json.dumps(results['runs'])}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Skip as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        sys.exit(0)
