"""Review of the command line and the worker: each test is one defect found by using the
installed ``streamctl`` as a user would (real processes, bounded timeouts, no timing
assertions). Backend-neutral tests take ``target`` and run on SQLite and on Valkey."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clitools import EXE, on_terminal, one_line_error, run, target_args

import streamctl
from streamctl.exitcodes import ExitCode

pytestmark = pytest.mark.skipif(EXE is None, reason="streamctl is not installed")

ROOT = Path(__file__).resolve().parent.parent


def _raw(argv, env=None, cwd=None, timeout=30, **kw):
    """Run ``argv`` (str or bytes items) with bytes stdout/stderr decoded leniently."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(argv, capture_output=True, env=full_env, cwd=cwd, timeout=timeout, **kw)
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def _client(target, **kw):
    return streamctl.connect(target, **kw)


def _wait_for(pred, what, limit=15.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


# ----------------------------------------------------------------- arguments and input


def test_claim_does_not_turn_ids_into_xclaim_options(target):
    """`claim ... ID...`: the IDs reach XCLAIM unchecked, so an ID word such as FORCE is
    taken as an option (it creates a PEL entry for a message nobody read), and a malformed
    ID is 'Unrecognized XCLAIM option' with exit 3 instead of a usage error."""
    r = _client(target)
    msg_id = r.xadd("s", {"a": "1"})
    r.xgroup_create("s", "g", id="$")
    forced = run(target, "claim", "s", "g", "mallory", "0", msg_id, "FORCE")
    assert forced.returncode == ExitCode.USAGE, forced.stdout + forced.stderr
    assert r.xpending("s", "g")["pending"] == 0
    r.close()
    bad = run(target, "claim", "s", "g", "c", "0", "bad")
    assert bad.returncode == ExitCode.USAGE, bad.stderr


def test_non_utf8_argument_is_a_usage_error(target):
    """A non-UTF-8 byte in argv ends as 'internal error: UnicodeEncodeError ...' (exit 3);
    exitcodes.USAGE documents non-UTF-8 input as exit 2."""
    proc = _raw([EXE, *target_args(target), "add", "s", b"\xff=\xfe"])
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert "internal error" not in one_line_error(proc.stderr)


def test_empty_db_option_does_not_fall_back_to_the_default_database(tmp_path):
    """`--db "$UNSET_VAR"` silently writes to the user's default database."""
    data_home = tmp_path / "data"
    proc = _raw([EXE, "--db", "", "add", "s", "a=1"], env={"XDG_DATA_HOME": str(data_home)})
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert not (data_home / "streamctl" / "streams.db").exists()


def test_streamctl_url_that_is_not_a_url_is_rejected_like_url_option(tmp_path):
    """`--url redis:/:pw@host/0` is refused, but the same STREAMCTL_URL is used as a file
    path: directories named after the URL (password included) appear in the cwd."""
    proc = _raw(
        [EXE, "len", "s"],
        env={"STREAMCTL_URL": "redis:/:hunter2@127.0.0.1/0", "XDG_DATA_HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert not (tmp_path / "redis:").exists()
    assert "hunter2" not in proc.stderr


def test_mistyped_url_never_prints_the_password():
    proc = _raw([EXE, "--url", "redis:/:hunter2@127.0.0.1:1/0", "len", "s"])
    assert proc.returncode == ExitCode.USAGE
    assert "hunter2" not in proc.stderr, proc.stderr


def test_unknown_url_option_is_a_usage_error(target):
    """An unknown query option is 'internal error: TypeError ...' with exit 3."""
    url = target + "?bogus=1" if "://" in target else f"sqlite:///{target}?bogus=1"
    proc = _raw([EXE, "--url", url, "len", "s"])
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert "internal error" not in one_line_error(proc.stderr)


@pytest.mark.parametrize("cmd", [["create", "s", "g", "0", "--mkstream"], ["setid", "s", "g", "0"]])
def test_json_is_accepted_after_every_command(target, cmd):
    """DESIGN §7: --json is also accepted after the command (group create/destroy/setid
    answer 'No such option: --json')."""
    if cmd[0] == "setid":
        r = _client(target)
        r.xgroup_create("s", "g", id="0", mkstream=True)
        r.close()
    proc = run(target, "group", *cmd, "--json")
    assert proc.returncode == 0, proc.stderr


def test_count_help_matches_what_is_accepted():
    """range/read/readgroup advertise --count [x>=0], but 0 is refused (exit 2,
    'XRANGE count must be a positive integer')."""
    for command in ("range", "read", "readgroup"):
        text = run(None, command, "--help").stdout
        line = next(ln for ln in text.splitlines() if ln.strip().startswith("--count"))
        assert "x>=0" not in line, f"{command}: {line}"


# ----------------------------------------------------------------------- output


def test_autoclaim_justid_reports_the_next_start(target):
    """The help says 'the next --start goes to stderr'; with --justid it never does, so a
    script paging with --justid cannot continue."""
    r = _client(target)
    for i in range(3):
        r.xadd("s", {"n": str(i)})
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c1", {"s": ">"})
    r.close()
    plain = run(target, "autoclaim", "s", "g", "c2", "0", "--count", "1")
    assert "next start:" in plain.stderr
    justid = run(target, "autoclaim", "s", "g", "c3", "0", "--count", "1", "--justid")
    assert justid.returncode == 0
    assert "next start:" in justid.stderr, justid.stderr


def test_info_survives_a_non_utf8_value(target):
    """One binary field value anywhere makes `info` fail for every stream (exit 3)."""
    raw = streamctl.connect(target, decode_responses=False)
    try:
        raw.xadd("bin", {b"k": b"\xff\xfe"})
        raw.xadd("ok", {b"k": b"v"})
    finally:
        raw.close()
    proc = run(target, "info", "--json")
    assert proc.returncode == 0, proc.stderr
    assert {s["name"] for s in json.loads(proc.stdout)["streams"]} == {"bin", "ok"}


@pytest.mark.parametrize("how", ["full", "closed"])
def test_stdout_write_error_is_not_a_database_error(db_path, how):
    """`len s > /dev/full` exits 6 'database unusable: No space left on device' (the
    database is fine); with stdout closed it is 'internal error: AttributeError' (3)."""
    if how == "full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    argv = [EXE, "--db", db_path, "len", "s"]
    with open(os.devnull if how == "closed" else "/dev/full", "w") as out:
        proc = subprocess.run(
            argv,
            stdout=out,
            stderr=subprocess.PIPE,
            preexec_fn=(lambda: os.close(1)) if how == "closed" else None,
            timeout=30,
        )
    err = proc.stderr.decode()
    assert proc.returncode != ExitCode.DATABASE, err
    assert "internal error" not in err, err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_info_on_an_80_column_terminal_shows_whole_ids(db_path):
    """On a standard 80-column terminal the overview truncates IDs and names ('17958…')."""

    target = db_path
    r = _client(target)
    r.xadd("jobs", {"n": "1"})
    last = r.xadd("jobs", {"n": "2"})
    r.xgroup_create("jobs", "mailers", id="0")
    r.close()
    code, text = on_terminal(target, "info", env={"COLUMNS": "80", "LINES": "24", "NO_COLOR": "1"})
    assert code == 0
    assert last in text and "mailers" in text, text


def test_man_page_examples_are_whole_command_lines():
    """An example in man/streamctl.1 is split so that '--max-deliveries 5' is a line of
    its own: pasted, it runs the worker without it and then fails."""
    text = (ROOT / "man" / "streamctl.1").read_text()
    in_example = False
    for line in text.splitlines():
        if line.startswith(".nf"):
            in_example = True
        elif line.startswith(".fi"):
            in_example = False
        elif in_example:
            assert not line.startswith("\\-"), line


# ----------------------------------------------------------------------- the worker


def _consumers(target, stream, group):
    r = streamctl.connect(target)
    try:
        return [c["name"] for c in r.xinfo_consumers(stream, group)]
    finally:
        r.close()


def test_print_worker_removes_its_automatic_consumer_after_a_signal(target):
    """`consume` without --exec, stopped by SIGTERM (its normal end), leaves its
    HOSTNAME-PID consumer in the group; --exec removes it. They pile up in XINFO."""
    r = _client(target)
    r.xgroup_create("s", "g", id="0", mkstream=True)
    r.close()
    proc = subprocess.Popen(
        [EXE, *target_args(target), "consume", "s", "-g", "g"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _consumers(target, "s", "g"), "the worker's consumer")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.SIGTERM
    assert _consumers(target, "s", "g") == []


def test_worker_survives_a_message_that_is_not_utf8(target):
    """One non-UTF-8 value stops every worker: `consume` exits 3 ('stored data is not
    UTF-8 text'); on Redis the message is left delivered to a consumer that is gone, and
    the next worker to claim it dies the same way. The good message is never processed."""
    raw = streamctl.connect(target, decode_responses=False)
    try:
        raw.xadd("s", {b"k": b"\xff"})
        good = raw.xadd("s", {b"k": b"ok"}).decode()
    finally:
        raw.close()
    proc = run(target, "consume", "s", "-g", "g", "--create-group", "--once", "-x", "true")
    assert proc.returncode == 0, proc.stderr
    r = streamctl.connect(target)
    try:
        assert not r.xpending_range("s", "g", good, good, 1)
        info = {g["name"]: g for g in r.xinfo_groups("s")}
        assert info["g"]["last-delivered-id"] == good
    finally:
        r.close()


@pytest.mark.parametrize("option", ["--backoff", "--timeout", "--kill-after"])
def test_worker_refuses_nan_durations(db_path, option):
    """NaN passes WorkerOptions.validate(): --timeout nan means no timeout, and with a
    failing command --backoff nan crashes the worker later with an unrelated 'XCLAIM
    message_ids must be a non empty list' (exit 2 only by accident)."""
    proc = run(
        db_path, "consume", "s", "-g", "g", "--create-group", "--once", "-x", "false",
        option, "nan",
    )  # fmt: skip
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert option in one_line_error(proc.stderr)


def test_start_event_shows_the_command_as_it_can_be_rerun(target):
    """The start event joins argv with spaces: -x "sh -c 'exit 0'" is logged as
    exec="sh -c exit 0", a different command."""
    r = _client(target)
    r.xadd("s", {"a": "1"})
    r.close()
    proc = run(
        target, "consume", "s", "-g", "g", "--create-group", "--once", "--json",
        "-x", "sh -c 'exit 0'",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    start = next(json.loads(ln) for ln in proc.stderr.splitlines() if '"start"' in ln)
    assert shlex.split(start["exec"]) == ["sh", "-c", "exit 0"], start["exec"]


def test_consume_block_0_waits_instead_of_spinning(valkey_url):
    """`--block 0` means 'forever' for read/readgroup; `consume --block 0` (no --exec)
    turns it into non-blocking XREADGROUP in a tight loop (a full core while idle).
    Counted as XREADGROUP calls on the server during an idle second."""
    import redis

    server = redis.Redis.from_url(valkey_url)
    server.flushdb()
    server.xgroup_create("s", "g", id="0", mkstream=True)
    proc = subprocess.Popen(
        [EXE, "--url", valkey_url, "consume", "s", "-g", "g", "--block", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _consumers(valkey_url, "s", "g"), "the worker's consumer")
        server.config_resetstat()
        time.sleep(1.0)
        calls = server.info("commandstats").get("cmdstat_xreadgroup", {}).get("calls", 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        server.close()
    assert calls < 50, f"{calls} XREADGROUP calls in one idle second"


def test_readme_tour_info_matches_the_tour():
    """The tour's `info` output shows LAG 2 right after `consume --once` processed every
    new message (the worker leaves lag 0); the example disagrees with the steps above it."""
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("<!-- tour:start -->")[1].split("<!-- tour:end -->")[0]
    row = re.search(r"^jobs\t.*$", tour, re.M).group(0).split("\t")
    lag = row[7]
    assert "consume jobs" not in tour or lag == "0", row
