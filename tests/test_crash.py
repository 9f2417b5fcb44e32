"""Crash test: producers, consumers and ``consume --exec`` workers SIGKILLed at random
moments while they share one database file; then nothing may be lost, duplicated or
acknowledged without having run.

Real processes only:

* library producers (``xadd`` one at a time, and 3-message pipelines), each add logged
  with the ID it reported and monotonic timestamps taken before and after the call;
* ``streamctl add`` processes (one message, or ``--batch`` of NDJSON), whose reported IDs
  are the complete lines they printed;
* library consumers of group ``lib`` (XAUTOCLAIM of dead consumers' entries, their own
  PEL, then ``>``), logging ``done`` before each XACK and the XACK's result after it;
* ``streamctl consume --exec`` workers of group ``exec``: the child (``sh``) logs its
  start, fails the first delivery of "flaky" messages, rejects "poison" ones (exit 65:
  dead-lettered), and logs ``ok`` before exiting 0.

Producers commit with ``synchronous`` NORMAL or FULL at random (``STREAMCTL_SYNCHRONOUS``).

A seeded RNG picks the victims and the moments (``STREAMCTL_CRASH_SEED`` replays a run;
the seed is printed and is in every failure message). Chaos lasts
``STREAMCTL_SOAK_SECONDS`` (default 8 s: the bounded form the suite runs); then every
process is killed one last time, and uninterrupted drainers finish the work. Invariants:

1. every add that reported an ID is in the stream, with that ID, exactly once (no token
   appears twice); pipelines are all-or-nothing; a ``--batch`` leaves a prefix of its
   lines and printed IDs only for stored ones;
2. IDs strictly increase along the stream, within each producer, and across processes in
   real time (an add that returned before another began has the smaller ID);
3. every message is acknowledged in both groups (PEL empty, lag 0) or, in ``exec``,
   dead-lettered, and never dead-lettered twice; poison messages are dead-lettered as
   rejected, never run successfully;
4. no acknowledgement without a successful run: every message acked in ``lib`` has a
   ``done`` record, every message acked (not dead-lettered) in ``exec`` an ``ok`` record;
   no XACK ever answered 1 twice for the same entry;
5. ``PRAGMA integrity_check`` is ``ok`` and the stored counters (length, pending counts)
   match the rows.

The number of kills survived is printed (``pytest -rP tests/test_crash.py``). A soak run:
``STREAMCTL_SOAK_SECONDS=300 pytest -rP tests/test_crash.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import streamctl
from streamctl import ids as idlib

SOAK = float(os.environ.get("STREAMCTL_SOAK_SECONDS", "8"))
SEED = int(os.environ.get("STREAMCTL_CRASH_SEED") or random.SystemRandom().randrange(2**32))
BIN = os.path.join(os.path.dirname(sys.executable), "streamctl")
STREAM = "jobs"
DRAIN_DEADLINE = 60.0 + SOAK / 2  # s: bounded waits for the drainers

pytestmark = pytest.mark.timeout(int(SOAK * 2 + 240))

PRODUCER = textwrap.dedent(
    """
    import os, sys, time, streamctl
    db, name, log, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    r = streamctl.connect(db)
    mono = time.monotonic_ns

    def kind(n):
        return "poison" if n % 23 == 0 else "flaky" if n % 7 == 0 else "ok"

    n = 0
    while True:
        n += 1
        if n % 5 == 0:
            base = f"{name}:{n}"
            pipe = r.pipeline(transaction=True)
            for part in "abc":
                pipe.xadd("jobs", {"token": f"{base}:{part}", "kind": "ok"})
            t0 = mono()
            got = pipe.execute()
            t1 = mono()
            os.write(fd, f"pipe {t0} {t1} {','.join(got)} {base}\\n".encode())
        else:
            token = f"{name}:{n}"
            t0 = mono()
            got = r.xadd("jobs", {"token": token, "kind": kind(n)})
            t1 = mono()
            os.write(fd, f"add {t0} {t1} {got} {token}\\n".encode())
        if pause:
            time.sleep(pause)
    """
)

CONSUMER = textwrap.dedent(
    """
    import os, sys, streamctl
    db, name, log, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    drain = mode == "drain"
    claim_idle = 0 if drain else 300
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    r = streamctl.connect(db)
    own_done = False
    while True:
        msgs = r.xautoclaim("jobs", "lib", name, claim_idle, "0-0", count=10)[1]
        if not msgs and not own_done:
            got = r.xreadgroup("lib", name, {"jobs": "0"}, count=10)
            msgs = got[0][1] if got else []
            own_done = not msgs
        if not msgs:
            got = r.xreadgroup("lib", name, {"jobs": ">"}, count=10, block=None if drain else 100)
            msgs = got[0][1] if got else []
        if not msgs:
            if drain and r.xpending("jobs", "lib")["pending"] == 0:
                break
            continue
        for msg_id, fields in msgs:
            os.write(fd, f"done {msg_id} {(fields or {}).get('token')}\\n".encode())
            n = r.xack("jobs", "lib", msg_id)
            os.write(fd, f"ack {msg_id} {n}\\n".encode())
    """
)

CHILD = textwrap.dedent(
    """\
    #!/bin/sh
    payload=$(cat)
    echo "start $STREAMCTL_ID $STREAMCTL_DELIVERY_COUNT $STREAMCTL_CONSUMER" >> "$CRASH_RUNLOG"
    case "$payload" in
        *'"kind": "poison"'*) exit 65 ;;
        *'"kind": "flaky"'*) [ "$STREAMCTL_DELIVERY_COUNT" = 1 ] && exit 3 ;;
    esac
    echo "ok $STREAMCTL_ID" >> "$CRASH_RUNLOG"
    exit 0
    """
)


class Chaos:
    """The processes of one run, their logs, and the kills."""

    def __init__(self, tmp: Path, rng: random.Random):
        self.tmp = tmp
        self.rng = rng
        self.db = str(tmp / "crash.db")
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.child = tmp / "child.sh"
        self.child.write_text(CHILD)
        self.child.chmod(0o755)
        self.runlog = tmp / "runs.log"
        self.env = {**os.environ, "CRASH_RUNLOG": str(self.runlog)}
        self.kills = 0
        self.counter = 0
        self.producers: list[subprocess.Popen] = []
        self.consumers: list[subprocess.Popen] = []
        self.workers: list[tuple[subprocess.Popen, str]] = []
        self.cli: list[dict] = []  # streamctl add processes: {proc, kind, tokens, t0, kill_at}
        self.cli_done: list[dict] = []
        self.worker_logs: list[Path] = []

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # ------------------------------------------------------------ starting

    def start_producer(self) -> None:
        name = self.name("p")
        pause = self.rng.choice([0.005, 0.01, 0.02])
        # Some producers commit with synchronous=FULL: both modes share the file.
        env = {**os.environ, "STREAMCTL_SYNCHRONOUS": self.rng.choice(["NORMAL", "FULL"])}
        self.producers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PRODUCER,
                    self.db,
                    name,
                    str(self.logs / f"{name}.log"),
                    str(pause),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        )

    def start_consumer(self, name: str | None = None, mode: str = "chaos") -> subprocess.Popen:
        name = name or self.name("c")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CONSUMER,
                self.db,
                name,
                str(self.logs / f"cons-{name}.log"),
                mode,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if mode == "chaos":
            self.consumers.append(proc)
        return proc

    def worker_cmd(self, consumer: str, *extra: str) -> list[str]:
        return [
            BIN,
            "--db",
            self.db,
            "consume",
            STREAM,
            "-g",
            "exec",
            "--consumer",
            consumer,
            "--exec",
            str(self.child),
            "--backoff",
            "0",
            "--max-deliveries",
            "20",
            *extra,
        ]

    def start_worker(self, consumer: str | None = None) -> None:
        consumer = consumer or self.name("w")
        log = self.logs / f"worker-{consumer}-{self.counter}.log"
        self.worker_logs.append(log)
        with open(log, "w") as err:
            proc = subprocess.Popen(
                self.worker_cmd(consumer, "-c", "2", "--claim-idle", "1000"),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
            )
        self.workers.append((proc, consumer))

    def start_cli_add(self) -> None:
        n = self.name("")
        if self.rng.random() < 0.3:
            lines = self.rng.randint(20, 150)
            tokens = [f"cliB{n}:{i}" for i in range(lines)]
            data = "".join(
                json.dumps({"token": t, "kind": "flaky" if i % 7 == 0 else "ok"}) + "\n"
                for i, t in enumerate(tokens)
            ).encode()
            argv = [BIN, "--db", self.db, "add", STREAM, "--batch"]
            kind = "batch"
        else:
            tokens = [f"cli{n}"]
            data = None
            argv = [BIN, "--db", self.db, "add", STREAM, f"token={tokens[0]}", "kind=ok"]
            kind = "one"
        t0 = time.monotonic_ns()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if data else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if data:
            try:
                proc.stdin.write(data)
            except BrokenPipeError:
                pass
            proc.stdin.close()
        # Most are killed at a random moment of their short life; some run to the end.
        kill_at = (
            time.monotonic() + self.rng.uniform(0.02, 0.6) if self.rng.random() < 0.6 else None
        )
        self.cli.append(
            {"proc": proc, "kind": kind, "tokens": tokens, "t0": t0, "kill_at": kill_at}
        )

    # ------------------------------------------------------------ killing

    def kill(self, proc: subprocess.Popen) -> bool:
        """SIGKILL ``proc`` if it is still running; True if that killed it."""
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if proc.returncode == -signal.SIGKILL:
            self.kills += 1
            return True
        return False

    def reap_cli(self, now: float, force: bool = False) -> None:
        still = []
        for item in self.cli:
            proc = item["proc"]
            if item["kill_at"] is not None and (force or now >= item["kill_at"]):
                self.kill(proc)
            elif force:
                proc.wait(30)
            if proc.poll() is None:
                still.append(item)
                continue
            item["t1"] = time.monotonic_ns()
            item["stdout"] = proc.stdout.read().decode()
            item["stderr"] = proc.stderr.read().decode()
            item["code"] = proc.returncode
            proc.stdout.close()
            proc.stderr.close()
            self.cli_done.append(item)
        self.cli = still

    def check_not_crashed(self, proc: subprocess.Popen, what: str) -> None:
        """A process that exited on its own (not killed) during chaos is a failure."""
        code = proc.poll()
        if code is not None and code != -signal.SIGKILL:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"seed {SEED}: {what} exited {code} on its own:\n{err}")

    def step(self) -> None:
        """Kill one random victim and start its replacement."""
        rng = self.rng
        for proc in self.producers + self.consumers:
            self.check_not_crashed(proc, "a library process")
        for proc, consumer in self.workers:
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                log = self.worker_logs[-1].read_text()
                raise AssertionError(
                    f"seed {SEED}: worker {consumer} exited {proc.returncode}:\n{log}"
                )
        what = rng.choices(["producer", "consumer", "worker"], [3, 2, 3])[0]
        if what == "producer":
            victim = self.producers.pop(rng.randrange(len(self.producers)))
            self.kill(victim)
            self.start_producer()
        elif what == "consumer":
            victim = self.consumers.pop(rng.randrange(len(self.consumers)))
            self.kill(victim)
            self.start_consumer()
        else:
            proc, consumer = self.workers.pop(rng.randrange(len(self.workers)))
            self.kill(proc)
            # Half the time the same consumer name comes back (it first finishes its own
            # pending entries); otherwise a new one claims the dead one's after --claim-idle.
            self.start_worker(consumer if rng.random() < 0.5 else None)


def read_log(path: Path) -> list[list[str]]:
    lines = path.read_text().split("\n")
    # The last line may be cut short by the kill: only complete lines count.
    return [line.split() for line in lines[:-1] if line]


def test_nothing_is_lost_when_processes_are_killed_at_random(tmp_path):
    print(f"crash seed: {SEED} (STREAMCTL_CRASH_SEED={SEED} replays it); chaos {SOAK:g}s")
    rng = random.Random(SEED)
    chaos = Chaos(tmp_path, rng)
    r = streamctl.connect(chaos.db)
    r.xgroup_create(STREAM, "lib", "0", mkstream=True)
    r.xgroup_create(STREAM, "exec", "0")
    ctx = f"seed {SEED}"

    try:
        for _ in range(2):
            chaos.start_producer()
            chaos.start_consumer()
            chaos.start_worker()
        end = time.monotonic() + SOAK
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.02, 0.25))
            if rng.random() < 0.5:
                chaos.start_cli_add()
            chaos.reap_cli(time.monotonic())
            chaos.step()
        # The last round: every chaos process dies.
        for proc in chaos.producers + chaos.consumers:
            chaos.kill(proc)
        for proc, _ in chaos.workers:
            chaos.kill(proc)
        chaos.reap_cli(time.monotonic(), force=True)
        kills = chaos.kills
        drain_started = time.monotonic()

        # Drain, uninterrupted: the library drainer claims everything left in 'lib'; the
        # exec drainer claims every idle entry (--claim-idle 1) and runs until nothing is
        # left (--once).
        drainer = chaos.start_consumer("drainer", mode="drain")
        with open(chaos.logs / "worker-final.log", "w") as err:
            final = subprocess.run(
                chaos.worker_cmd("final", "-c", "4", "--claim-idle", "1", "--once"),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=chaos.env,
                timeout=DRAIN_DEADLINE,
            )
        assert final.returncode == 0, (ctx, (chaos.logs / "worker-final.log").read_text())
        _, err = drainer.communicate(timeout=DRAIN_DEADLINE)
        assert drainer.returncode == 0, (ctx, err.decode())
        print(f"drained in {time.monotonic() - drain_started:.1f}s")
    finally:
        for proc in chaos.producers + chaos.consumers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for proc, _ in chaos.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        chaos.reap_cli(time.monotonic(), force=True)

    check_invariants(chaos, r, ctx)
    r.close()
    print(
        f"crash test: seed {SEED}, {kills} SIGKILLs survived, {r_len(chaos)} messages, nothing lost"
    )


def r_len(chaos: Chaos) -> int:
    with streamctl.connect(chaos.db) as r:
        return r.xlen(STREAM)


def check_invariants(chaos: Chaos, r, ctx: str) -> None:
    # ------------------------------------------------ the file itself
    raw = sqlite3.connect(chaos.db)
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], ctx
    assert raw.execute(
        "SELECT count(*) FROM groups g WHERE pending != (SELECT count(*) FROM pel WHERE grp=g.id)"
    ).fetchone() == (0,), ctx
    assert raw.execute(
        "SELECT count(*) FROM consumers c"
        " WHERE pending != (SELECT count(*) FROM pel WHERE consumer=c.id)"
    ).fetchone() == (0,), ctx
    raw.close()

    # ------------------------------------------------ the stream
    entries = r.xrange(STREAM)
    stream_ids = [idlib.parse(i) for i, _ in entries]
    assert all(a < b for a, b in zip(stream_ids, stream_ids[1:])), ctx
    assert r.xlen(STREAM) == len(entries), ctx
    info = r.xinfo_stream(STREAM)
    assert info["entries-added"] == len(entries), ctx  # nothing is ever deleted here
    assert info["last-generated-id"] == entries[-1][0], ctx
    by_token: dict[str, str] = {}
    for msg_id, fields in entries:
        token = fields["token"]
        assert token not in by_token, f"{ctx}: {token} stored twice ({by_token[token]}, {msg_id})"
        by_token[token] = msg_id
    kind_of = {msg_id: fields["kind"] for msg_id, fields in entries}

    # ------------------------------------------------ every reported add is there, once
    intervals: list[tuple[int, int, int]] = []  # (start ns, end ns, id) of reported adds
    reported = 0
    for log in sorted(chaos.logs.glob("p*.log")):
        previous = -1
        for rec in read_log(log):
            t0, t1 = int(rec[1]), int(rec[2])
            if rec[0] == "add":
                pairs = [(rec[3], rec[4])]
            else:
                pairs = [(i, f"{rec[4]}:{p}") for i, p in zip(rec[3].split(","), "abc")]
            for msg_id, token in pairs:
                assert by_token.get(token) == msg_id, f"{ctx}: {log.name} reported {msg_id} {token}"
                value = idlib.parse(msg_id)
                assert value > previous, f"{ctx}: IDs of {log.name} do not increase"
                previous = value
                intervals.append((t0, t1, value))
                reported += 1
    pipes: dict[str, set[str]] = {}
    for token in by_token:
        if token.count(":") == 2:
            base, _, part = token.rpartition(":")
            pipes.setdefault(base, set()).add(part)
    assert all(parts == {"a", "b", "c"} for parts in pipes.values()), f"{ctx}: torn pipeline"

    for item in chaos.cli_done:
        printed = item["stdout"].split("\n")[:-1]  # complete lines only
        if item["code"] == 0:
            assert len(printed) == len(item["tokens"]), (ctx, item)
        else:
            assert item["code"] == -signal.SIGKILL, (ctx, item["code"], item["stderr"])
        for token, msg_id in zip(item["tokens"], printed):
            assert by_token.get(token) == msg_id, f"{ctx}: streamctl add reported {msg_id} {token}"
            intervals.append((item["t0"], item["t1"], idlib.parse(msg_id)))
            reported += 1
        if item["kind"] == "batch":  # a prefix of the lines is stored, in order
            stored = [t in by_token for t in item["tokens"]]
            kept = stored.count(True)
            assert stored == [True] * kept + [False] * (len(stored) - kept), f"{ctx}: not a prefix"
            assert kept >= len(printed), ctx
            got = [idlib.parse(by_token[t]) for t in item["tokens"][:kept]]
            assert got == sorted(got), ctx
    assert reported > 0, ctx

    # Real-time order across processes: an add that returned before another began has
    # the smaller ID.
    intervals.sort()
    by_end = sorted(intervals, key=lambda iv: iv[1])
    best, j = -1, 0
    for t0, _t1, value in intervals:
        while j < len(by_end) and by_end[j][1] < t0:
            best = max(best, by_end[j][2])
            j += 1
        assert best < value, f"{ctx}: an ID is smaller than one returned before it was asked for"

    # ------------------------------------------------ group 'lib': all acked, each after 'done'
    done: set[str] = set()
    acked_once: dict[str, int] = {}
    for log in chaos.logs.glob("cons-*.log"):
        for rec in read_log(log):
            if rec[0] == "done":
                assert by_token.get(rec[2]) == rec[1], (ctx, rec)
                done.add(rec[1])
            elif rec[0] == "ack" and rec[2] == "1":
                acked_once[rec[1]] = acked_once.get(rec[1], 0) + 1
    assert all(n == 1 for n in acked_once.values()), f"{ctx}: an XACK answered 1 twice"
    lib = {g["name"]: g for g in r.xinfo_groups(STREAM)}["lib"]
    assert (lib["pending"], lib["lag"], lib["last-delivered-id"]) == (0, 0, entries[-1][0]), ctx
    missing = [i for i, _ in entries if i not in done]
    assert not missing, f"{ctx}: acked in 'lib' without a run: {missing[:5]}"

    # ------------------------------------------------ group 'exec': acked after 'ok', or dead
    ok: set[str] = set()
    for rec in read_log(chaos.runlog):
        if rec[0] == "ok":
            ok.add(rec[1])
    dead: dict[str, dict] = {}
    for _dl_id, fields in r.xrange(STREAM + ":dead"):
        original = fields["id"]
        assert original not in dead, f"{ctx}: {original} dead-lettered twice"
        dead[original] = fields
    exec_group = {g["name"]: g for g in r.xinfo_groups(STREAM)}["exec"]
    assert (exec_group["pending"], exec_group["lag"]) == (0, 0), ctx

    def worn_out(record: dict) -> bool:
        # Dead-lettered after --max-deliveries (20) deliveries with no run finishing: the
        # workers running it were killed every time. Legitimate, and very unlikely.
        return record["reason"] == "max-deliveries" and int(record["deliveries"]) >= 20

    for msg_id, _ in entries:
        if kind_of[msg_id] == "poison":
            assert msg_id not in ok, f"{ctx}: poison {msg_id} ran successfully"
            record = dead.get(msg_id)
            assert record is not None, f"{ctx}: poison {msg_id} was not dead-lettered"
            assert record["reason"] == "rejected" or worn_out(record), (ctx, msg_id, record)
        elif msg_id in dead:
            assert worn_out(dead[msg_id]), (ctx, msg_id, dead[msg_id])
        else:
            assert msg_id in ok, f"{ctx}: {msg_id} acked in 'exec' without a successful run"
    assert set(dead) <= set(kind_of), ctx
