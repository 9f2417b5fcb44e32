"""``range`` pages through a stream; the worker sets aside messages that are not UTF-8
and ``deadletter requeue`` puts them back byte for byte; ``deadletter requeue`` reports
its problems as the one error line."""

from __future__ import annotations

import pytest
from clitools import cli, one_line_error, run

import streamctl
from streamctl.cli import app as app_module
from streamctl.exitcodes import ExitCode


@pytest.mark.parametrize("page", [1, 2, 3, 1000])
def test_range_pages_give_what_one_call_gives(target, monkeypatch, page):
    monkeypatch.setattr(app_module, "RANGE_PAGE", page)
    r = streamctl.connect(target)
    ids = [r.xadd("s", {"n": str(i)}, id=f"{i + 1}-0") for i in range(7)]
    r.close()
    cases = [
        ([], ids),
        (["--rev"], ids[::-1]),
        (["--count", "5"], ids[:5]),
        (["--rev", "--count", "4"], ids[::-1][:4]),
        (["2-0", "(6-0"], ids[1:5]),
        (["(2-0", "6", "--rev"], ids[2:6][::-1]),
    ]
    for args, want in cases:
        res = cli(target, "range", "s", *args)
        assert res.exit_code == 0, res.stderr
        assert [line.split("\t")[0] for line in res.stdout.splitlines()] == want, args


def test_range_ends_at_the_largest_id(target, monkeypatch):
    monkeypatch.setattr(app_module, "RANGE_PAGE", 1)
    top = f"{(1 << 64) - 1}-{(1 << 64) - 1}"
    r = streamctl.connect(target)
    r.xadd("s", {"n": "0"}, id="1-0")
    r.xadd("s", {"n": "1"}, id=top)
    r.close()
    assert cli(target, "range", "s").stdout.split() == ["1-0", "n=0", top, "n=1"]


def test_not_utf8_message_is_dead_lettered_and_requeued_exactly(target):
    raw = streamctl.connect(target, decode_responses=False)
    try:
        raw.xadd("s", {b"k\xfe": b"\xff\x00v"})
    finally:
        raw.close()
    proc = run(target, "consume", "s", "-g", "g", "--create-group", "--once", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    listed = run(target, "deadletter", "list", "s", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"reason": "not-utf8"' in listed.stdout and "\\\\xff" in listed.stdout
    again = run(target, "deadletter", "requeue", "s")
    assert again.returncode == 0, again.stderr
    raw = streamctl.connect(target, decode_responses=False)
    try:
        entries = raw.xrange("s")
        assert entries[-1][1] == {b"k\xfe": b"\xff\x00v"}
        assert raw.xlen("s:dead") == 0
    finally:
        raw.close()


def test_requeue_problems_are_one_error_line(target):
    proc = run(target, "deadletter", "requeue", "s", "--id", "1-1")
    assert proc.returncode == ExitCode.EMPTY
    assert "no dead letter 1-1" in one_line_error(proc.stderr)


def test_consume_refuses_infinite_durations(db_path):
    proc = run(db_path, "consume", "s", "-g", "g", "-x", "true", "--backoff-max", "inf")
    assert proc.returncode == ExitCode.USAGE
    assert "--backoff-max" in one_line_error(proc.stderr)
