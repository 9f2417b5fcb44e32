"""Output formats: the text and NDJSON forms of messages, tables (Rich on a terminal,
tab-separated text otherwise) and durations.

Text output is for people and simple scripts and is stable: one message per line,
``ID<TAB>FIELD=VALUE<TAB>...`` (prefixed by ``STREAM<TAB>`` when a command reads several
streams), with backslash, tab, newline and carriage return written as ``\\\\``, ``\\t``,
``\\n`` and ``\\r``. ``--json`` gives exact data. Rich is imported only inside the
functions that draw on a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from streamctl.ndjson import message_json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

__all__ = ["message_json", "message_text", "escape", "dumps", "plain_table", "human_ms"]

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(text: Any) -> str:
    return str(text).translate(_ESCAPES)


def message_text(stream: str | None, msg_id: str, fields: dict | None) -> str:
    """``[STREAM<TAB>]ID<TAB>F=V<TAB>...``; a deleted entry (fields None) is its ID alone."""
    parts = [escape(stream)] if stream is not None else []
    parts.append(msg_id)
    if fields:
        parts.extend(f"{escape(k)}={escape(v)}" for k, v in fields.items())
    return "\t".join(parts)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def use_rich(stream: Any = None) -> bool:
    """Rich tables only on a terminal; ``NO_COLOR`` keeps the tables but drops colour
    (Rich honours it itself); ``TERM=dumb`` gets plain text."""
    stream = sys.stdout if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and os.environ.get("TERM") != "dumb"


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A header line and one line per row, tab-separated; None is ``-``."""
    lines = ["\t".join(headers)]
    for row in rows:
        lines.append("\t".join("-" if v is None else escape(v) for v in row))
    return "\n".join(lines) + "\n"


def human_ms(ms: int | None) -> str:
    """A duration for people: ``850ms``, ``12.3s``, ``4m05s``, ``3h12m``, ``2d04h``."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def rich_console(stream: Any = None) -> Any:
    """A Rich console on stdout; with ``NO_COLOR`` set it writes no escape codes at all
    (tables keep their lines, text loses colour and bold)."""
    from rich.console import Console  # noqa: TID251 - lazy

    plain = bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream or sys.stdout, highlight=False, color_system=None if plain else "auto"
    )
