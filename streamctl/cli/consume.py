"""``streamctl consume`` (the worker) and ``streamctl deadletter list|requeue``.

The runtime is :mod:`streamctl.worker`; this module declares the options and help;
:mod:`.consume_run` checks them, opens the database, runs the worker and gives the exit
code (the command line's fast path, :mod:`.fast_consume`, runs that same code). Errors
escape to the app, which reports each as one line (``common.describe``).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from streamctl.exitcodes import ExitCode
from streamctl.worker import options as wo

from . import common, consume_run
from .common import CliError
from .options import CONTEXT, JsonOpt, QuietOpt, command_group

CONSUME_HELP = f"""Work through STREAM as a member of consumer group GROUP.

Without --exec, print each message (text, or NDJSON with --json) and acknowledge it once
it is written: handed to stdout's pipe or file, not necessarily read, so a reader that
exits early (| head) may leave up to a pipe buffer (64 KiB on Linux) of messages
acknowledged but unread; a batch whose write fails is not acknowledged and is delivered
again. With --exec "CMD ARGS", run CMD once per message: CMD is split once like a
shell would split it (shlex) and run WITHOUT a shell, so a message can never become part
of a command line. The message is CMD's stdin, as one JSON line {{"stream", "id",
"fields"}}; STREAMCTL_STREAM, STREAMCTL_GROUP, STREAMCTL_CONSUMER, STREAMCTL_ID and
STREAMCTL_DELIVERY_COUNT are in its environment. CMD's stdout and stderr are the worker's.

CMD exits 0: the message is acknowledged. CMD exits {wo.DEFAULT_REJECT_CODE} (--reject-code,
EX_DATAERR): rejected, moved to the dead-letter stream now. Any other exit, a signal or
--timeout: it stays pending and runs again after min(backoff * 2^(n-1), backoff-max)
seconds (n: its deliveries so far); a run that fails on delivery --max-deliveries moves it to the
dead-letter stream (default STREAM{wo.DEAD_LETTER_SUFFIX}) with its original stream, ID,
fields, delivery count, last exit status and the last 4 KiB of its stderr; the move and
the acknowledgement are one transaction. A message whose fields are not UTF-8 text is
moved there at once, with or without --exec (reason not-utf8; its exact bytes kept in
base64). 'streamctl deadletter requeue STREAM' puts dead letters back.

Recovery: the worker first takes back its own pending entries (a restart with the same
--consumer), and claims entries idle for --claim-idle ms in other consumers' lists (a dead
worker's). While a message is held its entry's idle time is reset every claim-idle/3, so
a long run is never claimed by another worker.

Shutdown: the first SIGINT/SIGTERM stops fetching and lets running commands finish within
--shutdown-grace (or --grace); what finished is acknowledged; exit 130/143. A second
signal, or the end of the grace, sends SIGTERM to the commands' process groups (SIGKILL
after --kill-after). What
did not finish, or had not started, stays pending and is made claimable by other workers
at once (a queued message that never ran gets its delivery back).

Events go to stderr, one line each (-q: none, -v: every message too; with --json as JSON
objects); on a terminal a status line shows processed, failed, dead-lettered, in flight
and the rate. consume exits 0 when --once or --max is done, 130/143 after a signal, 4 if
the group does not exist (see --create-group)."""


def consume(
    ctx: typer.Context,
    stream: Annotated[str, typer.Argument(metavar="STREAM", help="The stream to consume.")],
    group: Annotated[
        str, typer.Option("--group", "-g", metavar="GROUP", help="Consumer group (required).")
    ],
    consumer: Annotated[
        str | None,
        typer.Option(
            "--consumer",
            metavar="NAME",
            help="Consumer name [default: HOSTNAME-PID; such a consumer is removed from the "
            "group on exit when it has nothing pending].",
            show_default=False,
        ),
    ] = None,
    exec_: Annotated[
        str | None,
        typer.Option(
            "--exec",
            "-x",
            metavar="CMD",
            help="Run CMD (no shell) for each message.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            metavar="N",
            min=1,
            help=f"Messages per read [default: {wo.DEFAULT_PRINT_COUNT}; with --exec "
            f"{wo.EXEC_COUNT_PER_CHILD} x concurrency, and at most that many wait in the "
            "worker's queue besides the running ones].",
            show_default=False,
        ),
    ] = None,
    block: Annotated[
        int | None,
        typer.Option(
            "--block",
            metavar="MS",
            min=0,
            help=f"How long a read waits for new messages [default: {wo.DEFAULT_BLOCK_MS}; "
            "with --once 0]; 0: forever. With --once: how long to wait before deciding "
            "nothing is left (0: do not wait).",
            show_default=False,
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Exit 0 when nothing is left: no new message, no pending entry of its own or "
            "claimable, nothing running or waiting for a retry.",
        ),
    ] = False,
    max_messages: Annotated[
        int | None,
        typer.Option(
            "--max",
            metavar="N",
            min=1,
            help="Exit 0 after N messages are done (acknowledged or dead-lettered).",
            show_default=False,
        ),
    ] = None,
    create_group: Annotated[
        bool,
        typer.Option(
            "--create-group",
            help="Create GROUP (and STREAM) if missing, at the start of the stream ('0').",
        ),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            metavar="N",
            min=1,
            help="Run up to N commands at once [default: 1].",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Terminate a command running longer (SIGTERM to its process group, SIGKILL "
            "after --kill-after); counts as a failure.",
            show_default=False,
        ),
    ] = None,
    kill_after: Annotated[
        float | None,
        typer.Option(
            "--kill-after",
            metavar="SECONDS",
            help=f"Between SIGTERM and SIGKILL [default: {wo.DEFAULT_KILL_AFTER:g}].",
            show_default=False,
        ),
    ] = None,
    max_deliveries: Annotated[
        int | None,
        typer.Option(
            "--max-deliveries",
            metavar="N",
            min=1,
            help="Dead-letter a message whose N-th delivery fails "
            f"[default: {wo.DEFAULT_MAX_DELIVERIES}].",
            show_default=False,
        ),
    ] = None,
    dead_letter: Annotated[
        str | None,
        typer.Option(
            "--dead-letter",
            metavar="NAME",
            help="Where messages go that fail for good (and, without --exec, messages "
            f"that are not UTF-8) [default: STREAM{wo.DEAD_LETTER_SUFFIX}].",
            show_default=False,
        ),
    ] = None,
    reject_code: Annotated[
        int | None,
        typer.Option(
            "--reject-code",
            metavar="CODE",
            help=f"Exit status meaning 'reject now' [default: {wo.DEFAULT_REJECT_CODE}].",
            show_default=False,
        ),
    ] = None,
    backoff: Annotated[
        float | None,
        typer.Option(
            "--backoff",
            metavar="SECONDS",
            help=f"First retry delay [default: {wo.DEFAULT_BACKOFF:g}].",
            show_default=False,
        ),
    ] = None,
    backoff_max: Annotated[
        float | None,
        typer.Option(
            "--backoff-max",
            metavar="SECONDS",
            help=f"Longest retry delay [default: {wo.DEFAULT_BACKOFF_MAX:g}].",
            show_default=False,
        ),
    ] = None,
    claim_idle: Annotated[
        int,
        typer.Option(
            "--claim-idle",
            metavar="MS",
            min=1,
            help="Claim other consumers' entries idle this long.",
        ),
    ] = wo.DEFAULT_CLAIM_IDLE_MS,
    shutdown_grace: Annotated[
        float,
        typer.Option(
            "--shutdown-grace",
            metavar="SECONDS",
            min=0,
            help="After the first SIGINT/SIGTERM, how long running commands may take "
            "(also accepted as --grace).",
        ),
    ] = wo.DEFAULT_GRACE,
    # --grace is the name DESIGN §8 uses; it is hidden only so that shell completion of
    # "--gr" stays unique ("--group").
    grace: Annotated[
        Optional[float],  # noqa: UP045 - Typer needs Optional on Python 3.10
        typer.Option("--grace", metavar="SECONDS", min=0, hidden=True),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="NDJSON messages (without --exec); JSON event lines on stderr."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No event lines.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="An event line for every message too.")
    ] = False,
) -> None:
    st = common.state(ctx, json_out, quiet)
    code = consume_run.consume(
        st,
        stream,
        group,
        consumer=consumer,
        exec_=exec_,
        count=count,
        block=block,
        once=once,
        max_messages=max_messages,
        create_group=create_group,
        concurrency=concurrency,
        timeout=timeout,
        kill_after=kill_after,
        max_deliveries=max_deliveries,
        dead_letter=dead_letter,
        reject_code=reject_code,
        backoff=backoff,
        backoff_max=backoff_max,
        claim_idle=claim_idle,
        shutdown_grace=shutdown_grace,
        grace=grace,
        verbose=verbose,
    )
    if code:
        raise typer.Exit(code)


# --------------------------------------------------------------------------- dead letters

DeadLetterOpt = Annotated[
    str | None,
    typer.Option(
        "--dead-letter",
        metavar="NAME",
        help=f"The dead-letter stream [default: STREAM{wo.DEAD_LETTER_SUFFIX}].",
        show_default=False,
    ),
]


def deadletter_list(
    ctx: typer.Context,
    stream: Annotated[
        str, typer.Argument(metavar="STREAM", help="The stream the messages came from.")
    ],
    dead_letter: DeadLetterOpt = None,
    count: Annotated[
        int | None, typer.Option("--count", metavar="N", min=1, help="At most N.")
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = common.state(ctx, json_out, quiet)
    from streamctl.worker import deadletter

    from .render import dumps, escape

    items = deadletter.read(
        st.client(), dead_letter or wo.default_dead_letter(stream), stream, count
    )
    if not items:
        raise typer.Exit(int(ExitCode.EMPTY))
    lines = []
    for item in items:
        if st.json:
            lines.append(dumps(item))
        else:
            stderr_lines = [ln for ln in str(item.get("stderr", "")).splitlines() if ln.strip()]
            lines.append(
                "\t".join(
                    escape(v)
                    for v in (
                        item["dead_letter_id"],
                        item.get("id", ""),
                        item.get("reason", ""),
                        item.get("deliveries", ""),
                        item.get("status", ""),
                        stderr_lines[-1] if stderr_lines else "",
                    )
                )
            )
    common.out("\n".join(lines) + "\n", st)


def deadletter_requeue(
    ctx: typer.Context,
    stream: Annotated[
        str, typer.Argument(metavar="STREAM", help="The stream the messages came from.")
    ],
    dead_letter: DeadLetterOpt = None,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="Only this dead letter (its ID in the dead-letter stream); repeatable.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", metavar="N", min=1, help="At most N.")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="STREAM",
            help="Add them to this stream instead of STREAM.",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = common.state(ctx, json_out, quiet)
    from streamctl.worker import deadletter

    from .render import dumps

    done, missing, unreadable = deadletter.requeue(
        st.client(),
        stream,
        dead_letter or wo.default_dead_letter(stream),
        ids=ids,
        count=count,
        to=to,
    )
    if done:
        if st.json:
            text = "".join(
                dumps(
                    {
                        "dead_letter_id": d.dead_letter_id,
                        "stream": d.stream,
                        "id": d.new_id,
                        "original_id": d.original_id,
                    }
                )
                + "\n"
                for d in done
            )
        else:
            text = "".join(d.new_id + "\n" for d in done)
        common.out(text, st)
    problems = [f"dead letter {i} has no readable fields; left in place" for i in unreadable]
    problems += [f"no dead letter {i} of stream {stream}" for i in missing]
    if problems:
        raise CliError("; ".join(problems), ExitCode.EMPTY)
    if not done:
        raise typer.Exit(int(ExitCode.EMPTY))


DEADLETTER_HELP = f"""Dead letters: messages 'consume --exec' gave up on, kept in a
dead-letter stream (default STREAM{wo.DEAD_LETTER_SUFFIX}) with the reason, delivery count, last
exit status and stderr tail. Read them with 'deadletter list' (or
'range STREAM{wo.DEAD_LETTER_SUFFIX} --json'); put them back with 'deadletter requeue'."""

REQUEUE_HELP = """Put dead letters of STREAM back: each becomes a new message on STREAM
(or --to) with its original fields, and leaves the dead-letter stream, in one transaction
per message. Print the new IDs. Every consumer group of the stream sees a requeued message.
Exit 1 if nothing was requeued or an --id was not found."""

LIST_HELP = """Show dead letters of STREAM, oldest first: dead-letter ID, original ID,
reason, deliveries, last status, last stderr line (tab-separated); --json gives every
field, with the message's fields as an object. Exit 1 if there are none."""


def register(app: typer.Typer) -> None:
    """Add ``consume`` and the ``deadletter`` commands to ``app``."""
    app.command(
        "consume",
        help=CONSUME_HELP,
        short_help="Run a worker: print messages, or run a command for each.",
        context_settings=CONTEXT,
    )(consume)
    dl_app = command_group(DEADLETTER_HELP, "List dead letters and put them back on their stream.")
    dl_app.command("list", help=LIST_HELP, short_help="Show the dead letters of a stream.")(
        deadletter_list
    )
    dl_app.command(
        "requeue", help=REQUEUE_HELP, short_help="Put dead letters back on their stream."
    )(deadletter_requeue)
    app.add_typer(dl_app, name="deadletter")
