"""Where a worker's messages come from, in order of priority:

1. its **own pending entries** (a worker restarted under the same ``--consumer`` finishes
   what it had, first): listed with XPENDING, taken back with XCLAIM (which counts the
   delivery and drops entries deleted from the stream);
2. entries **idle in other consumers' PELs** for ``--claim-idle`` ms (a dead worker's):
   XAUTOCLAIM, scanning the group's PEL with a cursor; a full scan is repeated every
   ``min(claim-idle / 2, 5 s)``;
3. **new messages**: XREADGROUP ``>``.

Each message comes with its delivery count as it stands after this delivery.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

#: At most this many XAUTOCLAIM calls per fill when they claim nothing (each looks at
#: up to 10 x COUNT PEL entries).
_AUTOCLAIM_STEPS = 10


class Source:
    def __init__(self, client: Any, stream: str, group: str, consumer: str, claim_idle_ms: int):
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self.claim_interval = max(0.05, min(claim_idle_ms / 2000, 5.0))
        self.own_cursor: str | None = "-"  # None once the own PEL has been taken back
        self.claim_cursor = "0-0"
        self.claim_due = 0.0  # monotonic time of the next autoclaim scan
        self.scanned = False  # one full autoclaim scan has completed
        self.new_empty = False  # the last XREADGROUP > found nothing
        #: what the last acquire() did, for the log: "own", "claimed" or "new"
        self.last_kind = ""

    @property
    def own_done(self) -> bool:
        return self.own_cursor is None

    def exhausted(self) -> bool:
        """Nothing is waiting: own PEL done, a full autoclaim scan done, no new message."""
        return self.own_cursor is None and self.scanned and self.new_empty

    def claim_is_due(self, now: float) -> bool:
        return now >= self.claim_due

    def acquire(
        self, count: int, block_ms: int, held: Any = (), want_counts: bool = True
    ) -> list[tuple[str, dict, int]]:
        """Up to ``count`` messages as ``(id, fields, deliveries)``; may wait up to
        ``block_ms`` for new ones. IDs in ``held`` (already being handled) are skipped.
        ``deliveries`` is 0 where ``want_counts`` is false and it would cost a query."""
        self.last_kind = ""
        if self.own_cursor is not None:
            got = self._own(count, held)
            if got:
                self.last_kind = "own"
                return got
        if self.own_cursor is None and time.monotonic() >= self.claim_due:
            got = self._autoclaim(count, held, want_counts)
            if got:
                self.last_kind = "claimed"
                return got
        if self.own_cursor is not None:
            return []
        return self._new(count, block_ms)

    # --------------------------------------------------------------- the three

    def _own(self, count: int, held: Any) -> list[tuple[str, dict, int]]:
        client = self.client
        while self.own_cursor is not None:
            rows = client.xpending_range(
                self.stream, self.group, self.own_cursor, "+", count, consumername=self.consumer
            )
            if len(rows) < count:
                self.own_cursor = None
            elif rows:
                self.own_cursor = "(" + rows[-1]["message_id"]
            counts = {
                row["message_id"]: row["times_delivered"]
                for row in rows
                if row["message_id"] not in held
            }
            if not counts:
                continue
            # XCLAIM to ourselves: counts the delivery, resets the idle time, and drops
            # entries that were deleted from the stream from the PEL. The minimum idle
            # time seen leaves alone an entry another worker claimed in between.
            min_idle = min(
                row["time_since_delivered"] for row in rows if row["message_id"] in counts
            )
            claimed = client.xclaim(
                self.stream, self.group, self.consumer, max(0, int(min_idle)), list(counts)
            )
            got = [(i, f or {}, counts.get(i, 0) + 1) for i, f in claimed]
            if got:
                return got
        return []

    def _autoclaim(self, count: int, held: Any, want_counts: bool) -> list[tuple[str, dict, int]]:
        client = self.client
        for _ in range(_AUTOCLAIM_STEPS):
            reply = client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                self.claim_idle_ms,
                start_id=self.claim_cursor,
                count=count,
            )
            cursor = reply[0] if reply else "0-0"
            claimed = reply[1] if len(reply) > 1 else []
            self.claim_cursor = cursor
            if cursor == "0-0":
                self.scanned = True
                self.claim_due = time.monotonic() + self.claim_interval
            got = [(i, f or {}) for i, f in claimed if i not in held]
            if got:
                return self._with_counts(got) if want_counts else [(i, f, 0) for i, f in got]
            if cursor == "0-0":
                break
        return []

    def _with_counts(self, msgs: list[tuple[str, dict]]) -> list[tuple[str, dict, int]]:
        pipe = self.client.pipeline(transaction=False)
        for msg_id, _ in msgs:
            pipe.xpending_range(self.stream, self.group, msg_id, msg_id, 1)
        counts = {}
        for rows in pipe.execute():
            for row in rows or ():
                counts[row["message_id"]] = row["times_delivered"]
        return [(i, f, counts.get(i, 1)) for i, f in msgs]

    def _new(self, count: int, block_ms: int) -> list[tuple[str, dict, int]]:
        reply = self.client.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=count,
            block=block_ms if block_ms > 0 else None,
        )
        msgs = reply[0][1] if reply else []
        self.new_empty = not msgs
        if msgs:
            self.last_kind = "new"
        return [(i, f or {}, 1) for i, f in msgs]
