"""Dead letters: the record of a message the worker gave up on, and putting it back.

A dead letter is one entry of the dead-letter stream (default ``<STREAM>:dead``) with
these fields, all text:

==============  ================================================================
``stream``      the stream the message came from
``id``          its ID there
``group``       the consumer group that gave up on it
``consumer``    the consumer that moved it
``fields``      its fields, as a JSON object
``fields_base64`` only for reason ``not-utf8``: the exact fields, as a JSON object of
                base64 names to base64 values (``fields`` then shows each byte that
                is not UTF-8 as ``\\xNN``, readable but not exact)
``deliveries``  how many times it had been delivered
``reason``      ``rejected`` (the command exited with the reject code),
                ``max-deliveries`` (it failed on its last allowed delivery, or was
                delivered more often than allowed without a run finishing) or
                ``not-utf8`` (a field name or value is not UTF-8 text: it cannot be
                given to a command as JSON or printed, so it is moved aside at once)
``status``      how the last run ended: ``exit 1``, ``killed by SIGKILL``,
                ``timeout (killed by SIGTERM)``, ``not run``
``exit_code``   the last exit status as a number, empty when there was none
``stderr``      the last 4 KiB of the last run's stderr
``failed_at``   when, in milliseconds since the epoch
==============  ================================================================

The worker reads with ``encoding_errors="surrogateescape"``, so bytes that are not UTF-8
arrive as lone surrogates (:func:`is_text` tells) and are written back exactly.
``deadletter requeue`` restores such a message from ``fields_base64``, byte for byte.

Moving a message there is one atomic step: the XADD to the dead-letter stream and the
XACK of the original run in one ``pipeline(transaction=True)`` (one SQLite transaction, a
MULTI/EXEC on Redis), so a crash can neither lose the message nor record it twice.
Requeueing is the mirror image: XADD to the original stream and XDEL from the dead-letter
stream in one transaction.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

#: Dead letters are read this many at a time when requeueing.
_PAGE = 200


def record(
    *,
    stream: str,
    msg_id: str,
    group: str,
    consumer: str,
    fields: dict[str, Any] | None,
    deliveries: int,
    reason: str,
    status: str,
    exit_code: int | None,
    stderr: str,
) -> dict[str, str]:
    """The fields of a dead-letter entry (all of them UTF-8 text)."""
    fields = fields or {}
    extra = {}
    if not is_text(fields):
        extra["fields_base64"] = json.dumps(
            {_b64(k): _b64(v) for k, v in fields.items()}, separators=(",", ":")
        )
        fields = {_escaped(k): _escaped(v) for k, v in fields.items()}
    return {
        "stream": _escaped(stream),
        "id": msg_id,
        "group": _escaped(group),
        "consumer": _escaped(consumer),
        "fields": json.dumps(fields, ensure_ascii=False),
        **extra,
        "deliveries": str(deliveries),
        "reason": reason,
        "status": status,
        "exit_code": "" if exit_code is None else str(exit_code),
        "stderr": stderr,
        "failed_at": str(int(time.time() * 1000)),
    }


def is_text(fields: dict | None) -> bool:
    """Whether every name and value is text that can be written as UTF-8 (a client
    decoding with ``surrogateescape`` gives bytes that are not UTF-8 as lone surrogates)."""
    try:
        for k, v in (fields or {}).items():
            k.encode("utf-8")
            v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _b64(text: str) -> str:
    return base64.b64encode(_raw(text)).decode("ascii")


def _escaped(text: str) -> str:
    """``text`` with each byte that is not UTF-8 written as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _raw(text).decode("utf-8", "backslashreplace")


def _fields_of(entry: dict) -> dict | None:
    """A dead letter's original fields (bytes for a ``not-utf8`` one), or None."""
    exact = entry.get("fields_base64")
    try:
        if exact:
            data = json.loads(exact)
            return {base64.b64decode(k): base64.b64decode(v) for k, v in data.items()}
        fields = json.loads(entry.get("fields") or "{}")
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(fields, dict):
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}


def move(client: Any, dead_letter: str, stream: str, group: str, msg_id: str, entry: dict) -> str:
    """Add ``entry`` to ``dead_letter`` and acknowledge ``msg_id``, atomically.

    Returns the dead letter's ID."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(dead_letter, entry)
    pipe.xack(stream, group, msg_id)
    results = pipe.execute()
    return results[0]


class Requeued:
    """One dead letter put back: its ID, where it went, its original and its new ID.

    (A plain class rather than a dataclass: the worker imports this module, and importing
    dataclasses costs the command line's start-up several milliseconds.)"""

    __slots__ = ("dead_letter_id", "stream", "original_id", "new_id")

    def __init__(self, dead_letter_id: str, stream: str, original_id: str, new_id: str):
        self.dead_letter_id = dead_letter_id
        self.stream = stream
        self.original_id = original_id
        self.new_id = new_id

    def _fields(self) -> tuple[str, str, str, str]:
        return (self.dead_letter_id, self.stream, self.original_id, self.new_id)

    def __repr__(self) -> str:
        names = ", ".join(f"{k}={v!r}" for k, v in zip(self.__slots__, self._fields()))
        return f"Requeued({names})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()  # type: ignore[attr-defined]


def _entries(client: Any, dead_letter: str) -> Iterator[tuple[str, dict]]:
    start = "-"
    while True:
        page = client.xrange(dead_letter, min=start, max="+", count=_PAGE)
        if not page:
            return
        yield from page
        if len(page) < _PAGE:
            return
        start = "(" + page[-1][0]


def requeue(
    client: Any,
    stream: str,
    dead_letter: str,
    ids: list[str] | None = None,
    count: int | None = None,
    to: str | None = None,
) -> tuple[list[Requeued], list[str], list[str]]:
    """Put dead letters of ``stream`` back: each is added to ``to`` (default: the stream
    it came from) as a new message with its original fields, and deleted from
    ``dead_letter``, in one transaction per message.

    ``ids`` selects dead letters by their ID in the dead-letter stream; ``count`` caps how
    many are moved. Returns the moved ones, the given ``ids`` that were not found (or
    belong to another stream), and the IDs of dead letters whose ``fields`` could not be
    read (left where they are)."""
    wanted = set(ids) if ids else None
    done: list[Requeued] = []
    skipped: list[str] = []
    for dl_id, entry in _entries(client, dead_letter):
        if count is not None and len(done) >= count:
            break
        if wanted is not None and dl_id not in wanted:
            continue
        if not entry or entry.get("stream") != stream:
            continue
        fields = _fields_of(entry)
        if not fields:
            skipped.append(dl_id)
            if wanted is not None:
                wanted.discard(dl_id)
            continue
        target = to or stream
        pipe = client.pipeline(transaction=True)
        pipe.xadd(target, fields)
        pipe.xdel(dead_letter, dl_id)
        new_id, _deleted = pipe.execute()
        done.append(Requeued(dl_id, target, entry.get("id", ""), new_id))
        if wanted is not None:
            wanted.discard(dl_id)
    missing = sorted(wanted) if wanted else []
    return done, missing, skipped


def read(client: Any, dead_letter: str, stream: str | None = None, count: int | None = None):
    """Dead letters (of ``stream``, when given) as dicts with ``fields`` decoded."""
    out = []
    for dl_id, entry in _entries(client, dead_letter):
        if count is not None and len(out) >= count:
            break
        if not entry or (stream is not None and entry.get("stream") != stream):
            continue
        item: dict[str, Any] = {"dead_letter_id": dl_id, **entry}
        try:
            item["fields"] = json.loads(entry.get("fields") or "{}")
        except ValueError:
            pass
        for key in ("deliveries", "failed_at", "exit_code"):
            value = entry.get(key)
            if value not in (None, ""):
                try:
                    item[key] = int(value)
                except ValueError:
                    pass
            elif key == "exit_code":
                item[key] = None
        out.append(item)
    return out
