"""``consume`` without ``--exec``: print each message, acknowledge it once written.

Messages are read in batches (``--count``, 500 by default), written as one block and
flushed, then acknowledged with one XACK: a message is acknowledged only after its line
reached stdout. A reader that closes the pipe early (``| head``) leaves the batch it was
sent unacknowledged, to be delivered again.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

from .loop import SignalFlags, exit_code_for, forget_consumer, prepare_group
from .options import WorkerOptions
from .report import Reporter
from .source import Source


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
        self.format_text = format_text or _text_line
        self.printed = 0

    def run(self) -> int:
        opts = self.opts
        flags = SignalFlags(wakeup=False)
        try:
            prepare_group(self.client, opts)
            source = Source(self.client, opts.stream, opts.group, opts.consumer, opts.claim_idle_ms)
            stop: int | None = None
            stream = opts.stream
            dumps = json.dumps
            fmt = self.format_text
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
                msgs = source.acquire(n, opts.block_ms, want_counts=False)
                if not msgs:
                    if opts.once and source.exhausted():
                        break
                    continue
                if opts.json:
                    text = "".join(
                        dumps({"stream": stream, "id": i, "fields": f}, ensure_ascii=False) + "\n"
                        for i, f, _ in msgs
                    )
                else:
                    text = "".join(fmt(stream, i, f) + "\n" for i, f, _ in msgs)
                self.out.write(text)
                self.out.flush()
                self.client.xack(stream, opts.group, *[i for i, _, _ in msgs])
                self.printed += len(msgs)
                if source.last_kind == "claimed":
                    self.reporter.event("claimed", count=len(msgs))
            if stop is not None:
                self.reporter.event(
                    "stopped", signal=signal.Signals(stop).name, printed=self.printed
                )
            else:
                forget_consumer(self.client, opts)
            return exit_code_for(stop)
        finally:
            flags.restore()


def _text_line(stream: str, msg_id: str, fields: dict | None) -> str:
    parts = [msg_id]
    for k, v in (fields or {}).items():
        parts.append(f"{k}={v}".replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"))
    return "\t".join(parts)
