"""``streamctl consume``: the worker, through real ``streamctl`` processes, on both backends.

Children are small ``sh -c`` scripts that leave files behind (started/done markers, what
they read on stdin, their environment); the tests wait for those files or for the
database to reach a state, with generous deadlines, and never assert on timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import streamctl

# The venv's console script (STREAMCTL_TEST_BIN: another build of it).
BIN = os.path.join(os.path.dirname(sys.executable), "streamctl")  # the venv's console script
DEADLINE = 30.0  # s: the longest any wait here may take before the test fails


# ------------------------------------------------------------------------- helpers


def target_args(target: str) -> list[str]:
    return ["--url", target] if target.startswith("redis") else ["--db", target]


def consume_cmd(target: str, *args: str) -> list[str]:
    return [BIN, *target_args(target), "consume", *args]


def run(
    target: str, *args: str, cwd=None, env=None, timeout=DEADLINE
) -> subprocess.CompletedProcess:
    return subprocess.run(
        consume_cmd(target, *args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def start(target: str, *args: str, cwd=None, env=None, log: Path | None = None) -> subprocess.Popen:
    """A worker in the background; its stderr goes to ``log`` when given (read it with
    :func:`finish` or while it runs)."""
    stderr = open(log, "w") if log is not None else subprocess.PIPE  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            consume_cmd(target, *args),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=cwd,
            env=env,
        )
    finally:
        if log is not None:
            stderr.close()
    proc.log = log  # type: ignore[attr-defined]
    return proc


def cli(target: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN, *target_args(target), *args], capture_output=True, text=True, timeout=DEADLINE
    )


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finish(proc: subprocess.Popen, deadline: float = DEADLINE) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"worker did not exit; stderr:\n{err}") from None
    log = getattr(proc, "log", None)
    if log is not None:
        err = Path(log).read_text()
    return proc.returncode, out, err


def files(directory: Path, prefix: str) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(prefix))


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def pid_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def kill_group_quietly(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def pending(r, stream="jobs", group="g") -> int:
    return int(r.xpending(stream, group)["pending"])


@pytest.fixture
def jobs(r):
    """The stream ``jobs`` with group ``g`` at its start."""
    r.xgroup_create("jobs", "g", id="0", mkstream=True)
    return r


@pytest.fixture(scope="module", autouse=True)
def _cli_has_consume():
    done = subprocess.run([BIN, "consume", "--help"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"`streamctl consume` is not wired into the app: {done.stderr.strip()}")


# ------------------------------------------------------------------ printing mode


def test_print_json_acks_each_message(target, jobs):
    ids = [jobs.xadd("jobs", {"n": str(i), "text": "a\tb\nc"}) for i in range(5)]
    done = run(target, "jobs", "--group", "g", "--once", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [
        {"stream": "jobs", "id": i, "fields": {"n": str(n), "text": "a\tb\nc"}}
        for n, i in enumerate(ids)
    ]
    assert pending(jobs) == 0
    info = {g["name"]: g for g in jobs.xinfo_groups("jobs")}
    assert info["g"]["last-delivered-id"] == ids[-1]
    # The automatically named consumer has nothing pending, so it is not left behind.
    assert jobs.xinfo_consumers("jobs", "g") == []


def test_print_text_max_and_create_group(target, r):
    for i in range(3):
        r.xadd("jobs", {"n": str(i)})
    done = run(target, "jobs", "-g", "fresh", "--create-group", "--max", "2", "--consumer", "me")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith("\tn=0") and lines[1].endswith("\tn=1")
    # --max: the third is still new for the group.
    assert pending(r, group="fresh") == 0
    done = run(target, "jobs", "-g", "fresh", "--once", "--json", "--consumer", "me")
    assert [json.loads(x)["fields"] for x in done.stdout.splitlines()] == [{"n": "2"}]


def test_errors_are_one_line_with_exit_codes(target, r, tmp_path):
    r.xadd("jobs", {"n": "1"})
    done = run(target, "jobs", "--group", "nope", "--once")
    assert done.returncode == 4
    assert done.stderr.startswith("streamctl: NOGROUP") and done.stderr.count("\n") == 1
    done = run(target, "jobs", "--group", "g", "--exec", "no-such-command-xyz", "--create-group")
    assert (
        done.returncode == 2
        and "command not found" in done.stderr
        and "Traceback" not in done.stderr
    )
    done = run(target, "jobs", "--group", "g", "--exec", "'unbalanced")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    done = run(target, "jobs", "--group", "g", "--concurrency", "2")
    assert done.returncode == 2 and "only apply with --exec" in done.stderr


# ---------------------------------------------------------------------- exec mode

STDIN_AND_ENV = (
    'sh -c \'cat > "$OUT/in.$STREAMCTL_ID"; '
    'env | grep -E ^STREAMCTL_[A-Z_]+= | sort > "$OUT/env.$STREAMCTL_ID"\''
)


def test_exec_success_acks_with_message_on_stdin_and_metadata_in_env(target, jobs, tmp_path):
    ids = [jobs.xadd("jobs", {"n": str(i)}) for i in range(4)]
    done = run(
        target,
        "jobs",
        "-g",
        "g",
        "--consumer",
        "w1",
        "--exec",
        STDIN_AND_ENV,
        "-c",
        "2",
        "--once",
        env=env_with(OUT=str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    for n, msg_id in enumerate(ids):
        assert json.loads((tmp_path / f"in.{msg_id}").read_text()) == {
            "stream": "jobs",
            "id": msg_id,
            "fields": {"n": str(n)},
        }
        env = dict(
            line.split("=", 1) for line in (tmp_path / f"env.{msg_id}").read_text().splitlines()
        )
        assert env == {
            "STREAMCTL_CONSUMER": "w1",
            "STREAMCTL_DELIVERY_COUNT": "1",
            "STREAMCTL_GROUP": "g",
            "STREAMCTL_ID": msg_id,
            "STREAMCTL_STREAM": "jobs",
        }
    assert pending(jobs) == 0
    assert jobs.xlen("jobs:dead") == 0


def test_injection_runs_nothing(target, jobs, tmp_path):
    nasty = {
        "a": "$(touch pwned1)",
        "b": "`touch pwned2`",
        "c": "; touch pwned3; rm -rf /nonexistent-streamctl-test",
        "d": "'\"\\' \"; touch pwned4 #",
        "e": "line1\nline2\r\n$(touch pwned5)",
        "$(touch pwned6)": "key too",
    }
    msg_id = jobs.xadd("jobs", nasty)
    work = tmp_path / "work"
    work.mkdir()
    # The command line itself is split once (shlex) and never given to a shell either:
    # `echo` gets the literal words "$(touch" and "pwned7)".
    done = run(
        target,
        "jobs",
        "-g",
        "g",
        "--once",
        "--exec",
        "sh -c 'cat > \"$OUT/in\"'",
        cwd=work,
        env=env_with(OUT=str(work)),
    )
    assert done.returncode == 0, done.stderr
    jobs.xadd("jobs", {"x": "y"})
    done = run(target, "jobs", "-g", "g", "--once", "--exec", "echo $(touch pwned7)", cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "$(touch pwned7)\n"
    assert sorted(p.name for p in work.iterdir()) == ["in"]
    assert json.loads((work / "in").read_text()) == {
        "stream": "jobs",
        "id": msg_id,
        "fields": nasty,
    }
    assert pending(jobs) == 0


FAILING = "sh -c 'cat >/dev/null; echo \"boom on delivery $STREAMCTL_DELIVERY_COUNT\" >&2; exit 3'"


def test_failure_retries_then_dead_letters_and_requeue(target, jobs):
    msg_id = jobs.xadd("jobs", {"task": "t1", "n": "1"})
    done = run(
        target,
        "jobs",
        "-g",
        "g",
        "--consumer",
        "w",
        "--exec",
        FAILING,
        "--once",
        "--max-deliveries",
        "3",
        "--backoff",
        "0.01",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(" retry ") == 2 and " dead-letter " in done.stderr
    assert "boom on delivery 1" in done.stderr  # the child's stderr is relayed
    assert pending(jobs) == 0
    [(dl_id, dead)] = jobs.xrange("jobs:dead")
    assert dead["stream"] == "jobs" and dead["id"] == msg_id and dead["group"] == "g"
    assert json.loads(dead["fields"]) == {"task": "t1", "n": "1"}
    assert dead["deliveries"] == "3" and dead["reason"] == "max-deliveries"
    assert dead["exit_code"] == "3" and dead["status"] == "exit 3"
    assert dead["stderr"].strip().splitlines()[-1] == "boom on delivery 3"
    assert jobs.xrange("jobs") == [(msg_id, {"task": "t1", "n": "1"})]

    listed = cli(target, "deadletter", "list", "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = [json.loads(x) for x in listed.stdout.splitlines()]
    assert item["dead_letter_id"] == dl_id and item["fields"] == {"task": "t1", "n": "1"}

    requeued = cli(target, "deadletter", "requeue", "jobs")
    assert requeued.returncode == 0, requeued.stderr
    new_id = requeued.stdout.strip()
    assert jobs.xrange("jobs", min=new_id) == [(new_id, {"task": "t1", "n": "1"})]
    assert jobs.xlen("jobs:dead") == 0
    assert cli(target, "deadletter", "requeue", "jobs").returncode == 1
    # The requeued message is new work for the group.
    done = run(target, "jobs", "-g", "g", "--once", "--json")
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == [new_id]


def test_reject_code_dead_letters_at_once(target, jobs):
    jobs.xadd("jobs", {"n": "1"})
    done = run(
        target,
        "jobs",
        "-g",
        "g",
        "--exec",
        "sh -c 'echo bad input >&2; exit 65'",
        "--once",
        "--dead-letter",
        "rejects",
    )
    assert done.returncode == 0, done.stderr
    [(_, dead)] = jobs.xrange("rejects")
    assert dead["reason"] == "rejected" and dead["deliveries"] == "1" and dead["exit_code"] == "65"
    assert "bad input" in dead["stderr"]
    assert pending(jobs) == 0


def test_timeout_kills_the_whole_process_group(target, jobs, tmp_path):
    jobs.xadd("jobs", {"n": "1"})
    script = "sh -c 'sleep 60 & echo $! > \"$OUT/bg.pid\"; sleep 60'"
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--exec",
        script,
        "--once",
        "--timeout",
        "0.3",
        "--kill-after",
        "0.5",
        "--max-deliveries",
        "1",
        env=env_with(OUT=str(tmp_path)),
    )
    try:
        code, _, err = finish(proc)
        assert code == 0, err
        assert " timeout " in err
        bg = int(wait_for(lambda: (tmp_path / "bg.pid").read_text().strip(), "bg.pid"))
        wait_for(lambda: pid_gone(bg), "the background child to die")
        [(_, dead)] = jobs.xrange("jobs:dead")
        assert dead["reason"] == "max-deliveries" and dead["status"].startswith("timeout")
        assert pending(jobs) == 0
    finally:
        if (tmp_path / "bg.pid").exists():
            kill_group_quietly(int((tmp_path / "bg.pid").read_text()))


# ------------------------------------------------------------------------ shutdown

SLOW = (
    'sh -c \'echo $$ > "$OUT/started.$STREAMCTL_ID"; '
    'if [ ! -e "$OUT/fast" ]; then sleep "$NAP"; fi; '
    'echo $STREAMCTL_DELIVERY_COUNT > "$OUT/done.$STREAMCTL_ID"\''
)


def test_sigterm_with_enough_grace_acks_the_running_job(target, jobs, tmp_path):
    msg_id = jobs.xadd("jobs", {"n": "1"})
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--exec",
        SLOW,
        "--grace",
        "20",
        "--claim-idle",
        "200",
        env=env_with(OUT=str(tmp_path), NAP="0.5"),
    )
    try:
        wait_for(lambda: files(tmp_path, "started."), "the job to start")
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 143, err
    assert (tmp_path / f"done.{msg_id}").exists()
    assert pending(jobs) == 0


def test_sigterm_with_too_short_grace_leaves_it_pending_for_a_restart(target, jobs, tmp_path):
    msg_id = jobs.xadd("jobs", {"n": "1"})
    env = env_with(OUT=str(tmp_path), NAP="60")
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--consumer",
        "w1",
        "--exec",
        SLOW,
        "--grace",
        "0.2",
        "--kill-after",
        "0.5",
        env=env,
    )
    child = None
    try:
        started = wait_for(lambda: files(tmp_path, "started."), "the job to start")
        child = int(wait_for(lambda: started[0].read_text().strip(), "the child's pid"))
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
        assert code == 143, err
        assert "terminating" in err and "abandoned" in err
        wait_for(lambda: pid_gone(child), "the child to be terminated")
        assert not (tmp_path / f"done.{msg_id}").exists()
        assert pending(jobs) == 1  # not acknowledged
        # ... and handed back: it looks idle for --claim-idle (30 s by default) already.
        assert len(jobs.xpending_range("jobs", "g", "-", "+", 10, idle=29_000)) == 1

        # Restarted under the same name, the worker takes its own pending entry first.
        (tmp_path / "fast").touch()
        done = run(target, "jobs", "-g", "g", "--consumer", "w1", "--exec", SLOW, "--once", env=env)
        assert done.returncode == 0, done.stderr
        assert " recovered " in done.stderr
        assert (tmp_path / f"done.{msg_id}").read_text().strip() == "2"
        assert pending(jobs) == 0
    finally:
        proc.kill()
        if child:
            kill_group_quietly(child)


def test_second_signal_terminates_children(target, jobs, tmp_path):
    jobs.xadd("jobs", {"n": "1"})
    log = tmp_path / "worker.log"
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--exec",
        SLOW,
        "--grace",
        "60",
        "--kill-after",
        "0.5",
        env=env_with(OUT=str(tmp_path), NAP="60"),
        log=log,
    )
    child = None
    try:
        started = wait_for(lambda: files(tmp_path, "started."), "the job to start")
        child = int(wait_for(lambda: started[0].read_text().strip(), "the child's pid"))
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: " stopping " in log.read_text(), "the first signal to be handled")
        assert proc.poll() is None  # the first signal lets the job run on
        proc.send_signal(signal.SIGINT)
        code, _, err = finish(proc)
        assert code == 130, err
        wait_for(lambda: pid_gone(child), "the child to be terminated")
        assert pending(jobs) == 1
    finally:
        proc.kill()
        if child:
            kill_group_quietly(child)


# ----------------------------------------------------------- several workers

GATED = (
    'sh -c \'echo "$STREAMCTL_ID $STREAMCTL_CONSUMER" >> "$OUT/started.log"; '
    'while [ ! -e "$OUT/go" ]; do sleep 0.02; done; '
    'echo "$STREAMCTL_ID $STREAMCTL_CONSUMER" >> "$OUT/done.log"\''
)


def _log(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


def test_two_workers_share_the_load_and_never_run_a_message_twice(target, jobs, tmp_path):
    ids = [jobs.xadd("jobs", {"n": str(i)}) for i in range(24)]
    env = env_with(OUT=str(tmp_path))
    # --claim-idle far shorter than the jobs run: held entries are refreshed, never stolen.
    common = ("-g", "g", "--exec", GATED, "-c", "2", "--claim-idle", "300", "--once")
    a = start(target, "jobs", "--consumer", "a", *common, env=env)
    b = start(target, "jobs", "--consumer", "b", *common, env=env)
    try:
        wait_for(
            lambda: {c for _, c in _log(tmp_path / "started.log")} == {"a", "b"},
            "both workers to be running jobs",
        )
        time.sleep(0.7)  # > claim-idle while the jobs are held: nothing may be claimed
        (tmp_path / "go").touch()
        for proc in (a, b):
            code, _, err = finish(proc)
            assert code == 0, err
            assert " claimed " not in err
    finally:
        a.kill()
        b.kill()
    done = _log(tmp_path / "done.log")
    assert sorted(i for i, _ in done) == sorted(ids)  # each exactly once
    assert {c for _, c in done} == {"a", "b"}
    assert len(_log(tmp_path / "started.log")) == len(ids)
    assert pending(jobs) == 0


def test_a_sigkilled_workers_messages_are_finished_by_another(target, jobs, tmp_path):
    ids = [jobs.xadd("jobs", {"n": str(i)}) for i in range(6)]
    env = env_with(OUT=str(tmp_path), NAP="60")
    a = start(
        target,
        "jobs",
        "-g",
        "g",
        "--consumer",
        "a",
        "--exec",
        SLOW,
        "-c",
        "2",
        "--count",
        "2",
        "--claim-idle",
        "300",
        env=env,
    )
    children = []
    try:
        started = wait_for(
            lambda: len(files(tmp_path, "started.")) == 2 and files(tmp_path, "started."),
            "worker a to run two jobs",
        )
        children = [int(wait_for(lambda p=p: p.read_text().strip(), "pid")) for p in started]
        a.send_signal(signal.SIGKILL)
        a.wait(DEADLINE)
        for pid in children:  # a dead worker's children are orphans; end them
            kill_group_quietly(pid)
        held = {
            row["message_id"]
            for row in jobs.xpending_range("jobs", "g", "-", "+", 10, consumername="a")
        }
        assert len(held) >= 2
        # Their entries go idle now that nobody refreshes them.
        wait_for(
            lambda: (
                len(jobs.xpending_range("jobs", "g", "-", "+", 10, consumername="a", idle=400))
                == len(held)
            ),
            "a's entries to be idle past --claim-idle",
        )
        (tmp_path / "fast").touch()
        done = run(
            target,
            "jobs",
            "-g",
            "g",
            "--consumer",
            "b",
            "--exec",
            SLOW,
            "--claim-idle",
            "300",
            "--once",
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert " claimed " in done.stderr
        for msg_id in ids:
            assert (tmp_path / f"done.{msg_id}").exists(), msg_id
        for msg_id in held:
            assert (tmp_path / f"done.{msg_id}").read_text().strip() == "2"
        assert pending(jobs) == 0
    finally:
        a.kill()
        for pid in children:
            kill_group_quietly(pid)


def test_concurrency_runs_n_children_at_once(target, jobs, tmp_path):
    for i in range(3):
        jobs.xadd("jobs", {"n": str(i)})
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--exec",
        GATED,
        "-c",
        "3",
        "--once",
        env=env_with(OUT=str(tmp_path)),
    )
    try:
        wait_for(lambda: len(_log(tmp_path / "started.log")) == 3, "three jobs running at once")
        assert _log(tmp_path / "done.log") == []
        (tmp_path / "go").touch()
        code, _, err = finish(proc)
        assert code == 0, err
    finally:
        proc.kill()
    assert len(_log(tmp_path / "done.log")) == 3
    assert pending(jobs) == 0


def test_count_below_concurrency_holds_count_waiting_and_recovers_own_pending(
    target, jobs, tmp_path
):
    """--count 1 with -c 3: a restarted worker first finishes its own pending entries (it
    used to spin on reads of 0 messages), then the rest."""
    for i in range(8):
        jobs.xadd("jobs", {"n": str(i)})
    jobs.xreadgroup("g", "w1", {"jobs": ">"}, count=5)  # a crashed w1 left 5 pending
    proc = start(
        target,
        "jobs",
        "-g",
        "g",
        "--consumer",
        "w1",
        "--exec",
        GATED,
        "-c",
        "3",
        "--count",
        "1",
        "--once",
        env=env_with(OUT=str(tmp_path)),
    )
    try:
        wait_for(lambda: len(_log(tmp_path / "started.log")) == 3, "three jobs running")
        time.sleep(0.3)  # room to read more than it may
        # 3 of its own 5 run, 1 waits: nothing new is read while its own are left.
        held = jobs.xpending("jobs", "g")
        assert held["pending"] == 5, held
        (tmp_path / "go").touch()
        code, _, err = finish(proc)
        assert code == 0, err
    finally:
        proc.kill()
    assert len(_log(tmp_path / "done.log")) == 8
    assert pending(jobs) == 0


# -------------------------------------------------------------- the runtime, in-process


def test_backoff_schedule():
    from streamctl.worker.options import backoff_seconds

    assert [backoff_seconds(n, 1.0, 60.0) for n in (1, 2, 3, 4, 7, 8, 100)] == [
        1,
        2,
        4,
        8,
        60,
        60,
        60,
    ]
    assert backoff_seconds(3, 0.0, 60.0) == 0.0


def test_requeue_api_selects_by_stream_and_id(target):
    from streamctl.worker import deadletter

    r = streamctl.connect(target)
    try:
        entry = deadletter.record(
            stream="a",
            msg_id="1-0",
            group="g",
            consumer="c",
            fields={"k": "v"},
            deliveries=2,
            reason="rejected",
            status="exit 65",
            exit_code=65,
            stderr="",
        )
        r.xgroup_create("a", "g", id="0", mkstream=True)
        first = deadletter.move(r, "dl", "a", "g", "1-0", entry)
        other = r.xadd("dl", {**entry, "stream": "b"})
        done, missing, unreadable = deadletter.requeue(r, "a", "dl", ids=[first, other])
        assert (
            [d.dead_letter_id for d in done] == [first] and missing == [other] and unreadable == []
        )
        assert [f for _, f in r.xrange("a")] == [{"k": "v"}]
        assert [i for i, _ in r.xrange("dl")] == [other]
    finally:
        r.close()


def test_event_log_levels_and_json_events(target, jobs):
    for i in range(2):
        jobs.xadd("jobs", {"n": str(i)})
    quiet = run(target, "jobs", "-g", "g", "--exec", "true", "--once", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    for i in range(2):
        jobs.xadd("jobs", {"n": str(i)})
    verbose = run(target, "jobs", "-g", "g", "--exec", "true", "--once", "-v", "--json")
    assert verbose.returncode == 0, verbose.stderr
    events = [json.loads(line) for line in verbose.stderr.splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "start" and names[-1] == "stopped"
    assert names.count("run") == 2 and names.count("ok") == 2
    assert events[-1]["processed"] == 2


def test_a_large_message_reaches_stdin_whole(target, jobs, tmp_path):
    big = {"blob": "x" * 300_000, "tail": "end"}  # far more than a pipe's buffer
    msg_id = jobs.xadd("jobs", big)
    done = run(
        target,
        "jobs",
        "-g",
        "g",
        "--once",
        "--exec",
        "sh -c 'sleep 0.2; cat > \"$OUT/in\"'",
        env=env_with(OUT=str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "in").read_text()) == {
        "stream": "jobs",
        "id": msg_id,
        "fields": big,
    }


def test_child_that_cannot_start_reports_127():
    from streamctl.worker.children import Child

    child = Child(["/nonexistent/streamctl-test"], {}, b"{}\n", None, None)
    assert child.poll() and child.returncode == 127
    assert "cannot run" in child.stderr_tail() and child.status_text() == "cannot run (exit 127)"
