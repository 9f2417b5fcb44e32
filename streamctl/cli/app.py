"""The Typer app: global options and every command but ``consume`` (``consume.py``).

Commands parse, call the client (``streamctl.connect``; the same code runs on a SQLite
file and on Redis/Valkey) and render; errors escape to :class:`StreamctlGroup`, which
reports each as one line with its exit code (``common.describe``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from streamctl import __version__
from streamctl.exitcodes import ExitCode

from . import common
from .common import CliError, State
from .options import (
    CONTEXT,
    BlockOpt,
    ConsumerArg,
    CountOpt,
    GroupArg,
    JsonOpt,
    QuietOpt,
    StreamArg,
    command_group,
)
from .render import dumps

# --------------------------------------------------------------------------- the group


class StreamctlGroup(TyperGroup):
    """The root command: every error becomes one line on stderr and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - the one place errors are reported
            raise typer.Exit(_report(exc)) from None

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or common.PROG,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # noqa: BLE001
            code = _report(exc)
        try:
            common.flush_stdout()
        except BaseException as exc:  # noqa: BLE001 - EPIPE or an output error
            if code in (0, ExitCode.EMPTY):
                code = _report(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def _report(exc: BaseException) -> int:
    from typer._click.exceptions import NoArgsIsHelpError

    if isinstance(exc, NoArgsIsHelpError) and exc.ctx is not None:
        sys.stderr.write(exc.ctx.get_help() + "\n")
        return int(ExitCode.USAGE)
    return common.report(exc)


app = typer.Typer(
    name=common.PROG,
    cls=StreamctlGroup,
    help="Redis Streams and consumer groups on one machine: a SQLite file shared by "
    "every process, or a Redis/Valkey server with --url.",
    epilog="Exit status: 0 ok, 1 found nothing, 2 usage or bad input, 3 refused by the "
    "engine, 4 no such stream or group, 5 database busy or server unreachable, "
    "6 database unusable, 74 output not written (stdout closed or failing), 130/143 "
    "interrupted (SIGINT/SIGTERM), 141 output pipe closed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)

group_app = command_group(
    "Create, destroy and manage consumer groups and their consumers.",
    "Manage consumer groups (XGROUP).",
)
app.add_typer(group_app, name="group")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"{common.PROG} {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="SQLite database file [env: STREAMCTL_DB; default: "
            "<user data dir>/streamctl/streams.db].",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Backend URL: redis://HOST:PORT/DB (Redis/Valkey) or sqlite:///PATH "
            "[env: STREAMCTL_URL].",
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    common.set_state(ctx, State(db=db, url=url, json=json_out, quiet=quiet))


def _st(ctx: typer.Context, json_out: bool = False, quiet: bool = False) -> State:
    return common.state(ctx, json_out, quiet)


def _empty() -> typer.Exit:
    return typer.Exit(int(ExitCode.EMPTY))


def _stream_items(res: Any) -> list[tuple[str, list]]:
    """XREAD/XREADGROUP replies as [(stream, [(id, fields), ...]), ...] (RESP2 or RESP3)."""
    if not res:
        return []
    if isinstance(res, dict):
        items = []
        for name, value in res.items():
            if value and isinstance(value[0], list):
                value = value[0]
            items.append((name, value))
        return items
    return [(name, msgs) for name, msgs in res]


def _require_stream(r: Any, stream: str) -> None:
    if not r.exists(stream):
        raise CliError(f"no such stream: {stream}", ExitCode.NOT_FOUND)


def _require_group(r: Any, stream: str, group: str) -> None:
    _require_stream(r, stream)
    if not any(g.get("name") == group for g in r.xinfo_groups(stream)):
        raise CliError(f"no such group: {group} (stream {stream})", ExitCode.NOT_FOUND)


# --------------------------------------------------------------------------- add

BATCH_CHUNK = 1000


@app.command(
    short_help="Append a message; print its ID.",
    help="Append a message; print its ID.\n\n"
    "Fields come from FIELD=VALUE words (split at the first '='), from --data (a JSON "
    "object; a value that is not a string is stored as its JSON text), or, with --batch, "
    "from NDJSON on stdin: one object per line, committed in chunks, one ID printed per "
    "line. A bad line stops the batch: the lines before it are stored, it and the lines "
    "after it are not.",
)
def add(
    ctx: typer.Context,
    stream: StreamArg,
    pairs: Annotated[
        list[str] | None,
        typer.Argument(metavar="FIELD=VALUE", help="The message's fields.", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="JSON|@FILE|-",
            help="Fields as a JSON object: inline, from FILE or from stdin.",
        ),
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Read NDJSON objects from stdin, one message per line.")
    ] = False,
    msg_id: Annotated[
        str, typer.Option("--id", metavar="ID", help="Explicit ID (ms-seq or ms-*).")
    ] = "*",
    maxlen: Annotated[
        int | None,
        typer.Option("--maxlen", metavar="N", min=0, help="Trim the stream to N entries."),
    ] = None,
    approx: Annotated[
        bool, typer.Option("--approx", help="Trim approximately ('~'): cheaper.")
    ] = False,
    minid: Annotated[
        str | None, typer.Option("--minid", metavar="ID", help="Trim entries older than ID.")
    ] = None,
    nomkstream: Annotated[
        bool,
        typer.Option("--nomkstream", help="Do not create the stream; exit 4 if it is missing."),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    sources = [
        name
        for name, given in (
            ("FIELD=VALUE", bool(pairs)),
            ("--data", data is not None),
            ("--batch", batch),
        )
        if given
    ]
    if len(sources) > 1:
        raise CliError(
            f"give fields with one of FIELD=VALUE, --data or --batch, not {' and '.join(sources)}"
        )
    if maxlen is not None and minid is not None:
        raise CliError("give --maxlen or --minid, not both")
    if approx and maxlen is None and minid is None:
        raise CliError("--approx needs --maxlen or --minid")
    if batch and msg_id != "*":
        raise CliError("--id cannot be used with --batch")
    options = {"maxlen": maxlen, "minid": minid, "approximate": approx, "nomkstream": nomkstream}
    if batch:
        _add_batch(st, stream, options)
        return
    if data is not None:
        fields = common.fields_from_json(*_read_data(data))
    elif pairs:
        fields = common.parse_pairs(pairs)
    else:
        raise CliError("no fields: give FIELD=VALUE pairs, --data JSON or --batch")
    new_id = st.client().xadd(stream, fields, id=msg_id, **options)
    if new_id is None:
        raise CliError(f"no such stream: {stream} (--nomkstream)", ExitCode.NOT_FOUND)
    common.out(common.added_line(stream, new_id, st.json), st)


def _read_data(spec: str) -> tuple[str, str]:
    """--data's text and a name for it in messages."""
    if spec == "-":
        return common.decode_utf8(_stdin_bytes().read(), "--data -"), "--data -"
    if spec.startswith("@"):
        path = spec[1:]
        where = f"--data @{path}"
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise CliError(f"{where}: {exc.strerror or exc}") from None
        return common.decode_utf8(raw, where), where
    return spec, "--data"


def _stdin_bytes() -> Any:
    return getattr(sys.stdin, "buffer", sys.stdin)


def _add_batch(st: State, stream: str, options: dict) -> None:
    """NDJSON on stdin → one XADD per line; each chunk is one transaction, committed when
    it is full or when stdin has nothing more to give right now (so a slow producer's
    lines are stored as they come)."""
    reader = _stdin_bytes()
    read = getattr(reader, "read1", reader.read)
    r = st.client()
    chunk: list[dict] = []

    def commit() -> None:
        if not chunk:
            return
        pipe = r.pipeline(transaction=True)
        for fields in chunk:
            pipe.xadd(stream, fields, **options)
        ids = pipe.execute()
        chunk.clear()
        if any(i is None for i in ids):
            raise CliError(f"no such stream: {stream} (--nomkstream)", ExitCode.NOT_FOUND)
        common.out("".join(common.added_line(stream, i, st.json) for i in ids), st, flush=True)

    def take(raw: bytes, lineno: int) -> None:
        where = f"stdin line {lineno}"
        text = common.decode_utf8(raw, where)
        if not text.strip():
            return
        chunk.append(common.fields_from_json(text, where))
        if len(chunk) >= BATCH_CHUNK:
            commit()

    lineno = 0
    buf = bytearray()  # the unfinished line: grows in place, however long the line
    try:
        while True:
            block = read(65536)
            if not block:
                break
            pos = 0
            buf += block
            # what was in buf before holds no newline: look only at the new block
            nl = buf.find(b"\n", len(buf) - len(block))
            while nl >= 0:
                lineno += 1
                take(bytes(buf[pos:nl]), lineno)
                pos = nl + 1
                nl = buf.find(b"\n", pos)
            del buf[:pos]
            commit()
        if buf:
            lineno += 1
            take(bytes(buf), lineno)
    except CliError:
        # A bad line: the good lines before it are stored (their IDs printed), it and
        # everything after it are not. (A failed commit has already emptied the chunk.)
        commit()
        raise
    commit()


# --------------------------------------------------------------------------- reading


@app.command(
    name="range",
    short_help="Print messages by ID range.",
    help="Print the messages with IDs from START to END (default: all), oldest first.\n\n"
    "START and END are IDs, '-' and '+' for the ends, or '(ID' to exclude ID. "
    "Exit 1 if there are none, 4 if the stream does not exist.",
)
def range_(
    ctx: typer.Context,
    stream: StreamArg,
    start: Annotated[str, typer.Argument(metavar="START", help="Lowest ID.")] = "-",
    end: Annotated[str, typer.Argument(metavar="END", help="Highest ID.")] = "+",
    count: CountOpt = None,
    rev: Annotated[bool, typer.Option("--rev", help="Newest first (XREVRANGE).")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    r = st.client()
    got = False
    for msgs in _pages(r, stream, start, end, count, rev):
        got = True
        for msg_id, fields in msgs:
            common.write_message(st, stream, msg_id, fields, with_stream=False)
    if not got:
        _require_stream(r, stream)
        raise _empty()


#: ``range`` reads this many entries per XRANGE call.
RANGE_PAGE = 1000
_MIN_ID = "0-0"
_MAX_ID = f"{(1 << 64) - 1}-{(1 << 64) - 1}"


def _pages(r: Any, stream: str, start: str, end: str, count: int | None, rev: bool) -> Any:
    """XRANGE/XREVRANGE in pages of RANGE_PAGE, each starting after the last one's end
    (``(ID``): the first lines come at once and memory stays bounded however long the
    stream is. Entries added meanwhile at the far end are included, as a read that
    ends at ``+`` would see them."""
    left = count
    while left is None or left > 0:
        n = RANGE_PAGE if left is None else min(RANGE_PAGE, left)
        if rev:
            msgs = r.xrevrange(stream, max=end, min=start, count=n)
        else:
            msgs = r.xrange(stream, min=start, max=end, count=n)
        if not msgs:
            return
        yield msgs
        if left is not None:
            left -= len(msgs)
        last = msgs[-1][0]
        if len(msgs) < n or last == (_MIN_ID if rev else _MAX_ID):
            return
        if rev:
            end = "(" + last
        else:
            start = "(" + last


@app.command(
    short_help="Print new messages (XREAD); --follow like tail -f.",
    help="Print messages newer than --from from one or more streams (XREAD).\n\n"
    "--from '$' (the default) means messages added from now on, so use it with --block or "
    "--follow; --from 0 reads from the start. --follow keeps reading, like 'tail -f'. "
    "With several streams each text line starts with the stream's name. "
    "Exit 1 if nothing was read, 4 (without --block/--follow) if a stream does not exist.",
)
def read(
    ctx: typer.Context,
    streams: Annotated[list[str], typer.Argument(metavar="STREAM", help="Streams to read.")],
    from_id: Annotated[
        str,
        typer.Option("--from", metavar="ID", help="Read messages after ID ('$': only new ones)."),
    ] = "$",
    count: CountOpt = None,
    block: BlockOpt = None,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep reading new messages until interrupted.")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    r = st.client()
    names = list(dict.fromkeys(streams))
    several = len(names) > 1
    if follow:
        _follow(st, r, names, from_id, count, block, several)
        return
    res = _stream_items(r.xread({s: from_id for s in names}, count=count, block=block))
    got = False
    for name, msgs in res:
        for msg_id, fields in msgs:
            got = True
            common.write_message(st, name, msg_id, fields, with_stream=several)
    if not got:
        if block is None:
            for name in names:
                _require_stream(r, name)
        raise _empty()


FOLLOW_BLOCK_MS = 5000


def _follow(
    st: State, r: Any, names: list[str], from_id: str, count: Any, block: Any, several: bool
) -> None:
    # '$' is resolved once: passing '$' again on every call would lose what arrives
    # between two calls.
    last = {name: (_last_id(r, name) if from_id == "$" else from_id) for name in names}
    wait = FOLLOW_BLOCK_MS if block is None else block
    while True:
        for name, msgs in _stream_items(r.xread(last, count=count, block=wait)):
            for msg_id, fields in msgs:
                common.write_message(st, name, msg_id, fields, with_stream=several, flush=True)
                last[name] = msg_id


def _last_id(r: Any, stream: str) -> str:
    if not r.exists(stream):
        return "0-0"
    return r.xinfo_stream(stream)["last-generated-id"]


@app.command(
    name="len",
    short_help="Print the number of messages.",
    help="Print the number of messages in the stream (0 if it does not exist).",
)
def len_(
    ctx: typer.Context, stream: StreamArg, json_out: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    st = _st(ctx, json_out, quiet)
    n = st.client().xlen(stream)
    common.out(_count_line("length", n, st), st)


def _count_line(key: str, n: int, st: State) -> str:
    return (dumps({key: n}) if st.json else str(n)) + "\n"


@app.command(
    short_help="Trim a stream (XTRIM).",
    help="Trim the stream (XTRIM) to --maxlen entries or to IDs of at least --minid; "
    "print how many entries were removed.",
)
def trim(
    ctx: typer.Context,
    stream: StreamArg,
    maxlen: Annotated[
        int | None, typer.Option("--maxlen", metavar="N", min=0, help="Keep the newest N entries.")
    ] = None,
    minid: Annotated[
        str | None, typer.Option("--minid", metavar="ID", help="Remove entries with IDs below ID.")
    ] = None,
    approx: Annotated[
        bool, typer.Option("--approx", help="Trim approximately ('~'): cheaper.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", metavar="N", min=0, help="With --approx: remove at most N entries."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    if (maxlen is None) == (minid is None):
        raise CliError("give one of --maxlen N or --minid ID")
    if limit is not None and not approx:
        raise CliError("--limit needs --approx")
    n = st.client().xtrim(stream, maxlen=maxlen, approximate=approx, minid=minid, limit=limit)
    common.out(_count_line("removed", n, st), st)


@app.command(
    name="del",
    short_help="Delete messages by ID (XDEL).",
    help="Delete messages by ID (XDEL); print how many were deleted.",
)
def del_(
    ctx: typer.Context,
    stream: StreamArg,
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="IDs to delete.")],
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    n = st.client().xdel(stream, *ids)
    common.out(_count_line("deleted", n, st), st)


# --------------------------------------------------------------------------- groups


@group_app.command(
    "create",
    short_help="Create a consumer group.",
    help="Create GROUP on STREAM, delivering messages after START ('$', the default: only "
    "new ones; 0: all). Exit 4 if the stream is missing and --mkstream is not given.",
)
def group_create(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    start: Annotated[str, typer.Argument(metavar="START", help="Last delivered ID.")] = "$",
    mkstream: Annotated[
        bool, typer.Option("--mkstream", help="Create the stream if missing.")
    ] = False,
    entries_read: Annotated[
        int | None,
        typer.Option(
            "--entries-read", metavar="N", help="Set the group's entries-read counter (for lag)."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    st.client().xgroup_create(stream, group, id=start, mkstream=mkstream, entries_read=entries_read)


@group_app.command(
    "destroy",
    short_help="Destroy a consumer group.",
    help="Destroy GROUP and its pending entries. Exit 4 if it does not exist.",
)
def group_destroy(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    if not st.client().xgroup_destroy(stream, group):
        raise CliError(f"no such group: {group} (stream {stream})", ExitCode.NOT_FOUND)


@group_app.command(
    "setid",
    short_help="Set a group's last delivered ID.",
    help="Set GROUP's last delivered ID ('$': the stream's last entry).",
)
def group_setid(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    msg_id: Annotated[str, typer.Argument(metavar="ID", help="The new last delivered ID.")],
    entries_read: Annotated[
        int | None,
        typer.Option(
            "--entries-read", metavar="N", help="Set the group's entries-read counter (for lag)."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    st.client().xgroup_setid(stream, group, msg_id, entries_read=entries_read)


@group_app.command(
    "createconsumer",
    short_help="Create a consumer in a group.",
    help="Create CONSUMER in GROUP; print 1 if created, 0 if it existed.",
)
def group_createconsumer(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    consumer: ConsumerArg,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    n = st.client().xgroup_createconsumer(stream, group, consumer)
    common.out(_count_line("created", int(n), st), st)


@group_app.command(
    "delconsumer",
    short_help="Delete a consumer from a group.",
    help="Delete CONSUMER from GROUP; print how many pending entries it had (they are dropped).",
)
def group_delconsumer(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    consumer: ConsumerArg,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    n = st.client().xgroup_delconsumer(stream, group, consumer)
    common.out(_count_line("pending", int(n), st), st)


# --------------------------------------------------------------------------- consumers


@app.command(
    short_help="Read as a consumer of a group (XREADGROUP).",
    help="Read as CONSUMER of GROUP (XREADGROUP): new messages with --id '>' (the default), "
    "or CONSUMER's own pending ones from --id ID. Exit 1 if nothing was delivered, 4 if the "
    "group does not exist.",
)
def readgroup(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    consumer: ConsumerArg,
    count: CountOpt = None,
    block: BlockOpt = None,
    noack: Annotated[
        bool, typer.Option("--noack", help="Do not add the messages to the pending list.")
    ] = False,
    msg_id: Annotated[
        str,
        typer.Option(
            "--id", metavar="ID", help="'>' for new messages, or an ID for own pending ones."
        ),
    ] = ">",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    res = st.client().xreadgroup(
        group, consumer, {stream: msg_id}, count=count, block=block, noack=noack
    )
    got = False
    for name, msgs in _stream_items(res):
        for mid, fields in msgs:
            got = True
            common.write_message(st, name, mid, fields, with_stream=False)
    if not got:
        raise _empty()


@app.command(
    short_help="Acknowledge messages (XACK).",
    help="Acknowledge messages of GROUP; print how many were acknowledged.",
)
def ack(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="IDs to acknowledge.")],
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    r = st.client()
    n = r.xack(stream, group, *ids)
    if not n:
        # XACK answers 0 for a misspelt group too; say so rather than pretend.
        _require_group(r, stream, group)
    common.out(_count_line("acknowledged", n, st), st)


@app.command(
    short_help="Show a group's pending entries (XPENDING).",
    help="Without START END COUNT: a summary of GROUP's pending entries (count, lowest and "
    "highest ID, per consumer). With them: the entries, one per line (ID, consumer, idle ms, "
    "deliveries); exit 1 if there are none.",
)
def pending(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    start: Annotated[
        str | None,
        typer.Argument(metavar="START", help="Lowest ID ('-' for the lowest).", show_default=False),
    ] = None,
    end: Annotated[
        str | None,
        typer.Argument(metavar="END", help="Highest ID ('+' for the highest).", show_default=False),
    ] = None,
    count: Annotated[
        int | None,
        typer.Argument(metavar="COUNT", min=0, help="At most COUNT entries.", show_default=False),
    ] = None,
    consumer: Annotated[
        str | None, typer.Option("--consumer", metavar="NAME", help="Only NAME's entries.")
    ] = None,
    idle: Annotated[
        int | None,
        typer.Option("--idle", metavar="MS", min=0, help="Only entries idle at least MS ms."),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    r = st.client()
    given = [v is not None for v in (start, end, count)]
    if any(given) and not all(given):
        raise CliError("give all of START END COUNT, e.g. 'pending STREAM GROUP - + 10'")
    if not any(given):
        if consumer is not None or idle is not None:
            raise CliError(
                "--consumer and --idle need START END COUNT, "
                "e.g. 'pending STREAM GROUP - + 10 --consumer NAME'"
            )
        s = r.xpending(stream, group)
        summary = {
            "pending": s["pending"],
            "first_id": s["min"],
            "last_id": s["max"],
            "consumers": [
                {"name": c["name"], "pending": int(c["pending"])} for c in s["consumers"]
            ],
        }
        if st.json:
            common.out(dumps(summary) + "\n", st)
        else:
            lines = [
                f"pending\t{summary['pending']}",
                f"first_id\t{summary['first_id'] or '-'}",
                f"last_id\t{summary['last_id'] or '-'}",
            ]
            lines += [f"consumer\t{c['name']}\t{c['pending']}" for c in summary["consumers"]]
            common.out("\n".join(lines) + "\n", st)
        return
    entries = r.xpending_range(
        stream, group, min=start, max=end, count=count, consumername=consumer, idle=idle
    )
    if not entries:
        raise _empty()
    rows = [
        (e["message_id"], e["consumer"], int(e["time_since_delivered"]), int(e["times_delivered"]))
        for e in entries
    ]
    if st.json:
        keys = ("id", "consumer", "idle_ms", "deliveries")
        common.out("".join(dumps(dict(zip(keys, row, strict=True))) + "\n" for row in rows), st)
    else:
        from .render import plain_table

        common.out(plain_table(("ID", "CONSUMER", "IDLE_MS", "DELIVERIES"), rows), st)


def _check_id(msg_id: str) -> None:
    from streamctl import errors, ids

    try:
        ids.parse(msg_id, strict=True)
    except errors.ReplyError:
        raise CliError(f"not a stream ID: {msg_id!r}") from None


JustIdOpt = Annotated[
    bool, typer.Option("--justid", help="Print only the IDs (and do not count a delivery).")
]


def _print_claimed(st: State, stream: str, claimed: list, justid: bool) -> None:
    for item in claimed:
        if justid:
            if st.json:
                common.out(dumps({"stream": stream, "id": item}) + "\n", st)
            else:
                common.out(f"{item}\n", st)
        else:
            msg_id, fields = item
            common.write_message(st, stream, msg_id, fields, with_stream=False)


@app.command(
    short_help="Claim pending messages by ID (XCLAIM).",
    help="Take over pending messages idle for at least MIN_IDLE_MS (XCLAIM) and print them. "
    "Exit 1 if none was claimed, 4 if the group does not exist.",
)
def claim(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    consumer: ConsumerArg,
    min_idle_ms: Annotated[
        int, typer.Argument(metavar="MIN_IDLE_MS", min=0, help="Minimum idle time.")
    ],
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="IDs to claim.")],
    justid: JustIdOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    for msg_id in ids:
        # XCLAIM takes the words after its IDs as options (FORCE, JUSTID, IDLE ...): an ID
        # that is not one must not become one.
        _check_id(msg_id)
    claimed = st.client().xclaim(stream, group, consumer, min_idle_ms, ids, justid=justid)
    if not claimed:
        raise _empty()
    _print_claimed(st, stream, claimed, justid)


@app.command(
    short_help="Claim idle pending messages (XAUTOCLAIM).",
    help="Claim pending messages idle for at least MIN_IDLE_MS, scanning from --start "
    "(XAUTOCLAIM), and print them; the next --start goes to stderr. Exit 1 if none was "
    "claimed, 4 if the group does not exist.",
)
def autoclaim(
    ctx: typer.Context,
    stream: StreamArg,
    group: GroupArg,
    consumer: ConsumerArg,
    min_idle_ms: Annotated[
        int, typer.Argument(metavar="MIN_IDLE_MS", min=0, help="Minimum idle time.")
    ],
    start: Annotated[
        str, typer.Option("--start", metavar="ID", help="Scan the pending list from ID.")
    ] = "0-0",
    count: Annotated[
        int | None,
        typer.Option("--count", metavar="N", min=1, help="Claim at most N (server default 100)."),
    ] = None,
    justid: JustIdOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    st = _st(ctx, json_out, quiet)
    r = st.client()
    if justid:
        nxt, claimed = _autoclaim_justid(r, stream, group, consumer, min_idle_ms, start, count)
    else:
        nxt, claimed = r.xautoclaim(
            stream, group, consumer, min_idle_ms, start_id=start, count=count
        )[:2]
    if nxt is not None and nxt != "0-0":
        common.note(f"next start: {nxt}", st)
    if not claimed:
        raise _empty()
    _print_claimed(st, stream, claimed, justid)


def _autoclaim_justid(
    r: Any, stream: str, group: str, consumer: str, min_idle_ms: int, start: str, count: Any
) -> tuple[str, list[str]]:
    """XAUTOCLAIM ... JUSTID as (next start, IDs): redis-py's ``xautoclaim(justid=True)``
    keeps only the IDs, so the command goes out as it is and its reply is read raw."""
    args: list[Any] = ["XAUTOCLAIM", stream, group, consumer, min_idle_ms, start]
    if count is not None:
        args += ["COUNT", count]
    args.append("JUSTID")
    callbacks = r.response_callbacks
    saved = callbacks.pop("XAUTOCLAIM", None)
    try:
        reply = r.execute_command(*args)
    finally:
        if saved is not None:
            callbacks["XAUTOCLAIM"] = saved
    return reply[0], list(reply[1])


# --------------------------------------------------------------------------- info

from .info import register as _register_info  # noqa: E402

_register_info(app)

# --------------------------------------------------------------------------- consume

from .consume import register as register_consume  # noqa: E402

register_consume(app)
