"""``streamctl info``: streams, groups and lag at a glance.

Everything shown comes from XINFO STREAM / XINFO GROUPS / XINFO CONSUMERS and one
XPENDING entry per group (the oldest pending one), so the cost does not grow with the
length of a stream or of a pending list.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from streamctl.exitcodes import ExitCode

from . import common
from .common import CliError
from .options import QuietOpt
from .render import dumps, escape, human_ms, plain_table, rich_console, use_rich

#: How ``info`` opens its client: names pass through exactly (a STREAM argument that is
#: not UTF-8 still finds its key), and entry values it does not show cannot fail it.
CLIENT_OPTIONS = {"encoding_errors": "surrogateescape"}

STREAM_HEADERS = (
    "STREAM",
    "LENGTH",
    "FIRST_ID",
    "LAST_ID",
    "GROUP",
    "CONSUMERS",
    "PENDING",
    "LAG",
    "OLDEST_PENDING_MS",
)
GROUP_HEADERS = ("GROUP", "CONSUMERS", "PENDING", "LAG", "LAST_DELIVERED_ID", "OLDEST_PENDING_MS")
CONSUMER_HEADERS = ("GROUP", "CONSUMER", "PENDING", "IDLE_MS", "INACTIVE_MS")


def _id_ms(msg_id: str) -> int:
    return int(str(msg_id).split("-", 1)[0])


def _is_no_such_key(exc: Exception) -> bool:
    return "no such key" in str(exc)


def _text(name: str) -> str:
    """A key, group or consumer name for output: bytes that are not UTF-8 as ``\\xNN``."""
    return common.printable(name, limit=None)


def collect(r: Any, stream: str | None = None) -> dict:
    """The ``info --json`` object: ``{"streams": [{"name", "length", "first_id",
    "last_id", "last_generated_id", "entries_added", "groups": [{"name", "consumers",
    "pending", "lag", "entries_read", "last_delivered_id", "oldest_pending_id",
    "oldest_pending_ms", "oldest_pending_idle_ms"[, "consumer_list"]}]}]}``.

    ``oldest_pending_ms`` is the age of the oldest pending entry (now minus the time in
    its ID), ``oldest_pending_idle_ms`` the time since it was last delivered; both null
    when nothing is pending. ``lag`` is null where the server reports none. With a
    stream, each group also lists its consumers (``consumer_list``: name, pending,
    idle_ms, inactive_ms).

    ``r`` should decode with ``encoding_errors="surrogateescape"`` (see :data:`CLIENT_OPTIONS`):
    XINFO STREAM returns the first and last entries, which ``info`` never shows, and one
    value that is not UTF-8 must not make it fail. Names that are not UTF-8 are shown with
    ``\\xNN`` escapes.
    """
    if stream is None:
        names = sorted(r.scan_iter(_type="STREAM"))
    else:
        names = [stream]
    now_ms = int(time.time() * 1000)
    streams = []
    for name in names:
        try:
            xs = r.xinfo_stream(name)
        except Exception as exc:
            if not _is_no_such_key(exc):
                raise
            if stream is not None:
                raise CliError(f"no such stream: {stream}", ExitCode.NOT_FOUND) from None
            continue  # deleted since it was listed
        groups = [
            _group(r, name, g, now_ms, details=stream is not None) for g in r.xinfo_groups(name)
        ]
        first = xs.get("first-entry")
        last = xs.get("last-entry")
        streams.append(
            {
                "name": _text(name),
                "length": xs.get("length"),
                "first_id": first[0] if first else None,
                "last_id": last[0] if last else None,
                "last_generated_id": xs.get("last-generated-id"),
                "entries_added": xs.get("entries-added"),
                "groups": groups,
            }
        )
    return {"streams": streams}


def _group(r: Any, stream: str, g: dict, now_ms: int, details: bool) -> dict:
    pending = int(g.get("pending") or 0)
    oldest_id = oldest_ms = oldest_idle = None
    if pending:
        first = r.xpending_range(stream, g["name"], min="-", max="+", count=1)
        if first:
            oldest_id = first[0]["message_id"]
            oldest_ms = max(0, now_ms - _id_ms(oldest_id))
            oldest_idle = int(first[0]["time_since_delivered"])
    out = {
        "name": _text(g["name"]),
        "consumers": int(g.get("consumers") or 0),
        "pending": pending,
        "lag": g.get("lag"),
        "entries_read": g.get("entries-read"),
        "last_delivered_id": g.get("last-delivered-id"),
        "oldest_pending_id": oldest_id,
        "oldest_pending_ms": oldest_ms,
        "oldest_pending_idle_ms": oldest_idle,
    }
    if details:
        out["consumer_list"] = [
            {
                "name": _text(c["name"]),
                "pending": int(c.get("pending") or 0),
                "idle_ms": c.get("idle"),
                "inactive_ms": c.get("inactive"),
            }
            for c in r.xinfo_consumers(stream, g["name"])
        ]
    return out


# --------------------------------------------------------------------------- rendering


def _overview_rows(data: dict) -> list[tuple]:
    rows = []
    for s in data["streams"]:
        head = (s["name"], s["length"], s["first_id"], s["last_id"])
        if not s["groups"]:
            rows.append(head + (None,) * 5)
        for g in s["groups"]:
            rows.append(
                head + (g["name"], g["consumers"], g["pending"], g["lag"], g["oldest_pending_ms"])
            )
    return rows


def _group_rows(s: dict) -> list[tuple]:
    return [
        (
            g["name"],
            g["consumers"],
            g["pending"],
            g["lag"],
            g["last_delivered_id"],
            g["oldest_pending_ms"],
        )
        for g in s["groups"]
    ]


def _consumer_rows(s: dict) -> list[tuple]:
    return [
        (g["name"], c["name"], c["pending"], c["idle_ms"], c["inactive_ms"])
        for g in s["groups"]
        for c in g.get("consumer_list", [])
    ]


def render_plain(data: dict, stream: str | None) -> str:
    """Stable text: tab-separated tables with a header line, durations in ms, '-' for none."""
    if stream is None:
        return plain_table(STREAM_HEADERS, _overview_rows(data))
    s = data["streams"][0]
    parts = [
        plain_table(STREAM_HEADERS[:4], [(s["name"], s["length"], s["first_id"], s["last_id"])]),
        plain_table(GROUP_HEADERS, _group_rows(s)),
        plain_table(CONSUMER_HEADERS, _consumer_rows(s)),
    ]
    return "\n".join(parts)


#: Columns whose values are shown whole on a terminal (never cut to "17958…").
_WHOLE = {"STREAM", "FIRST_ID", "LAST_ID", "GROUP", "CONSUMER", "LAST_DELIVERED_ID"}
_NUMERIC = {"LENGTH", "CONSUMERS", "PENDING", "LAG"}


def render_rich(data: dict, stream: str | None, width: int | None = None) -> Any:
    """Rich tables for a terminal ``width`` columns wide (durations for people).

    IDs and names are never cut. A table too wide for the terminal is drawn without its
    FIRST_ID column (the text output and ``--json`` keep it) and, if that is not enough,
    with lighter lines and less padding; only then do headers wrap."""
    from rich import box  # noqa: TID251 - lazy
    from rich.console import Group  # noqa: TID251 - lazy
    from rich.table import Table  # noqa: TID251 - lazy
    from rich.text import Text  # noqa: TID251 - lazy

    def cell(v: Any) -> Text:
        return Text("-" if v is None else escape(v))

    def build(
        title: str, headers: tuple, rows: list[tuple], durations: set[str], compact: bool
    ) -> Table:
        style = {"box": box.SIMPLE_HEAD, "collapse_padding": True} if compact else {}
        t = Table(title=title, title_justify="left", title_style="bold", **style)
        for h in headers:
            t.add_column(
                h.replace("_MS", "").replace("_", " ").lower(),
                justify="right" if h in _NUMERIC or h in durations else "left",
                no_wrap=h in _WHOLE,
                overflow="fold",  # a header that must wrap keeps all its letters
            )
        for row in rows:
            t.add_row(
                *(
                    Text(human_ms(v)) if h in durations else cell(v)
                    for h, v in zip(headers, row, strict=True)
                )
            )
        return t

    def table(title: str, headers: tuple, rows: list[tuple], durations: set[str]) -> Table:
        layouts = [(headers, False)]
        if "FIRST_ID" in headers and "LAST_ID" in headers:
            layouts.append((tuple(h for h in headers if h != "FIRST_ID"), False))
        layouts.append((layouts[-1][0], True))
        for shown, compact in layouts:
            keep = [headers.index(h) for h in shown]
            t = build(title, shown, [tuple(r[i] for i in keep) for r in rows], durations, compact)
            if width is None or _natural_width(t) <= width:
                break
        return t

    if stream is None:
        if not data["streams"]:
            return Text("no streams")
        return table("streams", STREAM_HEADERS, _overview_rows(data), {"OLDEST_PENDING_MS"})
    s = data["streams"][0]
    return Group(
        table(
            f"stream {escape(s['name'])}",
            STREAM_HEADERS[:4],
            [(s["name"], s["length"], s["first_id"], s["last_id"])],
            set(),
        ),
        table("groups", GROUP_HEADERS, _group_rows(s), {"OLDEST_PENDING_MS"}),
        table("consumers", CONSUMER_HEADERS, _consumer_rows(s), {"IDLE_MS", "INACTIVE_MS"}),
    )


def _natural_width(table: Any) -> int:
    """How wide ``table`` is drawn when nothing has to wrap."""
    from rich.console import Console  # noqa: TID251 - lazy
    from rich.measure import Measurement  # noqa: TID251 - lazy

    console = Console(width=100_000)
    return Measurement.get(console, console.options, table).maximum


# --------------------------------------------------------------------------- command


def register(app: typer.Typer) -> None:
    @app.command(
        short_help="Show streams, groups and lag.",
        help="Show streams, groups and lag. Without STREAM: every stream with its length, "
        "first and last ID and, per group, consumers, pending, lag and the age of the oldest "
        "pending entry. With STREAM: its groups and their consumers (pending, idle). Rich "
        "tables on a terminal, tab-separated text when piped, one JSON object with --json. "
        "Exit 4 if STREAM does not exist.",
    )
    def info(
        ctx: typer.Context,
        stream: Annotated[
            str | None, typer.Argument(metavar="STREAM", help="Show this stream in detail.")
        ] = None,
        watch: Annotated[
            bool,
            typer.Option(
                "-w", "--watch", help="Refresh every --interval seconds until interrupted."
            ),
        ] = False,
        interval: Annotated[
            float,
            typer.Option(
                "--interval", metavar="SECONDS", min=0.1, help="Refresh period for --watch."
            ),
        ] = 2.0,
        json_out: Annotated[
            bool, typer.Option("--json", help="One JSON object (one per refresh with --watch).")
        ] = False,
        quiet: QuietOpt = False,
    ) -> None:
        st = common.state(ctx, json_out, quiet)
        r = st.client(**CLIENT_OPTIONS)
        fancy = not st.json and use_rich()
        if not watch:
            _show(st, collect(r, stream), stream, fancy)
            return
        if fancy and not st.quiet:
            _watch_live(r, stream, interval)
            return
        while True:
            _show(st, collect(r, stream), stream, False, flush=True, separate=not st.json)
            time.sleep(interval)


def _show(
    st: common.State,
    data: dict,
    stream: str | None,
    fancy: bool,
    flush: bool = False,
    separate: bool = False,
) -> None:
    if st.quiet:
        return
    if st.json:
        common.out(dumps(data) + "\n", st, flush)
    elif fancy:
        console = rich_console()
        console.print(render_rich(data, stream, console.width))
    else:
        text = render_plain(data, stream)
        common.out(text + ("\n" if separate else ""), st, flush)


def _watch_live(r: Any, stream: str | None, interval: float) -> None:
    from rich.console import Group  # noqa: TID251 - lazy
    from rich.live import Live  # noqa: TID251 - lazy
    from rich.text import Text  # noqa: TID251 - lazy

    console = rich_console(sys.stdout)

    def frame() -> Any:
        stamp = Text(
            time.strftime("%H:%M:%S") + f"  every {interval:g}s  (Ctrl-C to stop)", style="dim"
        )
        return Group(stamp, render_rich(collect(r, stream), stream, console.width))

    with Live(frame(), console=console, auto_refresh=False, transient=False) as live:
        while True:
            time.sleep(interval)
            live.update(frame(), refresh=True)


__all__ = ["collect", "register", "render_plain", "render_rich", "escape"]
