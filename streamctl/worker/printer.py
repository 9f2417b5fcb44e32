"""``consume`` without ``--exec``: print each message, acknowledge it once written.

Messages are read in batches (``--count``, 500 by default), written to stdout as one
block and flushed, then acknowledged with one XACK. "Written" means the operating system
accepted the bytes (into a pipe's buffer, a file, a terminal), not that a reader has read
them: a reader that exits early (``| head -1``) can leave messages acknowledged that it
never read, up to what the pipe held (64 KiB on Linux). A write that fails (the reader
has gone: EPIPE; or a full disk) acknowledges nothing of that batch; it stays pending
under this consumer and is delivered again.

A message whose fields are not UTF-8 text cannot be printed as text or JSON: it is moved
to the dead-letter stream (reason ``not-utf8``, see :mod:`.deadletter`) and the worker
goes on.
"""

from __future__ import annotations

import signal
import sys

from streamctl.errors import OutputError
from streamctl.ndjson import message_json

from . import deadletter
from .loop import SignalFlags, exit_code_for, forget_consumer, prepare_group
from .options import WorkerOptions
from .report import Reporter
from .source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any


def _plain_line(stream: str, msg_id: str, fields: dict | None) -> str:
    return "\t".join([msg_id, *(f"{k}={v}" for k, v in (fields or {}).items())])


class PrintWorker:
    """``consume`` without ``--exec``: write each message to ``out`` (NDJSON with
    ``json``, else the text line ``format_text`` gives), flush, then acknowledge the batch
    with one XACK."""

    def __init__(
        self,
        client: Any,
        opts: WorkerOptions,
        out: Any = None,
        reporter: Reporter | None = None,
        format_text: Any = None,
    ):
        self.client = client
        self.opts = opts
        self.out = out if out is not None else sys.stdout
        self.reporter = reporter or Reporter(opts.verbosity, opts.json, status_line=False)
        self.format_text = format_text or _plain_line
        self.printed = 0  # messages done: printed and acknowledged, or dead-lettered

    def run(self) -> int:
        opts = self.opts
        flags = SignalFlags(wakeup=False)
        try:
            prepare_group(self.client, opts)
            source = Source(self.client, opts.stream, opts.group, opts.consumer, opts.claim_idle_ms)
            stop: int | None = None
            stream = opts.stream
            fmt = message_json if opts.json else self.format_text
            while True:
                got = flags.take()
                if got:
                    stop = got[0]
                    break
                n = opts.count
                if opts.max_messages is not None:
                    n = min(n, opts.max_messages - self.printed)
                    if n <= 0:
                        break
                msgs = source.acquire(n, opts.read_block_ms, want_counts=False)
                if not msgs:
                    if opts.once and source.exhausted():
                        break
                    continue
                good = []
                for msg_id, fields, deliveries in msgs:
                    if deadletter.is_text(fields):
                        good.append((msg_id, fields))
                    else:
                        self._dead_letter(msg_id, fields, deliveries)
                if good:
                    self._write("".join(fmt(stream, i, f) + "\n" for i, f in good))
                    self.client.xack(stream, opts.group, *[i for i, _ in good])
                self.printed += len(msgs)
                if source.last_kind == "claimed":
                    self.reporter.event("claimed", count=len(msgs))
            if stop is not None:
                self.reporter.event(
                    "stopped", signal=signal.Signals(stop).name, printed=self.printed
                )
            forget_consumer(self.client, opts)
            return exit_code_for(stop)
        finally:
            flags.restore()

    def _write(self, text: str) -> None:
        out = self.out
        if out is None:
            raise OutputError("cannot write the output: stdout is closed")
        try:
            out.write(text)
            out.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            raise OutputError(
                f"cannot write the output: {getattr(exc, 'strerror', None) or exc}"
            ) from None

    def _dead_letter(self, msg_id: str, fields: dict, deliveries: int) -> None:
        opts = self.opts
        entry = deadletter.record(
            stream=opts.stream,
            msg_id=msg_id,
            group=opts.group,
            consumer=opts.consumer,  # type: ignore[arg-type]
            fields=fields,
            deliveries=deliveries,
            reason="not-utf8",
            status="not printed",
            exit_code=None,
            stderr="",
        )
        dl_id = deadletter.move(
            self.client,
            opts.dead_letter,
            opts.stream,
            opts.group,
            msg_id,
            entry,  # type: ignore[arg-type]
        )
        self.reporter.event(
            "dead-letter", id=msg_id, reason="not-utf8", to=f"{opts.dead_letter} {dl_id}"
        )
