"""Security of the command line and the worker, through the installed executable.

* Files the CLI creates are private whatever the umask: the database and its ``-wal``/
  ``-shm`` 0600, every directory it creates 0700; an existing database keeps its mode,
  and an existing directory is left alone. (``tests/test_storage.py`` covers the library.)
* ``consume --exec`` never lets a shell see a message: CMD is split once (shlex), run
  without a shell, and the message only travels on stdin; shell syntax in messages, in
  names and in CMD itself stays literal.
* A child's environment is exactly the worker's plus the five documented variables.
* A ``redis://`` password never appears in output, logs, errors or ``info``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

import streamctl

BIN = os.path.join(os.path.dirname(sys.executable), "streamctl")
DEADLINE = 30.0


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run(*args, umask: int | None = None, env=None, stdin: bytes | None = None, cwd=None):
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run(
        [BIN, *args],
        capture_output=True,
        text=stdin is None,
        input=stdin,
        preexec_fn=pre,
        env=env,
        cwd=cwd,
        timeout=DEADLINE,
    )


def wait_for(condition, what: str):
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ============================================================================ file modes


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o777], ids=["000", "022", "777"])
def test_the_cli_creates_private_files_and_directories_whatever_the_umask(tmp_path, umask):
    fast = tmp_path / "a" / "b" / "fast.db"  # `add` (the fast path)
    slow = tmp_path / "c" / "d" / "slow.db"  # a command of the Typer app
    got = run("--db", str(fast), "add", "s", "f=v", umask=umask)
    assert got.returncode == 0, got.stderr
    got = run("--db", str(slow), "group", "create", "s", "g", "--mkstream", umask=umask)
    assert got.returncode == 0, got.stderr
    for db in (fast, slow):
        assert mode(db) == 0o600
        assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    # The default location: every directory streamctl makes on the way is private.
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg" / "data")}
    env.pop("STREAMCTL_DB", None)
    env.pop("STREAMCTL_URL", None)
    got = run("add", "s", "f=v", umask=umask, env=env)
    assert got.returncode == 0, got.stderr
    default = tmp_path / "xdg" / "data" / "streamctl" / "streams.db"
    assert mode(default) == 0o600
    for directory in (default.parent, default.parent.parent, default.parent.parent.parent):
        assert mode(directory) == 0o700


def start_worker(db: str, *extra: str, umask: int | None = None, env=None, log=None):
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.Popen(
        [BIN, "--db", db, "consume", "s", "-g", "g", "--create-group", "--block", "50", *extra],
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        preexec_fn=pre,
        env=env,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_wal_and_shm_of_a_running_worker_are_private_whatever_the_umask(tmp_path):
    db = tmp_path / "new" / "w.db"
    worker = start_worker(str(db), umask=0)
    try:
        wait_for(lambda: Path(f"{db}-shm").exists() and Path(f"{db}-wal").exists(), "-wal/-shm")
        assert mode(db) == 0o600
        assert mode(f"{db}-wal") == 0o600 and mode(f"{db}-shm") == 0o600
        assert mode(db.parent) == 0o700
    finally:
        stop(worker)


def test_an_existing_database_and_directory_keep_their_modes(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    db = shared / "team.db"
    streamctl.connect(str(db)).close()
    db.chmod(0o640)
    got = run("--db", str(db), "add", "s", "f=v", umask=0o077)
    assert got.returncode == 0, got.stderr
    worker = start_worker(str(db), umask=0o077)
    try:
        wait_for(lambda: Path(f"{db}-shm").exists(), "-shm")
        # SQLite gives -wal/-shm the database's own mode: readable by the same group.
        assert mode(db) == mode(f"{db}-wal") == mode(f"{db}-shm") == 0o640
    finally:
        stop(worker)
    assert mode(db) == 0o640 and mode(shared) == 0o755


# ================================================================ --exec and its children

RECORDER = textwrap.dedent(
    """\
    import json, os, sys
    data = sys.stdin.buffer.read()
    out = os.path.join(os.environ["RECORD_DIR"], "rec." + os.environ.get("STREAMCTL_ID", "x"))
    with open(out, "w") as fh:
        json.dump({"argv": sys.argv[1:], "stdin": data.decode("utf-8"),
                   "env": dict(os.environ), "cwd": os.getcwd()}, fh)
    """
)

INJECTIONS = [
    "$(touch PWNED1)",
    "`touch PWNED2`",
    "; touch PWNED3",
    "| touch PWNED4",
    "&& touch PWNED5 &",
    "\ntouch PWNED6\n",
    "' ; touch PWNED7 ; '",
    '" ; touch PWNED8 ; "',
    "$HOME ${PATH} $STREAMCTL_ID %s {} \\",
    "> PWNED9",
    "--help",
    "-c 'touch PWNED10'",
    "\u0000\u0001\u007f\u00e9\u2028",
]


@pytest.fixture
def recorder(tmp_path):
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    record = tmp_path / "records"
    record.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return script, record, work


def records(directory: Path) -> dict[str, dict]:
    return {p.name[4:]: json.loads(p.read_text()) for p in directory.iterdir()}


def test_exec_never_gives_a_message_to_a_shell(tmp_path, recorder):
    script, record, work = recorder
    db = str(tmp_path / "x.db")
    r = streamctl.connect(db)
    r.xgroup_create("s", "g", "0", mkstream=True)
    sent = {}
    for n, payload in enumerate(INJECTIONS):
        fields = {"v": payload, payload or "empty": "as a name", "n": str(n)}
        sent[r.xadd("s", fields)] = fields
    # Shell syntax in CMD itself is split once, never interpreted either.
    command = f"{shlex.quote(sys.executable)} {script} a;b '$HOME' \"$(touch PWNED11)\" |c >out"
    got = run(
        "--db",
        db,
        "consume",
        "s",
        "-g",
        "g",
        "--consumer",
        "$(touch PWNED12)",
        "--exec",
        command,
        "--once",
        "-c",
        "3",
        env={**os.environ, "RECORD_DIR": str(record)},
        cwd=work,
    )
    assert got.returncode == 0, got.stderr
    seen = records(record)
    assert set(seen) == set(sent)
    for msg_id, rec in seen.items():
        assert rec["argv"] == ["a;b", "$HOME", "$(touch PWNED11)", "|c", ">out"]
        assert json.loads(rec["stdin"]) == {"stream": "s", "id": msg_id, "fields": sent[msg_id]}
        assert rec["stdin"].count("\n") == 1 and rec["stdin"].endswith("\n")  # one JSON line
        assert rec["env"]["STREAMCTL_CONSUMER"] == "$(touch PWNED12)"
    assert sorted(os.listdir(work)) == []  # nothing was touched, no "out" redirect
    assert not list(tmp_path.rglob("PWNED*"))
    assert r.xpending("s", "g")["pending"] == 0
    r.close()


def test_a_childs_environment_is_the_workers_plus_the_documented_variables(tmp_path, recorder):
    script, record, work = recorder
    db = str(tmp_path / "x.db")
    r = streamctl.connect(db)
    msg_id = r.xadd("jobs", {"f": "v"})
    r.xgroup_create("jobs", "workers", "0")
    r.close()
    worker_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",  # no locale coercion: Python would otherwise add LC_CTYPE
        "RECORD_DIR": str(record),
        "ODD VALUE": "spaces and $(dollars)",
        "EMPTY": "",
        "STREAMCTL_ID": "stale, from the worker's own environment",
    }
    got = subprocess.run(
        [
            BIN,
            "--db",
            db,
            "consume",
            "jobs",
            "-g",
            "workers",
            "--consumer",
            "w1",
            "--once",
            "--exec",
            f"{sys.executable} {script}",
        ],
        capture_output=True,
        text=True,
        env=worker_env,
        timeout=DEADLINE,
    )
    assert got.returncode == 0, got.stderr
    (rec,) = records(record).values()
    expected = {
        **worker_env,
        "STREAMCTL_STREAM": "jobs",
        "STREAMCTL_GROUP": "workers",
        "STREAMCTL_CONSUMER": "w1",
        "STREAMCTL_ID": msg_id,
        "STREAMCTL_DELIVERY_COUNT": "1",
    }
    assert rec["env"] == expected


def test_a_message_that_is_not_utf8_does_not_reach_a_shell_either(tmp_path, recorder):
    script, record, work = recorder
    db = str(tmp_path / "x.db")
    raw = streamctl.connect(db, decode_responses=False)
    raw.xgroup_create("s", "g", "0", mkstream=True)
    raw.xadd("s", {b"f": b"\xff$(touch PWNED)\xfe"})
    raw.close()
    got = run(
        "--db",
        db,
        "consume",
        "s",
        "-g",
        "g",
        "--once",
        "--exec",
        f"{sys.executable} {script}",
        env={**os.environ, "RECORD_DIR": str(record)},
        cwd=work,
    )
    # Whatever the worker decides (run it with the bytes escaped, or refuse it clearly),
    # no shell runs the payload and nothing crashes with a traceback.
    assert "Traceback" not in got.stderr
    assert not list(tmp_path.rglob("PWNED*"))


# ================================================================= no secrets in output

SECRET = "s3cr3t-Pa55"


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and "s3cr3t" not in text, text


@pytest.mark.parametrize(
    "url",
    [
        f"redis://user:{SECRET}@127.0.0.1:1/0",
        f"redis://:{SECRET}@127.0.0.1:1/0",
        f"unix://user:{SECRET}@/nonexistent/valkey.sock",
        f"redis://user:{SECRET.replace('-', '/')}@127.0.0.1:1/0",  # unencoded '/'
        f"redis://user:{SECRET.replace('-', '#')}@127.0.0.1:1/0",  # unencoded '#'
        f"redis://user:{SECRET}@127.0.0.1:notaport/0",
    ],
    ids=["user", "password-only", "unix", "slash", "hash", "bad-port"],
)
def test_an_unreachable_servers_password_is_never_printed(url):
    env = {**os.environ, "STREAMCTL_URL": url}
    for args, how in (
        (["info"], "flag"),
        (["add", "s", "f=v"], "flag"),
        (["consume", "s", "-g", "g", "--once"], "flag"),
        (["add", "s", "f=v"], "env"),
    ):
        got = run("--url", url, *args) if how == "flag" else run(*args, env=env)
        assert got.returncode in (2, 5), (args, got.returncode, got.stderr)
        assert got.stderr.startswith("streamctl: ") and len(got.stderr.splitlines()) == 1
        no_secret(got.stdout, got.stderr)


@pytest.fixture
def acl_user(valkey_url):
    """A user with a password on the test server (the default user stays open)."""
    admin = redis.Redis.from_url(valkey_url)
    admin.flushdb()
    admin.execute_command("ACL", "SETUSER", "streamer", "on", f">{SECRET}", "~*", "&*", "+@all")
    host_port = valkey_url.split("://", 1)[1]
    try:
        yield f"redis://streamer:{SECRET}@{host_port}"
    finally:
        admin.execute_command("ACL", "DELUSER", "streamer")
        admin.flushdb()
        admin.close()


def test_a_working_password_never_appears_in_output_logs_or_info(acl_user, tmp_path):
    url = acl_user
    outputs = []
    for args in (
        ["add", "jobs", "f=v"],
        ["group", "create", "jobs", "g", "0"],
        ["add", "jobs", "f=w"],
        ["info"],
        ["info", "--json"],
        ["info", "jobs"],
        ["range", "jobs", "--json"],
        ["pending", "jobs", "g"],
        ["consume", "jobs", "-g", "g", "--once", "-v", "--max", "1"],
        [
            "consume",
            "jobs",
            "-g",
            "g",
            "--once",
            "-v",
            "--json",
            "--exec",
            "false",
            "--max-deliveries",
            "1",
        ],
        ["deadletter", "list", "jobs", "--json"],
        ["group", "create", "jobs", "g"],
        ["readgroup", "jobs", "nogroup", "c"],
    ):
        got = run("--url", url, *args)
        outputs.append((args, got.returncode, got.stdout, got.stderr))
        no_secret(got.stdout, got.stderr)
    codes = [code for _, code, _, _ in outputs]
    assert codes[:11] == [0] * 11, outputs
    assert codes[11:] == [3, 4], outputs  # BUSYGROUP, NOGROUP: errors name no URL either
    info = json.loads(outputs[4][2])
    assert [s["name"] for s in info["streams"]] == ["jobs"]
    assert info["streams"][0]["length"] == 2
    # A wrong password: refused, and not echoed.
    wrong = url.replace(SECRET, "s3cr3t-wrong")
    got = run("--url", wrong, "info")
    assert got.returncode != 0 and got.stderr.startswith("streamctl: ")
    no_secret(got.stdout, got.stderr)
