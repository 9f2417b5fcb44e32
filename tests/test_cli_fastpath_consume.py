"""The hand-parsed fast path of ``streamctl consume`` (``cli/fast_consume.py``) against the
Typer app: the same argv, run once by the installed executable (which takes the fast path
where it can) and once forced through the app, on identical databases, must give the same
stdout, stderr (event lines with their times and pids blanked), exit code and stored
data."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from clitools import EXE, ID_RE

from streamctl.cli import fast_consume

SLOW = [
    sys.executable,
    "-c",
    "import sys; from streamctl.cli.entry import run_app; sys.exit(run_app(sys.argv[1:]))",
]

C = ["--consumer", "c"]  # a fixed consumer name: the default one carries the pid

# (argv after the global --db, whether the fast path must take it)
CASES = [
    (["consume", "s", "-g", "g", "--once", *C], True),
    (["consume", "s", "--group=g", "--once", "--json", *C], True),
    (["--json", "consume", "s", "-g", "g", "--once", "--consumer=c", "--max", "1"], True),
    (["-q", "consume", "s", "-g", "g", "--once", *C], True),
    (["consume", "-g", "g", "--once", *C, "s", "--quiet"], True),
    (["consume", "s", "-g", "g", "--once", "-x", "true", "-c", "2", *C], True),
    (["consume", "s", "-g", "g", "--once", "-x", "false", "--max-deliveries", "1", *C], True),
    (["consume", "s", "-g", "g", "--once", "-x", "false", "--max-deliveries=2", "-v", *C], True),
    (["consume", "s", "-g", "g", "--once", "--exec", "sh -c 'echo oops >&2; exit 65'", *C], True),
    (["consume", "s", "-g", "g", "--once", "-x", "true", "--json", "-v", *C], True),
    (["consume", "s", "-g", "g", "--once", "-x", "true"], True),  # the default consumer
    (["consume", "s", "-g", "nogroup", "--once", *C], True),
    (["consume", "new", "-g", "g", "--create-group", "--once", *C], True),
    (["consume", "s", "-g", "g", "--create-group", "--once", "--count", "1", *C], True),
    (["consume", "-", "-g", "g", "--once", *C], True),
    (["consume", "s", "-g", "g", "--once", "--timeout", "0", "-x", "true"], True),
    (["consume", "s", "-g", "g", "--once", "--backoff", "1", "--kill-after", "2"], True),
    (["consume", "s", "-g", "g", "--once", "-x", ""], True),
    (["consume", "s", "-g", "g", "--once", "-x", "/nonexistent/x"], True),
    (["consume", "s", "-g", "g", "--once", "-x", "no-such-command-streamctl"], True),
    (["consume", "s", "-g", "g", "--once", "-x", "'unclosed"], True),
    (["consume", "s", "-g", "", "--once"], True),
    (["consume", "", "-g", "g", "--once"], True),
    (["consume", "s", "-g", "g", "--once", "--dead-letter", "s"], True),
    (["consume", "s", "-g", "g", "--once", "--reject-code", "0", "-x", "true"], True),
    (["consume", "s", "-g", "g", "--once", "--reject-code", "300", "-x", "true"], True),
    (
        [
            "consume",
            "s",
            "-g",
            "g",
            "--once",
            "-x",
            "true",
            *C,
            "--grace",
            "1.5",
            "--shutdown-grace",
            "2",
            "--kill-after",
            ".5",
            "--claim-idle",
            "1000",
            "--block",
            "0",
            "--count",
            "3",
            "--timeout",
            "30.",
            "--backoff",
            "0",
            "--backoff-max",
            "1",
            "--dead-letter",
            "dl",
            "--reject-code",
            "66",
        ],
        True,
    ),  # fmt: skip
    # Everything below is for the app (the fast path must step aside).
    (["consume", "s", "-g", "g", "--once", "--count", "0"], False),
    (["consume", "s", "-g", "g", "--once", "--claim-idle", "0"], False),
    (["consume", "s", "--once"], False),
    (["consume", "-g", "g", "--once"], False),
    (["consume", "s", "t", "-g", "g", "--once"], False),
    (["consume", "s", "-g", "g", "--help"], False),
    (["consume", "s", "-gg", "--once"], False),
    (["consume", "s", "-g", "g", "-qv", "--once"], False),
    (["consume", "s", "-g", "g", "--once", "--timeout", "1e3", "-x", "true"], False),
    (["consume", "s", "-g", "g", "--once", "--timeout", "-1", "-x", "true"], False),
    (["consume", "s", "-g", "g", "--once", "--timeout", "nan", "-x", "true"], False),
    (["consume", "s", "-g", "g", "--once", "--bogus"], False),
    (["consume", "s", "-g", "g", "--once=1"], False),
    (["consume", "--", "s", "-g", "g", "--once"], False),
    (["consume", "s", "-g", "g", "--once", "--block", "x"], False),
    (["consume", "s", "-g", "g", "--once", "--consumer"], False),
    (["consume", "s", "-g", "g", "--once", "-c", "\u0663", "-x", "true"], False),
    (["consume", "s", "-g", "g", "--once", "-c", "+2", "-x", "true"], False),
    (["consume", "s", "-g", "-", "--once"], False),
    (["consume"], False),
    (["--version", "consume", "s", "-g", "g", "--once"], False),
]

_BLANKS = [
    (re.compile(r"\b\d\d:\d\d:\d\d\.\d{3}\b"), "<time>"),  # event lines' clock
    (re.compile(r"\bpid=\d+"), "pid=<pid>"),
    (re.compile(r"\btime=\d+\.\d+s"), "time=<s>"),
    (re.compile(r'"time": \d+(\.\d+)?'), '"time": <t>'),
    (re.compile(r'"pid": \d+'), '"pid": <pid>'),
    (re.compile(r'"time": "\d+\.\d+s"'), '"time": "<s>"'),
    (re.compile(r"\b[\w.-]+-\d+\b(?= |\"|$)"), "<consumer>"),  # HOSTNAME-PID
    (re.compile(r"'failed_at', '\d+'"), "'failed_at', '<ms>'"),  # in dead letters
]


def _normalize(text: str) -> str:
    text = ID_RE.sub("<id>", text)
    for pattern, blank in _BLANKS:
        text = pattern.sub(blank, text)
    return text


def _seed(db: str) -> None:
    from streamctl.engine import Engine

    eng = Engine(db)
    try:
        eng.execute("XADD", "s", "1-0", "n", "1", "text", "a\tb")
        eng.execute("XADD", "s", "2-0", "n", "2")
        eng.execute("XGROUP", "CREATE", "s", "g", "0")
    finally:
        eng.close()


def _dump(db: str) -> list:
    from streamctl.engine import Engine

    eng = Engine(db)
    try:
        out = []
        for key in sorted(eng.execute("KEYS", "*")):
            entries = eng.execute("XRANGE", key, "-", "+")
            out.append([key, _normalize(str(entries))])
            for group in eng.execute("XINFO", "GROUPS", key):
                info = dict(zip(group[::2], group[1::2]))
                pending = eng.execute("XPENDING", key, info["name"], "-", "+", 100)
                out.append(
                    [info["name"], info["last-delivered-id"], [p[:2] + p[3:] for p in pending]]
                )
        return out
    finally:
        eng.close()


def _run(cmd: list[str], env: dict) -> tuple[int, str, str]:
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
    return proc.returncode, _normalize(proc.stdout.decode()), _normalize(proc.stderr.decode())


def _full(argv: list[str], db: str) -> list[str]:
    # global options stay before the command, --db among them
    if argv[:1] in (["--json"], ["-q"], ["--version"]):
        return [argv[0], f"--db={db}", *argv[1:]]
    return ["--db", db, *argv]


@pytest.mark.parametrize("argv, fast", CASES, ids=[" ".join(c[0]) or "-" for c in CASES])
def test_fast_path_and_app_agree(tmp_path, argv, fast):
    assert (fast_consume.parse(_full(argv, "x.db")) is not None) == fast
    results = []
    for name, cmd in (("fast", [EXE]), ("app", SLOW)):
        db = str(tmp_path / f"{name}.db")
        _seed(db)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / name), "NO_COLOR": "1"}
        results.append((_run(cmd + _full(argv, db), env), _dump(db)))
    (fast_out, fast_data), (app_out, app_data) = results
    assert fast_out == app_out
    assert fast_data == app_data


def test_parse_gives_consume_run_its_arguments():
    glob, kwargs = fast_consume.parse(
        ["--db", "x.db", "-q", "consume", "-g", "g", "s", "-x", "cmd a", "-c", "3", "--json",
         "--timeout", "2.5", "--max", "7", "--once", "--create-group", "-v"]
    )  # fmt: skip
    assert glob == {"db": "x.db", "url": None, "json": True, "quiet": True}
    assert kwargs == {
        "group": "g",
        "stream": "s",
        "exec_": "cmd a",
        "concurrency": 3,
        "timeout": 2.5,
        "max_messages": 7,
        "once": True,
        "create_group": True,
        "verbose": True,
    }
    glob, _ = fast_consume.parse(["--url", "redis://h/0", "consume", "s", "-g", "g"])
    assert glob["url"] == "redis://h/0"


def test_default_database_parity(tmp_path):
    """No --db: both paths use STREAMCTL_DB, else the same default file."""
    outs = []
    argv = ["consume", "s", "-g", "g", "--create-group", "--once", *C]
    for name, cmd in (("fast", [EXE]), ("app", SLOW)):
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCTL_")}
        env["XDG_DATA_HOME"] = str(tmp_path / name)
        outs.append(_run(cmd + argv, env))
        assert (tmp_path / name / "streamctl" / "streams.db").exists()
        env["STREAMCTL_DB"] = str(tmp_path / f"{name}-env.db")
        outs.append(_run(cmd + argv, env))
        assert (tmp_path / f"{name}-env.db").exists()
    assert outs[:2] == outs[2:]


def test_fast_path_imports_nothing_heavy(tmp_path):
    db = str(tmp_path / "x.db")
    _seed(db)
    code = (
        "import sys; from streamctl.cli.entry import main; rc = main(sys.argv[1:]); "
        "heavy = [m for m in ('typer', 'rich', 'redis', 'platformdirs', 'pydantic', 'click') "
        "if m in sys.modules]; "
        "print(rc, heavy, file=sys.stderr)"
    )
    for argv in (["-x", "true"], ["--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, "--db", db, "consume", "s", "-g", "g", "--once", "-q",
             *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert proc.stderr.strip() == "0 []"


# Global options given in full ({db}: the test's database).
GLOBAL_CASES = [
    ["--db=", "consume", "s", "-g", "g", "--once"],
    ["--db", "{db}", "--url", "redis://127.0.0.1:1/0", "consume", "s", "-g", "g", "--once"],
    ["--url=", "consume", "s", "-g", "g", "--once"],
    ["--url", "ftp://x", "consume", "s", "-g", "g", "--once"],
    ["--url", "redis://127.0.0.1:1/0", "consume", "s", "-g", "g", "--once"],  # unreachable
    ["--url", "sqlite:///{db}?synchronous=FULL", "consume", "s", "-g", "g", "--once", *C],
    ["--url", "sqlite:///{db}?bogus=1", "consume", "s", "-g", "g", "--once", *C],
    ["--db", "{db}", "--json", "-q", "consume", "s", "-g", "g", "--once", *C],
]


@pytest.mark.parametrize("argv", GLOBAL_CASES, ids=[" ".join(c) for c in GLOBAL_CASES])
def test_global_options_agree(tmp_path, argv):
    assert fast_consume.parse(argv) is not None
    results = []
    for name, cmd in (("fast", [EXE]), ("app", SLOW)):
        db = str(tmp_path / f"{name}.db")
        _seed(db)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / name)}
        out = _run(cmd + [a.replace("{db}", db) for a in argv], env)
        results.append((out[0], out[1], out[2].replace(db, "<db>"), _dump(db)))
    assert results[0] == results[1]
