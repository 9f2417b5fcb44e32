"""How ``consume --exec`` starts and watches its children (``worker/children.py``,
``worker/executor.py``): posix_spawn must give a child what subprocess.Popen would, and the
loop must notice every exit, with or without pidfds."""

from __future__ import annotations

import os
import time

import pytest

import streamctl
from streamctl.worker import children
from streamctl.worker.children import Child


def _finish(child: Child, deadline: float = 30.0) -> Child:
    end = time.monotonic() + deadline
    while not child.poll():
        assert time.monotonic() < end, "the child did not exit"
        time.sleep(0.01)
    return child


@pytest.fixture(params=["posix_spawn", "popen"])
def spawn_mode(request, monkeypatch):
    """Each way of starting a child, decided afresh (as on a process's first child)."""
    monkeypatch.setattr(children, "_USE_SPAWN", None if request.param == "posix_spawn" else False)
    return request.param


def test_a_child_inherits_no_descriptor_but_its_three(spawn_mode):
    # An inheritable descriptor the worker itself inherited (a shell's, make's jobserver).
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        script = f"[ -e /proc/self/fd/{w} ] && echo leaked >&2; cat > /dev/null"
        child = _finish(Child(["sh", "-c", script], dict(os.environ), b"{}\n", None, None))
        assert (child.returncode, child.stderr_tail()) == (0, "")
        if spawn_mode == "posix_spawn":
            assert children._USE_SPAWN and child.proc is None
        else:
            assert child.proc is not None
    finally:
        os.close(r)
        os.close(w)


def test_a_descriptor_made_inheritable_after_the_first_child_is_not_inherited(spawn_mode):
    # A program running the worker may make a descriptor inheritable at any time.
    script = "[ -e /proc/$$/fd/50 ] && echo leaked >&2; cat > /dev/null"
    first = _finish(Child(["sh", "-c", script], dict(os.environ), b"", None, None))
    assert (first.returncode, first.stderr_tail()) == (0, "")
    fd = os.open(os.devnull, os.O_RDONLY)
    high = os.dup2(fd, 50)  # dup2 makes its target inheritable
    try:
        later = _finish(Child(["sh", "-c", script], dict(os.environ), b"", None, None))
        assert (later.returncode, later.stderr_tail()) == (0, "")
    finally:
        os.close(high)
        os.close(fd)


def test_a_child_has_default_signal_dispositions_and_its_own_session(spawn_mode):
    # Python ignores SIGPIPE; a command must not inherit that (Popen's restore_signals).
    script = "grep -E '^SigIgn' /proc/$$/status >&2; cut -d' ' -f6 /proc/$$/stat >&2; echo $$ >&2"
    child = _finish(Child(["sh", "-c", script], dict(os.environ), b"", None, None))
    ignored, sid, pid = child.stderr_tail().split()[1:]
    assert not int(ignored, 16) & (1 << (13 - 1))  # SIGPIPE is signal 13
    assert int(sid) == int(pid) == child.pid


def test_stdin_environment_and_exit_status(spawn_mode):
    script = 'read line; echo "$line $FOO" >&2; exit 3'
    child = _finish(Child(["sh", "-c", script], {"FOO": "bar", "PATH": os.environ["PATH"]},
                          b'{"a": 1}\n', None, None))  # fmt: skip
    assert (child.returncode, child.stderr_tail()) == (3, '{"a": 1} bar\n')


def test_a_child_killed_by_a_signal(spawn_mode):
    child = _finish(Child(["sh", "-c", "kill -TERM $$"], dict(os.environ), b"", None, None))
    assert child.returncode == -15 and child.status_text() == "killed by SIGTERM"


@pytest.mark.parametrize("missing", ["/nonexistent/streamctl-test", "no-such-command-streamctl"])
def test_a_command_that_cannot_start(spawn_mode, missing):
    child = Child([missing], dict(os.environ), b"{}\n", None, None)
    assert child.poll() and child.returncode == 127
    assert child.status_text() == "cannot run (exit 127)"


def _worker_run(db: str, command: list[str], n: int, concurrency: int) -> int:
    from streamctl.worker import options as wo
    from streamctl.worker.engine_client import EngineClient
    from streamctl.worker.executor import ExecWorker

    r = streamctl.connect(db)
    for i in range(n):
        r.xadd("s", {"n": str(i)})
    r.close()
    client = EngineClient(db)
    try:
        opts = wo.WorkerOptions(
            stream="s",
            group="g",
            consumer="c",
            command=command,
            concurrency=concurrency,
            once=True,
            create_group=True,
            verbosity=0,
        )
        return ExecWorker(client, opts).run()
    finally:
        client.close()


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "waiter-threads"])
def test_the_loop_sees_every_exit(tmp_path, monkeypatch, pidfd):
    if not pidfd:
        monkeypatch.setattr(children, "_HAVE_PIDFD", False)
    db = str(tmp_path / "x.db")
    # Some children close stderr long before they exit: end of file is no exit.
    script = (
        "if [ $(( (${STREAMCTL_ID%-*} + ${STREAMCTL_ID#*-}) % 2 )) = 1 ]; then "
        "exec 2>&-; sleep 0.1; fi"
    )
    assert _worker_run(db, ["sh", "-c", script], 30, 3) == 0
    r = streamctl.connect(db)
    try:
        assert r.xpending("s", "g")["pending"] == 0
        assert r.xinfo_groups("s")[0]["entries-read"] == 30
        assert not r.exists("s:dead")
    finally:
        r.close()
