"""Run every streamctl benchmark, print a table and the targets, write JSON.

    python bench/run.py [--quick] [--out bench/results/latest.json] [--only GROUP ...]

Each figure is the median of several runs (3 with --quick, 5 otherwise), every run on
fresh files under bench/results/tmp/ (removed afterwards). Runs are interleaved (run 1 of
every group, then run 2, ...) so that drifting machine load affects all systems alike.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import b_baseline  # noqa: E402
import b_cli  # noqa: E402
import b_streamctl  # noqa: E402
import b_wakeup  # noqa: E402
from _common import RESULTS_DIR, Skip, engine_available, machine, median, tempdir  # noqa: E402

FIGURES: dict[str, tuple[str, str]] = {}
for _mod in (b_baseline, b_streamctl, b_wakeup, b_cli):
    FIGURES.update(_mod.FIGURES)

MODES = {
    "quick": dict(
        runs=3,
        single=2000,
        big=100_000,
        pipeline=20_000,
        backlog=10_000,
        read1=1000,
        read100=10_000,
        contention=1000,
        scale_size=1_000_000,
        wake_trials=200,
        idle_seconds=3.0,
        cli_adds=10,
        cli_batch=20_000,
        cli_consume=20_000,
        cli_exec=1000,
    ),
    "full": dict(
        runs=5,
        single=5000,
        big=300_000,
        pipeline=50_000,
        backlog=10_000,
        read1=3000,
        read100=20_000,
        contention=2000,
        scale_size=1_000_000,
        wake_trials=200,
        idle_seconds=5.0,
        cli_adds=20,
        cli_batch=50_000,
        cli_consume=50_000,
        cli_exec=2000,  # the issue measures 2,000 messages
    ),
}

GROUPS = [
    "raw",
    "litequeue",
    "persistqueue",
    "redis",
    "lib",
    "scale",
    "contention",
    "wakeup",
    "cli",
]
ENGINE_GROUPS = {"lib", "scale", "contention", "cli"}


def size_key(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


class Suite:
    def __init__(self, cfg, groups: list[str], log) -> None:
        self.cfg = cfg
        self.groups = groups
        self.log = log
        self.samples: dict[str, list[float]] = {}
        self.skipped: dict[str, str] = {}
        self.failures: dict[str, list[str]] = {}
        self.state: dict = {}

    def add(self, values: dict[str, float | None]) -> None:
        for key, value in values.items():
            if value is not None:
                self.samples.setdefault(key, []).append(float(value))

    def attempt(self, group: str, fn) -> None:
        if group in self.skipped:
            return
        t = time.perf_counter()
        try:
            self.add(fn())
        except Skip as exc:
            self.skipped[group] = f"skipped: {exc}"
        except Exception as exc:  # noqa: BLE001 - one failing run must not stop the rest
            self.failures.setdefault(group, []).append(f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
        self.log(f"  {group:<13} {time.perf_counter() - t:6.1f}s")

    # -- groups --

    def setup(self) -> None:
        cfg = self.cfg
        why = engine_available()
        if why is not None:
            for g in ENGINE_GROUPS & set(self.groups):
                self.skipped[g] = f"skipped: the streamctl engine is not usable ({why})"
            self.state["no_engine"] = True
        if "redis" in self.groups:
            anchor = b_baseline.ValkeyAnchor()
            self.state["valkey_dir"] = tempdir("valkey-")
            try:
                anchor.start(self.state["valkey_dir"].__enter__())
                self.state["valkey"] = anchor
            except Exception as exc:  # noqa: BLE001
                self.skipped["redis"] = f"skipped: no Valkey server ({exc})"
        if "scale" in self.groups and "scale" not in self.skipped:
            self.log(f"building scale databases (1k and {size_key(cfg.scale_size)} entries)...")
            t = time.perf_counter()
            try:
                ctx = tempdir("scale-")
                d = ctx.__enter__()
                self.state["scale_dir"] = ctx
                self.state["small"] = b_streamctl.ScaleDB(d, 1000, 1, 0)
                self.state["large"] = b_streamctl.ScaleDB(d, cfg.scale_size, 50, 10_000)
                big = size_key(cfg.scale_size)
                self.add(
                    {
                        f"scale.{big}.build": self.state["large"].build_rate,
                        f"scale.{big}.bytes_per_msg": self.state["large"].bytes_per_msg,
                    }
                )
                for key, name in (("1k", "small"), (big, "large")):
                    self.add(
                        {f"scale.{key}.cli_info_ms": b_streamctl.cli_info_ms(self.state[name].path)}
                    )
            except Exception as exc:  # noqa: BLE001
                self.skipped["scale"] = f"failed: {type(exc).__name__}: {exc}"
                traceback.print_exc()
            self.log(f"  built in {time.perf_counter() - t:.1f}s")

    def one_run(self) -> None:
        cfg, s = self.cfg, self.state
        for g in self.groups:
            if g == "raw":
                self.attempt(g, lambda: b_baseline.run_raw(cfg))
            elif g == "litequeue":
                self.attempt(g, lambda: b_baseline.run_litequeue(cfg))
            elif g == "persistqueue":
                self.attempt(g, lambda: b_baseline.run_persistqueue(cfg))
            elif g == "redis":
                self.attempt(g, lambda: b_baseline.run_redis(cfg, s["valkey"]))
            elif g == "lib":
                self.attempt(g, lambda: b_streamctl.run_lib(cfg))
            elif g == "scale":
                self.attempt(g, self._scale_run)
            elif g == "contention":
                self.attempt(g, lambda: b_streamctl.run_contention(cfg))
            elif g == "wakeup":
                self.attempt(g, self._wakeup_run)
            elif g == "cli":
                self.attempt(g, self._cli_run)

    def _scale_run(self) -> dict[str, float]:
        out = self.state["small"].measure(self.cfg, "1k")
        out.update(self.state["large"].measure(self.cfg, size_key(self.cfg.scale_size)))
        return out

    def _wakeup_run(self) -> dict[str, float]:
        out = {}
        for mech in ("inotify", "poll"):
            out.update(b_wakeup.watcher_latency(mech, self.cfg.wake_trials))
            if not self.state.get("no_engine"):
                out.update(b_wakeup.lib_latency(mech, self.cfg.wake_trials))
        return out

    def _cli_run(self) -> dict[str, float]:
        out = {}
        errors = []
        for fn in (b_cli.run_add, b_cli.run_worker):
            try:
                out.update(fn(self.cfg))
            except Skip as exc:
                errors.append(str(exc))
        if not out and errors:
            raise Skip("; ".join(errors))
        return out

    def idle(self) -> None:
        if "wakeup" not in self.groups:
            return
        levels = ["watcher"] + ([] if self.state.get("no_engine") else ["lib"])
        self.log(
            f"idle CPU: {self.cfg.runs} blocked readers per mechanism for "
            f"{self.cfg.idle_seconds:g}s..."
        )
        try:
            for key, values in b_wakeup.idle_cpu(
                levels, self.cfg.idle_seconds, self.cfg.runs
            ).items():
                self.samples.setdefault(key, []).extend(values)
        except Exception as exc:  # noqa: BLE001
            self.skipped["idle"] = f"failed: {type(exc).__name__}: {exc}"
            traceback.print_exc()

    def teardown(self) -> None:
        s = self.state
        for name in ("small", "large"):
            if name in s:
                s[name].close()
        if "scale_dir" in s:
            s["scale_dir"].__exit__(None, None, None)
        if "valkey" in s:
            s["valkey"].stop()
        if "valkey_dir" in s:
            s["valkey_dir"].__exit__(None, None, None)


# ----------------------------------------------------------------------------- targets


def targets(fig: dict[str, float], big: str) -> list[dict]:
    """The project's targets, as ratios to figures of the same run."""
    out = []

    def ratio(name, num, den, need, scale=1.0):
        if num in fig and den in fig and fig[den] > 0:
            value = fig[num] / (fig[den] * scale)
            out.append(
                {
                    "target": name,
                    "value": round(value, 3),
                    "need": f">= {need:g}",
                    "met": value >= need,
                    "kind": "ratio",
                }
            )

    def absolute(name, key, op, need):
        if key in fig:
            v = fig[key]
            met = v >= need if op == ">=" else v <= need
            out.append(
                {
                    "target": name,
                    "value": round(v, 4),
                    "need": f"{op} {need:g}",
                    "met": met,
                    "kind": "absolute",
                }
            )

    ratio("xadd vs litequeue put (x)", "lib.xadd", "litequeue.put", 2.0)
    ratio("xadd vs raw single-row txn", "lib.xadd", "raw.single_txn", 0.60)
    ratio("COUNT 1 read+ack vs litequeue pop+done (x)", "lib.read1_ack", "litequeue.pop_done", 10.0)
    absolute("COUNT 100 read+ack msgs/s", "lib.read100_ack", ">=", 50_000)
    absolute("pipeline of 1000 xadd msgs/s", "lib.xadd_pipe", ">=", 150_000)
    for what in ("xadd", "xadd_pipe", "read1_ack", "read100_ack"):
        ratio(f"scale {big} vs 1k: {what}", f"scale.{big}.{what}", f"scale.1k.{what}", 0.80)
    absolute(f"info (lag of 50 groups) at {big}, ms", f"scale.{big}.info_ms", "<=", 5.0)
    absolute("wake-up p50 ms (library, inotify)", "wakeup.lib.inotify.p50", "<=", 2.0)
    absolute("wake-up p99 ms (library, inotify)", "wakeup.lib.inotify.p99", "<=", 10.0)
    absolute("idle blocked reader % core (library, inotify)", "idle.lib.inotify", "<=", 0.5)
    absolute("contention: lock errors", "contention.lock_errors", "<=", 0)
    # Targets owned by the CLI and worker issues, shown for completeness.
    if "cli.add_ms" in fig and "cli.python_ms" in fig:
        v = fig["cli.add_ms"] / fig["cli.python_ms"]
        out.append(
            {
                "target": "(CLI) add process / python -c startup",
                "value": round(v, 3),
                "need": "<= 1.6",
                "met": v <= 1.6,
                "kind": "ratio",
            }
        )
    ratio("(worker) consume --exec vs xargs -P2", "cli.consume_exec", "cli.xargs", 0.70)
    absolute("(worker) consume --json msgs/s", "cli.consume_json", ">=", 20_000)
    return out


# ----------------------------------------------------------------------------- output


def fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit in ("ms", "% core", "ms/process", "ratio"):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.0f}"


def table(figures: dict[str, dict]) -> str:
    lines = [f"{'figure':<66} {'median':>12}  {'unit':<10} {'min..max of runs':>24}", "-" * 116]
    order = list(FIGURES) + [k for k in figures if k not in FIGURES]
    for key in order:
        if key not in figures:
            continue
        f = figures[key]
        lo, hi = min(f["runs"]), max(f["runs"])
        spread = f"{fmt(lo, f['unit'])}..{fmt(hi, f['unit'])}" if len(f["runs"]) > 1 else ""
        lines.append(
            f"{f['label'][:66]:<66} {fmt(f['median'], f['unit']):>12}  {f['unit']:<10} {spread:>24}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 runs and smaller counts")
    ap.add_argument("--out", default=os.path.join(RESULTS_DIR, "latest.json"))
    ap.add_argument(
        "--chart",
        help="also draw the chart there [default: "
        "bench/results/chart.png when --out is the default]",
    )
    ap.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups")
    ap.add_argument("--runs", type=int, help="override the number of runs")
    ap.add_argument("--scale-size", type=int, help="entries in the large scale stream")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full"
    cfg = SimpleNamespace(**MODES[mode])
    if args.runs:
        cfg.runs = args.runs
    if args.scale_size:
        cfg.scale_size = args.scale_size
    groups = args.only or GROUPS

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    info = machine()
    log(
        f"streamctl benchmarks ({mode}: {cfg.runs} runs) on {info['cpu']}, "
        f"{info['cores']} cores, Python {info['python']}, SQLite {info['sqlite']}"
    )
    suite = Suite(cfg, groups, log)
    try:
        suite.setup()
        for i in range(cfg.runs):
            log(f"run {i + 1}/{cfg.runs}")
            suite.one_run()
        suite.idle()
    finally:
        suite.teardown()

    figures = {}
    for key, values in suite.samples.items():
        label, unit = FIGURES.get(key, (key, ""))
        figures[key] = {"label": label, "unit": unit, "median": median(values), "runs": values}
    medians = {k: v["median"] for k, v in figures.items()}
    checks = targets(medians, size_key(cfg.scale_size))
    elapsed = time.perf_counter() - started

    print(
        f"\nstreamctl benchmarks: {info['date']}  {info['cpu']} x{info['cores']}  "
        f"Python {info['python']}  SQLite {info['sqlite']}  ({mode}, median of {cfg.runs} runs,"
        f" {elapsed:.0f}s)"
    )
    print(f"command: {info['command']}\n")
    print(table(figures))
    if suite.skipped or suite.failures:
        print()
        for group, why in suite.skipped.items():
            print(f"  [{group}] {why}")
        for group, errors in suite.failures.items():
            print(
                f"  [{group}] {len(errors)} failed run(s) (figures from the others): "
                f"{errors[0][:200]}"
            )
    print(f"\n{'target':<52} {'value':>10}  {'need':<10} met")
    print("-" * 80)
    for c in checks:
        print(
            f"{c['target']:<52} {c['value']:>10,.3f}  {c['need']:<10} {'yes' if c['met'] else 'NO'}"
        )

    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"\nload average at start {info['loadavg_at_start']}, at end {info['loadavg_at_end']}"
        f" ({info['cores']} cores): other work on the machine widens the run-to-run spread"
    )
    result = {
        "machine": info,
        "mode": mode,
        "config": vars(cfg),
        "seconds": round(elapsed, 1),
        "figures": figures,
        "targets": checks,
        "skipped": suite.skipped,
        "failures": suite.failures,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    print(f"\nwrote {os.path.relpath(out)}")
    chart = args.chart
    if chart is None and out == os.path.abspath(os.path.join(RESULTS_DIR, "latest.json")):
        chart = os.path.join(RESULTS_DIR, "chart.png")
    if chart:
        import chart as chart_mod

        try:
            chart_mod.main([out, "-o", chart])
        except Exception as exc:  # noqa: BLE001 - the figures are written already
            print(f"chart not drawn: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
