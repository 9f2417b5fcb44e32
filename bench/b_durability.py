"""The cost of durability: ``synchronous=FULL`` (an fsync of the WAL at every commit)
against the default ``NORMAL`` (fsync only at checkpoints: a commit survives a crash of
the process, not a power cut).

    python bench/b_durability.py [--quick] [--out FILE.json]

Measured on fresh files under bench/results/tmp/ (the repository's disk), interleaved
runs, medians:

* ``xadd``: one add per transaction, one process (ops/s, p50 and p99 latency);
* ``pipeline100``: 100 adds per transaction (messages/s): the fsync is shared;
* ``4 producers``: four processes adding at once (total ops/s): commits queue on the
  write lock, so each one's fsync delays the others;
* ``cli add``: one ``streamctl add`` process per message (ms per message), the mode
  picked with ``STREAMCTL_SYNCHRONOUS``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import cli_env, fields, machine, median, now, percentile, streamctl_cli, tempdir  # noqa: E402

MODES = ("NORMAL", "FULL")


def single(path: str, mode: str, n: int) -> dict[str, float]:
    import streamctl

    r = streamctl.connect(path, synchronous=mode)
    r.xadd("warm", {"a": "1"})
    lat = []
    start = now()
    for i in range(n):
        t = now()
        r.xadd("bench", fields(i))
        lat.append(now() - t)
    total = now() - start
    r.close()
    lat.sort()
    return {
        "ops": n / total,
        "p50_ms": percentile(lat, 50) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3,
    }


def pipelined(path: str, mode: str, n: int, batch: int = 100) -> dict[str, float]:
    import streamctl

    r = streamctl.connect(path, synchronous=mode)
    start = now()
    for done in range(0, n, batch):
        pipe = r.pipeline()
        for i in range(done, min(n, done + batch)):
            pipe.xadd("bench", fields(i))
        pipe.execute()
    total = now() - start
    r.close()
    return {"msgs": n / total}


PRODUCER = textwrap.dedent(
    """
    import sys, time, streamctl
    path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r = streamctl.connect(path, synchronous=mode)
    r.xadd("warm", {"a": "1"})
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        r.xadd("bench", {"n": str(i)})
    """
)


def producers(path: str, mode: str, n: int, procs: int = 4) -> dict[str, float]:
    import streamctl

    streamctl.connect(path).close()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", PRODUCER, path, mode, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    start = now()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        child.stdin.close()
        if child.wait(600) != 0:
            raise RuntimeError("a producer failed")
    return {"ops": procs * n / (now() - start)}


def cli_adds(path: str, mode: str, n: int) -> dict[str, float]:
    exe = streamctl_cli()
    if exe is None:
        return {}
    env = cli_env(STREAMCTL_SYNCHRONOUS=mode)
    subprocess.run([exe, "--db", path, "add", "s", "f=v"], env=env, check=True, capture_output=True)
    import streamctl

    keeper = streamctl.connect(path)  # another open connection: no checkpoint at each exit
    times = []
    for i in range(n):
        t = now()
        subprocess.run(
            [exe, "--db", path, "add", "s", f"n={i}"], env=env, check=True, capture_output=True
        )
        times.append(now() - t)
    keeper.close()
    return {"ms": median(times) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    n_single = 500 if args.quick else 2000
    n_pipe = 20_000 if args.quick else 50_000
    n_procs = 200 if args.quick else 500
    n_cli = 10 if args.quick else 30

    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, mode: str, got: dict[str, float]) -> None:
        for key, value in got.items():
            results.setdefault(f"{name} {key}", {}).setdefault(mode, []).append(value)

    for _ in range(runs):
        for mode in MODES:  # interleaved: drifting load hits both modes alike
            with tempdir("durability-") as d:
                record("xadd", mode, single(os.path.join(d, "a.db"), mode, n_single))
                record("pipeline100", mode, pipelined(os.path.join(d, "b.db"), mode, n_pipe))
                record("4 producers", mode, producers(os.path.join(d, "c.db"), mode, n_procs))
                record("cli add", mode, cli_adds(os.path.join(d, "d.db"), mode, n_cli))
        time.sleep(0.1)

    table = {
        name: {mode: median(v) for mode, v in by_mode.items()} for name, by_mode in results.items()
    }
    print(f"{'figure':<26}{'NORMAL':>12}{'FULL':>12}{'FULL/NORMAL':>14}")
    for name, by_mode in table.items():
        normal, full = by_mode["NORMAL"], by_mode["FULL"]
        print(f"{name:<26}{normal:>12.2f}{full:>12.2f}{full / normal:>13.2f}x")
    info = machine()
    print(
        f"\n{info['cpu']}, {info['cores']} cores, {info['filesystem']}, SQLite {info['sqlite']}, "
        f"{info['date']}, median of {runs} runs"
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": info, "results": table, "runs": runs}, fh, indent=2)


if __name__ == "__main__":
    main()
