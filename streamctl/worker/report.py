"""What the worker tells people: one line per event on stderr, and on a terminal a live
status line (processed, failed, dead-lettered, in flight, rate).

Event lines look like ``12:00:01.250 retry id=1764300000000-0 delivery=2/5 status="exit 1"
retry_in=2s`` (``key=value``, values with spaces quoted), or one JSON object per line with
``--json``. Levels: 0 (``-q``) nothing, 1 (default) everything but successes, 2 (``-v``)
every message started and finished too. Children's stderr is relayed through here so that
it never lands in the middle of the status line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any, TextIO

_STATUS_EVERY = 0.25  # s between redraws of the status line
_RATE_WINDOW = 5.0  # s of history behind the rate


class Counters:
    __slots__ = ("processed", "failed", "dead", "in_flight")

    def __init__(self) -> None:
        self.processed = 0  # acknowledged after success (or printed)
        self.failed = 0  # runs that failed (each retry counts)
        self.dead = 0  # moved to the dead-letter stream
        self.in_flight = 0


def _fmt_value(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\\\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class Reporter:
    def __init__(
        self,
        verbosity: int = 1,
        as_json: bool = False,
        stream: TextIO | None = None,
        status_line: bool | None = None,
    ):
        self.verbosity = verbosity
        self.as_json = as_json
        self.stream = stream or sys.stderr
        if status_line is None:
            try:
                tty = self.stream.isatty()
            except (AttributeError, ValueError):
                tty = False
            status_line = tty and verbosity > 0 and not as_json and os.environ.get("TERM") != "dumb"
        self.status_enabled = status_line
        self.counters = Counters()
        self._status_shown = False
        self._line_open = False  # relayed child output ended without a newline
        self._next_status = 0.0
        self._samples: deque[tuple[float, int]] = deque()

    # ------------------------------------------------------------------ events

    def event(self, name: str, level: int = 1, **fields: Any) -> None:
        if self.verbosity < level:
            return
        if self.as_json:
            line = json.dumps(
                {"time": round(time.time(), 3), "event": name, **fields}, ensure_ascii=False
            )
        else:
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
            parts = [stamp, name]
            parts.extend(f"{k}={_fmt_value(v)}" for k, v in fields.items() if v is not None)
            line = " ".join(parts)
        self._write(line + "\n")

    def relay(self, data: bytes) -> None:
        """A child's stderr, passed through as it comes."""
        self._clear_status()
        try:
            self.stream.flush()
            os.write(self.stream.fileno(), data)
        except (OSError, ValueError, AttributeError):
            try:
                self.stream.write(data.decode("utf-8", "replace"))
                self.stream.flush()
            except Exception:
                return
        self._line_open = not data.endswith(b"\n")

    def _write(self, text: str) -> None:
        self._clear_status()
        try:
            if self._line_open:
                text = "\n" + text
                self._line_open = False
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    # ------------------------------------------------------------- status line

    def tick(self, now: float | None = None, force: bool = False) -> None:
        """Redraw the status line if it is due (a terminal only)."""
        if not self.status_enabled:
            return
        now = time.monotonic() if now is None else now
        if not force and now < self._next_status:
            return
        self._next_status = now + _STATUS_EVERY
        c = self.counters
        samples = self._samples
        samples.append((now, c.processed))
        while len(samples) > 2 and now - samples[0][0] > _RATE_WINDOW:
            samples.popleft()
        span = now - samples[0][0]
        rate = (c.processed - samples[0][1]) / span if span > 0 else 0.0
        text = (
            f"processed {c.processed}  failed {c.failed}  dead-lettered {c.dead}  "
            f"in flight {c.in_flight}  {rate:.1f}/s"
        )
        if self._line_open:
            return
        try:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._status_shown = True
        except (OSError, ValueError):
            pass

    def next_tick(self) -> float | None:
        return self._next_status if self.status_enabled else None

    def _clear_status(self) -> None:
        if self._status_shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._status_shown = False

    def close(self) -> None:
        self._clear_status()
        if self._line_open:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._line_open = False
