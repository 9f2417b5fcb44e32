"""What ``streamctl consume`` does once its options are parsed: check them, build the
worker's settings, open the database, run the worker, return its exit code.

Typer-free, so that the app's ``consume`` command (``consume.py``) and the command
line's fast path (``fast_consume.py``) run this same code: they differ only in who
parsed argv. Errors are raised (:class:`~.common.CliError`, client errors) for the caller
to report.
"""

from __future__ import annotations

import os
import shlex

from streamctl.worker import options as wo

from .common import CliError, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def consume(
    st: State,
    stream: str,
    group: str,
    consumer: str | None = None,
    exec_: str | None = None,
    count: int | None = None,
    block: int | None = None,
    once: bool = False,
    max_messages: int | None = None,
    create_group: bool = False,
    concurrency: int | None = None,
    timeout: float | None = None,
    kill_after: float | None = None,
    max_deliveries: int | None = None,
    dead_letter: str | None = None,
    reject_code: int | None = None,
    backoff: float | None = None,
    backoff_max: float | None = None,
    claim_idle: int = wo.DEFAULT_CLAIM_IDLE_MS,
    shutdown_grace: float = wo.DEFAULT_GRACE,
    grace: float | None = None,
    verbose: bool = False,
) -> int:
    """Run ``consume`` with the global state ``st`` (``--json``/``-q`` merged in);
    returns the exit code (0, or 130/143 after a signal)."""
    exec_only = {
        "--concurrency": concurrency,
        "--timeout": timeout,
        "--kill-after": kill_after,
        "--max-deliveries": max_deliveries,
        "--reject-code": reject_code,
        "--backoff": backoff,
        "--backoff-max": backoff_max,
    }
    command = None
    if exec_ is not None:
        command = parse_command(exec_)
    else:
        given = [name for name, value in exec_only.items() if value is not None]
        if given:
            raise CliError(f"{', '.join(given)} only apply with --exec")
    opts = wo.WorkerOptions(
        stream=stream,
        group=group,
        consumer=consumer,
        command=command,
        concurrency=concurrency or 1,
        count=count,
        block_ms=block,
        once=once,
        max_messages=max_messages,
        create_group=create_group,
        max_deliveries=max_deliveries or wo.DEFAULT_MAX_DELIVERIES,
        dead_letter=dead_letter,
        reject_code=wo.DEFAULT_REJECT_CODE if reject_code is None else reject_code,
        backoff=wo.DEFAULT_BACKOFF if backoff is None else backoff,
        backoff_max=wo.DEFAULT_BACKOFF_MAX if backoff_max is None else backoff_max,
        timeout=timeout,
        kill_after=wo.DEFAULT_KILL_AFTER if kill_after is None else kill_after,
        claim_idle_ms=claim_idle,
        grace=shutdown_grace if grace is None else grace,
        json=st.json,
        verbosity=0 if st.quiet else (2 if verbose else 1),
    )
    problems = opts.validate()
    if problems:
        raise CliError("; ".join(problems))
    client, own = open_client(st)
    try:
        from streamctl import worker

        from .render import message_text

        def text_line(stream_name: str, msg_id: str, fields: dict | None) -> str:
            return message_text(None, msg_id, fields)

        return worker.run(client, opts, format_text=text_line)
    finally:
        if own:
            client.close()


def open_client(st: State) -> tuple[Any, bool]:
    """The worker's client, and whether the caller must close it (else ``st`` does).

    Bytes that are not UTF-8 arrive as lone surrogates, so the worker can dead-letter
    such a message (and write it back exactly) instead of failing on it. A plain SQLite
    file is opened with the engine-backed client, which does not import redis-py; a URL
    (Redis, or sqlite:/// with options) gets the client ``st`` opens."""
    from streamctl.config import resolve

    target = st.target()
    try:
        resolved = resolve(target)
    except ValueError as exc:  # as State.client reports it
        raise CliError(str(exc)) from None
    if resolved.kind == "sqlite" and not resolved.options:
        from streamctl.worker.engine_client import EngineClient

        return EngineClient(resolved.location, encoding_errors="surrogateescape"), True
    return st.client(encoding_errors="surrogateescape"), False


def parse_command(text: str) -> list[str]:
    """--exec CMD: split once like a shell (no shell runs it); the program must exist."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise CliError(f"--exec: {exc}") from None
    if not argv:
        raise CliError("--exec: empty command")
    program = argv[0]
    if os.sep in program:
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise CliError(f"--exec: not an executable file: {program}")
    else:
        import shutil  # (only here: its import is a cost on every start)

        if shutil.which(program) is None:
            raise CliError(f"--exec: command not found: {program}")
    return argv
