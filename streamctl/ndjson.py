"""The one JSON form of a message, shared by the command line (``--json`` output) and the
worker (printed messages, a command's stdin): ``{"stream": ..., "id": ..., "fields":
{...}}`` on one line (NDJSON), ``fields`` null for an entry deleted while pending.

Below both the CLI and the worker (it imports nothing of either), so that the two
cannot drift apart.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

# One encoder for every message: json.dumps with an option builds a new encoder per call,
# which costs more than encoding a small message does.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def message_json(stream: str, msg_id: str, fields: dict | None) -> str:
    """The message as one line of JSON (without the newline); non-ASCII text as it is."""
    return _ENCODE({"stream": stream, "id": msg_id, "fields": fields})


def message_bytes(stream: str, msg_id: str, fields: dict | None) -> bytes:
    """:func:`message_json` and a newline, as UTF-8. Text that cannot be UTF-8 (lone
    surrogates) is written with ``\\\\uXXXX`` escapes: still valid JSON."""
    try:
        return (message_json(stream, msg_id, fields) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        obj: dict[str, Any] = {"stream": stream, "id": msg_id, "fields": fields}
        return (json.dumps(obj) + "\n").encode("ascii")
