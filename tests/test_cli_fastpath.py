"""The hand-parsed fast path of ``streamctl add`` (``cli/entry.py``) against the Typer app:
the same argv, run once by the installed executable (which takes the fast path where it
can) and once forced through the app, on identical fresh databases, must give the same
stdout, stderr, exit code and stored data."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from clitools import EXE, ID_RE

from streamctl.cli import entry

SLOW = [
    sys.executable,
    "-c",
    "import sys; from streamctl.cli.entry import run_app; sys.exit(run_app(sys.argv[1:]))",
]

# (argv after the global --db, whether the fast path must take it)
CASES = [
    (["add", "s", "f=v"], True),
    (["add", "s", "a=1", "b=x=y", "c=", "a=2"], True),
    (["add", "s", "ünï=cödé ✓", "sp=a b\tc"], True),
    (["--json", "add", "s", "f=v"], True),
    (["add", "s", "f=v", "--json"], True),
    (["-q", "add", "s", "f=v"], True),
    (["add", "--quiet", "s", "f=v"], True),
    (["add", "s", "--id", "9-9", "f=v"], True),
    (["add", "s", "--id=9-*", "f=v"], True),
    (["add", "s", "--id", "1-1", "f=v"], True),  # smaller than the seeded 5-0: engine error
    (["add", "s", "--id", "bad", "f=v"], True),  # invalid ID: engine error
    (["add", "s", "--id", "0-0", "f=v"], True),
    (["add", "s", "--id", "", "f=v"], True),
    (["add", "s", "--maxlen", "1", "f=v"], True),
    (["add", "s", "--maxlen=0", "f=v"], True),
    (["add", "s", "--maxlen", "1", "--approx", "f=v"], True),
    (["add", "s", "--minid", "6-0", "f=v"], True),
    (["add", "s", "--minid", "x", "f=v"], True),
    (["add", "s", "--nomkstream", "f=v"], True),
    (["add", "missing", "--nomkstream", "f=v"], True),
    (["add", "s", "--data", '{"n": 1, "s": "x", "o": {"k": [true, null]}}'], True),
    (["add", "--", "s", "f=v"], True),
    (["add", "s", "--", "-f=v"], True),
    (["add", "-", "f=v"], True),
    # Everything below is for the app (the fast path must step aside).
    (["add", "s", "foo"], False),
    (["add", "s", "=v"], False),
    (["add", "s"], False),
    (["add"], False),
    (["add", "s", "--data", "{"], False),
    (["add", "s", "--data", "[]"], False),
    (["add", "s", "--data", "{}"], False),
    (["add", "s", "--data", "@/nonexistent"], False),
    (["add", "s", "f=v", "--data", '{"a": "b"}'], False),
    (["add", "s", "--maxlen", "-1", "f=v"], False),
    (["add", "s", "--maxlen", "x", "f=v"], False),
    (["add", "s", "--maxlen", "1", "--minid", "0", "f=v"], False),
    (["add", "s", "--approx", "f=v"], False),
    (["add", "s", "--bogus", "f=v"], False),
    (["add", "s", "-x", "f=v"], False),
    (["add", "s", "--json=1", "f=v"], False),
    (["add", "s", "--id"], False),
    (["add", "--help"], False),
    (["add", "s", "--batch"], False),
]


def _seed(db: str) -> None:
    from streamctl.engine import Engine

    eng = Engine(db)
    try:
        eng.execute("XADD", "s", "5-0", "seed", "1")
    finally:
        eng.close()


def _dump(db: str) -> list:
    from streamctl.engine import Engine

    eng = Engine(db)
    try:
        return [
            [ID_RE.sub("<id>", str(x)) for x in (eid, fields)]
            for eid, fields in eng.execute("XRANGE", "s", "-", "+")
        ]
    finally:
        eng.close()


def _run(cmd: list[str], env: dict) -> tuple[int, str, str]:
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
    norm = lambda b: ID_RE.sub("<id>", b.decode())  # noqa: E731 - IDs carry the clock
    return proc.returncode, norm(proc.stdout), norm(proc.stderr)


@pytest.mark.parametrize("argv, fast", CASES, ids=[" ".join(c[0]) or "-" for c in CASES])
def test_fast_path_and_app_agree(tmp_path, argv, fast):
    def full(db: str) -> list[str]:
        # global options stay before the command, --db among them
        if argv[:1] in (["--json"], ["-q"]):
            return [argv[0], "--db", db, *argv[1:]]
        return ["--db", db, *argv]

    # noqa: E731
    assert (entry.parse_add(full("x.db")) is not None) == fast
    results = []
    for name, cmd in (("fast", [EXE]), ("app", SLOW)):
        db = str(tmp_path / f"{name}.db")
        _seed(db)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / name)}
        results.append((_run(cmd + full(db), env), _dump(db)))
    (fast_out, fast_data), (app_out, app_data) = results
    assert fast_out == app_out
    assert fast_data == app_data
    if fast_out[0] != 0:
        assert len(fast_out[2].splitlines()) == 1 or "--help" in argv or argv == ["add"]


def test_default_database_parity(tmp_path):
    """No --db: both paths use STREAMCTL_DB, else the same default file."""
    outs = []
    for name, cmd in (("fast", [EXE]), ("app", SLOW)):
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCTL_")}
        env["XDG_DATA_HOME"] = str(tmp_path / name)
        outs.append(_run(cmd + ["add", "s", "f=v"], env))
        assert (tmp_path / name / "streamctl" / "streams.db").exists()
        env["STREAMCTL_DB"] = str(tmp_path / f"{name}-env.db")
        outs.append(_run(cmd + ["add", "s", "f=v"], env))
        assert (tmp_path / f"{name}-env.db").exists()
    assert outs[:2] == outs[2:]


def test_fast_path_steps_aside_for_other_targets(monkeypatch):
    monkeypatch.setenv("STREAMCTL_URL", "redis://127.0.0.1:1/0")
    assert entry.fast_add(["add", "s", "f=v"]) is None
    monkeypatch.delenv("STREAMCTL_URL")
    monkeypatch.setenv("STREAMCTL_DB", "sqlite:///x.db")
    assert entry.fast_add(["add", "s", "f=v"]) is None
    assert entry.parse_add(["--url", "redis://h/0", "add", "s", "f=v"]) is None
    assert entry.parse_add(["--db", "redis://h/0", "add", "s", "f=v"]) is None
    assert entry.parse_add(["range", "s"]) is None


def test_fast_path_imports_nothing_heavy(tmp_path):
    code = (
        "import sys; from streamctl.cli.entry import main; rc = main(sys.argv[1:]); "
        "heavy = [m for m in ('typer', 'rich', 'redis', 'platformdirs', 'pydantic', 'click') "
        "if m in sys.modules]; "
        "print(rc, heavy, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--db", str(tmp_path / "x.db"), "add", "s", "f=v"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stderr.strip() == "0 []"


def test_xadd_args_match_redis_py():
    """The fast path builds XADD's arguments as redis-py's xadd() does."""
    import redis

    captured = {}

    class Capture(redis.Redis):
        def execute_command(self, *args, **options):
            captured["args"] = [a.decode() if isinstance(a, bytes) else str(a) for a in args]

    r = Capture()
    for argv in (
        ["add", "s", "--maxlen", "3", "--approx", "--nomkstream", "--id", "7-*", "a=1", "b=2"],
        ["add", "s", "--minid", "5-0", "a=1"],
        ["add", "s", "--maxlen", "0", "a=1"],
    ):
        req = entry.parse_add(argv)
        r.xadd(
            req["stream"],
            req["fields"],
            id=req["id"],
            maxlen=req["maxlen"],
            minid=req["minid"],
            approximate=req["approx"],
            nomkstream=req["nomkstream"],
        )
        assert [str(a) for a in entry.xadd_args(req)] == captured["args"]
