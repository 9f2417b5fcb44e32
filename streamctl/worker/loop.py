"""What both ``consume`` loops share: signal flags, the group, the consumer's name.

Signal handlers only record the signal; the loops act on it (huey's consumer does the
same), so nothing is ever interrupted half-way.
"""

from __future__ import annotations

import os
import signal

from .options import WorkerOptions

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any


class SignalFlags:
    """Installs SIGINT/SIGTERM handlers that only remember the signal and, with
    ``wakeup``, wake a selector through ``signal.set_wakeup_fd`` (threads can wake it too,
    with :meth:`wake`). :meth:`restore` puts the previous handlers back."""

    def __init__(self, wakeup: bool):
        self.received: list[int] = []
        self._old: dict[int, Any] = {}
        self._old_wakeup: int | None = None
        self.read_fd: int | None = None
        self._write_fd: int | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old[signum] = signal.signal(signum, self._on_signal)
        if wakeup:
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self.read_fd, self._write_fd = r, w
            self._old_wakeup = signal.set_wakeup_fd(w, warn_on_full_buffer=False)

    def wake(self) -> None:
        """Wake the loop's selector (from another thread)."""
        try:
            os.write(self._write_fd, b"w")  # type: ignore[arg-type]
        except (OSError, TypeError):
            pass  # full (the loop is awake anyway) or closed (the loop is gone)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.received.append(signum)

    def take(self) -> list[int]:
        got, self.received = self.received, []
        return got

    def drain(self) -> None:
        if self.read_fd is None:
            return
        try:
            while os.read(self.read_fd, 4096):
                pass
        except OSError:
            pass

    def restore(self) -> None:
        if self._write_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup if self._old_wakeup is not None else -1)
            write_fd, read_fd = self._write_fd, self.read_fd
            self._write_fd = self.read_fd = None
            os.close(write_fd)
            os.close(read_fd)  # type: ignore[arg-type]
        for signum, handler in self._old.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._old.clear()


def exit_code_for(signum: int | None) -> int:
    """0, or 128 + the signal that stopped the worker (130 SIGINT, 143 SIGTERM)."""
    return 0 if signum is None else 128 + signum


def prepare_group(client: Any, opts: WorkerOptions) -> None:
    """``--create-group``: the group (and stream) if missing."""
    if not opts.create_group:
        return
    try:
        # At the start of the stream: messages added before the first worker ran are
        # work too. (``streamctl group create`` gives other starting points.)
        client.xgroup_create(opts.stream, opts.group, id="0", mkstream=True)
    except Exception as exc:
        if not str(exc).startswith("BUSYGROUP"):
            raise


def forget_consumer(client: Any, opts: WorkerOptions) -> None:
    """Delete an automatically named consumer that has nothing pending (each run makes a
    new one; without this they would pile up in XINFO CONSUMERS)."""
    if not opts.auto_consumer:
        return
    try:
        rows = client.xpending_range(
            opts.stream, opts.group, "-", "+", 1, consumername=opts.consumer
        )
        if not rows:
            client.xgroup_delconsumer(opts.stream, opts.group, opts.consumer)
    except Exception:
        pass
