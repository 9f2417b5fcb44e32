"""Helpers for the command-line tests: run the app in-process (CliRunner) or the installed
``streamctl`` executable in a real process, against a ``target`` from conftest (a SQLite
path or a redis:// URL)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from typer.testing import CliRunner

from streamctl.cli.app import app

EXE = shutil.which("streamctl", path=os.path.dirname(sys.executable)) or shutil.which("streamctl")
ID_RE = re.compile(r"\b\d{10,}-\d+\b")


def target_args(target: str) -> list[str]:
    """The global option selecting ``target``: ``--url URL`` or ``--db PATH``."""
    return ["--url", target] if "://" in target else ["--db", target]


def cli(target: str | None, *args: str, input: str | bytes | None = None, env: dict | None = None):
    """Run the app in-process; returns click's Result (stdout, stderr, exit_code)."""
    argv = (target_args(target) if target else []) + list(args)
    return CliRunner().invoke(
        app, argv, input=input, env=env, catch_exceptions=False, prog_name="streamctl"
    )


def run(
    target: str | None,
    *args: str,
    input: bytes | str | None = None,
    env: dict | None = None,
    timeout: float = 60,
):
    """Run the installed executable; returns CompletedProcess with text stdout/stderr."""
    assert EXE, "streamctl is not installed next to the interpreter"
    argv = [EXE] + (target_args(target) if target else []) + list(args)
    data = input.encode() if isinstance(input, str) else input
    full_env = None if env is None else {**os.environ, **env}
    proc = subprocess.run(argv, input=data, capture_output=True, timeout=timeout, env=full_env)
    proc.stdout = proc.stdout.decode()
    proc.stderr = proc.stderr.decode()
    return proc


def one_line_error(stderr: str) -> str:
    """Assert ``stderr`` is exactly one ``streamctl: ...`` line; return it."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("streamctl: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def ids(stdout: str) -> list[str]:
    return stdout.split()


def on_terminal(target: str, *args: str, env: dict | None = None) -> tuple[int, str]:
    """Run the installed ``streamctl`` with its stdout on a pseudo-terminal (120 columns
    unless ``env`` says otherwise; a None value removes a variable); returns the exit
    code and everything it drew."""
    import pty

    master, slave = pty.openpty()
    full_env = {**os.environ, "COLUMNS": "120", "TERM": "xterm", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    proc = subprocess.Popen(
        [EXE, *target_args(target), *args], stdout=slave, stderr=subprocess.PIPE, env=full_env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode()
