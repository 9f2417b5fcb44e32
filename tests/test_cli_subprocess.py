"""The installed ``streamctl`` in real processes: a few runs per command on both backends,
signals (SIGINT 130, SIGTERM 143), a closed pipe (quiet, 141), binary stdin, a terminal
(Rich tables, NO_COLOR)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from clitools import EXE, on_terminal, one_line_error, run, target_args

from streamctl.exitcodes import ExitCode

pytestmark = pytest.mark.skipif(EXE is None, reason="streamctl is not installed")


def test_produce_group_consume_ack_info(target):
    first = run(target, "add", "jobs", "to=a@b.c", "n=1")
    assert first.returncode == 0 and first.stderr == ""
    batch = run(target, "add", "jobs", "--batch", input='{"to": "x"}\n{"to": "y", "n": 2}\n')
    assert batch.returncode == 0 and len(batch.stdout.split()) == 2
    assert run(target, "len", "jobs").stdout == "3\n"
    assert run(target, "group", "create", "jobs", "g", "0").returncode == 0
    got = run(target, "readgroup", "jobs", "g", "w1", "--count", "2", "--json")
    msgs = [json.loads(line) for line in got.stdout.splitlines()]
    assert msgs[0] == {
        "stream": "jobs",
        "id": first.stdout.strip(),
        "fields": {"to": "a@b.c", "n": "1"},
    }
    assert run(target, "ack", "jobs", "g", msgs[0]["id"]).stdout == "1\n"
    assert run(target, "pending", "jobs", "g", "--json").stdout.startswith('{"pending": 1')
    info = json.loads(run(target, "info", "--json").stdout)
    (g,) = info["streams"][0]["groups"]
    assert (g["pending"], g["lag"]) == (1, 1)
    assert (
        run(target, "claim", "jobs", "g", "w2", "0", msgs[1]["id"], "--justid").stdout
        == msgs[1]["id"] + "\n"
    )
    assert (
        run(target, "autoclaim", "jobs", "g", "w3", "0", "--justid").stdout == msgs[1]["id"] + "\n"
    )
    assert run(target, "range", "jobs", "--rev", "--count", "1").stdout.split("\t")[1] == "to=y"
    assert run(target, "del", "jobs", msgs[0]["id"]).stdout == "1\n"
    assert run(target, "trim", "jobs", "--maxlen", "0").stdout == "2\n"


@pytest.mark.parametrize(
    "args, stdin, code",
    [
        (["add", "s", "novalue"], None, ExitCode.USAGE),
        (["add", "s", "--data", "{nope"], None, ExitCode.USAGE),
        (["add", "s", "--batch"], b'{"a": 1}\n\xc3\x28\n', ExitCode.USAGE),
        (["add", "s", "--data", "-"], b"\xff\xfe", ExitCode.USAGE),
        (["range", "s", "bad-id"], None, ExitCode.USAGE),
        (["readgroup", "s", "nogroup", "c"], None, ExitCode.NOT_FOUND),
        (["info", "nostream"], None, ExitCode.NOT_FOUND),
        (["nosuchcommand"], None, ExitCode.USAGE),
    ],
)
def test_errors_are_one_line_with_the_documented_code(target, args, stdin, code):
    proc = run(target, *args, input=stdin)
    assert proc.returncode == code, proc.stderr
    one_line_error(proc.stderr)


def test_bad_batch_line_keeps_the_lines_before_it(target):
    proc = run(target, "add", "s", "--batch", input=b'{"a": 1}\n{"b": 2}\n\xc3\x28\n{"d": 4}\n')
    assert proc.returncode == ExitCode.USAGE and "stdin line 3" in proc.stderr
    assert len(proc.stdout.split()) == 2
    assert run(target, "len", "s").stdout == "2\n"


@pytest.fixture
def reaped():
    """Processes registered here are killed at teardown if a test left them running (a
    failed assertion or a timeout must not leave a `--follow` reader behind)."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _follow(target, *extra):
    """A `read --follow` process that has provably entered its loop."""
    first = run(target, "add", "s", "n=0").stdout.strip()
    proc = subprocess.Popen(
        [EXE, *target_args(target), "read", "s", "--follow", "--from", first, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run(target, "add", "s", "n=1")
    line = proc.stdout.readline().decode()
    assert line.endswith("\tn=1\n") or line.endswith('{"n": "1"}}\n'), line
    return proc


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_exit_128_plus_signal_quietly(target, sig, code, reaped):
    proc = _follow(target)
    reaped.append(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert err == b""


def test_follow_prints_as_messages_arrive(target, reaped):
    proc = _follow(target, "--json")
    reaped.append(proc)
    try:
        run(target, "add", "s", "n=2")
        assert json.loads(proc.stdout.readline())["fields"] == {"n": "2"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_closed_pipe_exits_quietly(target):
    lines = "".join(json.dumps({"n": i, "pad": "x" * 100}) + "\n" for i in range(3000))
    assert run(target, "add", "s", "--batch", input=lines).returncode == 0
    proc = subprocess.Popen(
        [EXE, *target_args(target), "range", "s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`: the reader goes away while output is pending
    err = proc.stderr.read()
    proc.wait(timeout=30)
    assert err == b""
    assert proc.returncode == ExitCode.SIGPIPE


def test_info_watch_repeats_when_piped(target, reaped):
    run(target, "add", "s", "n=1")
    proc = subprocess.Popen(
        [EXE, *target_args(target), "info", "--watch", "--interval", "0.1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reaped.append(proc)
    snapshots = [json.loads(proc.stdout.readline()) for _ in range(2)]
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert snapshots[0] == snapshots[1] and snapshots[0]["streams"][0]["name"] == "s"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_info_draws_tables_on_a_terminal_and_honours_no_color(target):
    run(target, "add", "s", "n=1")
    run(target, "group", "create", "s", "g", "0")
    code, text = on_terminal(target, "info", env={"NO_COLOR": "1"})
    assert code == 0
    assert "STREAM\t" not in text and "stream" in text and "g" in text
    assert any(ch in text for ch in "│┃|") and "\x1b[" not in text.replace("\x1b[?25l", "").replace(
        "\x1b[?25h", ""
    )
    code, colored = on_terminal(target, "info", env={"NO_COLOR": None, "FORCE_COLOR": None})
    assert code == 0 and "\x1b[" in colored
