"""One child process per message: started without a shell in its own process group, fed
the message on stdin, its stderr relayed and its tail kept, ended by TERM then KILL.

A slot thread creates the :class:`Child` and waits for it to exit (:meth:`Child.wait_exited`);
everything else happens in the loop's thread without blocking: its selector says when the
child's stdin can take more or its stderr has data, and :meth:`Child.poll` reaps it.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections.abc import Callable

from .options import STDERR_TAIL_BYTES

#: Exit statuses reported like a shell's when the command cannot be started.
CANNOT_EXECUTE = 126
NOT_FOUND = 127

# Whether os.waitid(WNOWAIT) can look at an exited child without reaping it. While it is
# an unreaped zombie its process group ID cannot be reused, so the group can still be
# killed safely after the leader has exited.
_HAVE_WAITID = hasattr(os, "waitid") and hasattr(os, "WNOWAIT")


class Child:
    """A running ``--exec`` command for one message."""

    __slots__ = (
        "proc",
        "pid",
        "started",
        "deadline",
        "kill_at",
        "term_reason",
        "returncode",
        "stdin_fd",
        "stderr_fd",
        "_pending_input",
        "_tail",
        "_relay",
        "spawn_error",
        "on_close",
    )

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        payload: bytes,
        timeout: float | None,
        relay: Callable[[bytes], None] | None,
    ):
        self.started = time.monotonic()
        self.deadline = self.started + timeout if timeout else None
        self.kill_at: float | None = None
        #: Why streamctl is terminating the child: "timeout" or "shutdown" (None: not).
        self.term_reason: str | None = None
        self.returncode: int | None = None
        self._tail = bytearray()
        self._relay = relay
        self.spawn_error: str | None = None
        self.proc: subprocess.Popen | None = None
        self.pid = 0
        self.stdin_fd: int | None = None
        self.stderr_fd: int | None = None
        self._pending_input = memoryview(payload)
        #: Called with a pipe's descriptor just before it is closed (a selector must
        #: forget a descriptor before it is closed, or epoll may keep reporting it).
        self.on_close: Callable[[int], None] | None = None

        fds: list[int] = []
        try:
            in_r, in_w = os.pipe()
            fds.append(in_r)
            self.stdin_fd = in_w  # closed by write_input once the message is written
            err_r, err_w = os.pipe()
            fds += (err_r, err_w)
            # The message goes into the pipe before the child exists: most fit in the
            # pipe's buffer, and then stdin needs no more attention (the rest is written
            # by the loop as the child reads).
            os.set_blocking(in_w, False)
            self.write_input()
            # start_new_session: the child leads its own process group (and session), so
            # a timeout can signal everything it started, and the terminal's Ctrl-C
            # reaches the worker only: the worker decides what happens to its children.
            self.proc = subprocess.Popen(
                argv,
                stdin=in_r,
                stderr=err_w,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            if self.stdin_fd is not None:
                fds.append(self.stdin_fd)
                self.stdin_fd = None
            for fd in fds:
                os.close(fd)
            missing = isinstance(exc, OSError) and exc.errno == errno.ENOENT
            code = NOT_FOUND if missing else CANNOT_EXECUTE
            reason = getattr(exc, "strerror", None) or str(exc)
            self.spawn_error = f"streamctl: cannot run {argv[0]}: {reason}\n"
            self._tail += self.spawn_error.encode()
            self.returncode = code
            return
        os.close(in_r)
        os.close(err_w)
        self.pid = self.proc.pid
        self.stderr_fd = err_r
        os.set_blocking(err_r, False)

    # ----------------------------------------------------------------- pipes

    def write_input(self) -> None:
        """Write as much of the message as the pipe takes; close stdin once all is written
        (or when the child stopped reading)."""
        fd = self.stdin_fd
        if fd is None:
            return
        data = self._pending_input
        try:
            while data:
                written = os.write(fd, data)
                data = data[written:]
        except BlockingIOError:
            self._pending_input = data
            return
        except OSError:  # EPIPE: the child exited or closed its stdin; that is its business
            pass
        self._pending_input = memoryview(b"")
        self._close_fd(fd)
        self.stdin_fd = None

    def read_stderr(self) -> bool:
        """Take what the child wrote to stderr; False at end of file (fd closed)."""
        fd = self.stderr_fd
        if fd is None:
            return False
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                self._close_fd(fd)
                self.stderr_fd = None
                return False
            self._keep(data)
            if self._relay is not None:
                self._relay(data)

    def _keep(self, data: bytes) -> None:
        tail = self._tail
        tail += data
        if len(tail) > STDERR_TAIL_BYTES:
            del tail[: len(tail) - STDERR_TAIL_BYTES]

    def stderr_tail(self) -> str:
        """The last STDERR_TAIL_BYTES bytes of the child's stderr, as text."""
        text = bytes(self._tail).decode("utf-8", "replace")
        if len(self._tail) >= STDERR_TAIL_BYTES:
            # The cut may have split a character; drop the partial first line too.
            text = text.lstrip("\ufffd")
        return text

    # ------------------------------------------------------------- lifecycle

    def poll(self) -> bool:
        """True once the child has exited and been reaped (``returncode`` is set)."""
        if self.returncode is not None:
            return True
        proc = self.proc
        assert proc is not None
        if _HAVE_WAITID:
            try:
                info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = True  # already reaped elsewhere; let Popen report what it knows
            if info is None:
                return False
            if self.term_reason is not None:
                # The leader is a zombie, so its group ID is still ours: make sure nothing
                # it started outlives the termination we began.
                self._signal_group(signal.SIGKILL)
            self.returncode = proc.wait()
        else:
            code = proc.poll()
            if code is None:
                return False
            self.returncode = code
        self._finish_pipes()
        return True

    def wait_exited(self) -> None:
        """Block until the child has exited, without reaping it (any thread may call
        this; :meth:`poll` in the loop's thread then reaps it)."""
        if self.returncode is not None or self.proc is None:
            return
        if _HAVE_WAITID:
            try:
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
        else:
            self.proc.wait()

    def _finish_pipes(self) -> None:
        if self.stderr_fd is not None:
            # Everything the child wrote before exiting is in the pipe now; what its
            # leftovers (background processes) write later is not waited for.
            self.read_stderr()
            if self.stderr_fd is not None:
                self._close_fd(self.stderr_fd)
                self.stderr_fd = None
        if self.stdin_fd is not None:
            self._close_fd(self.stdin_fd)
            self.stdin_fd = None

    def _close_fd(self, fd: int) -> None:
        if self.on_close is not None:
            self.on_close(fd)
        try:
            os.close(fd)
        except OSError:
            pass

    def terminate(self, reason: str, kill_after: float) -> None:
        """Send SIGTERM to the child's process group; SIGKILL follows after ``kill_after``."""
        if self.returncode is not None or self.term_reason is not None:
            return
        self.term_reason = reason
        self.kill_at = time.monotonic() + kill_after
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the child's process group now."""
        if self.returncode is not None:
            return
        if self.term_reason is None:
            self.term_reason = "shutdown"
        self.kill_at = None
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        if self.pid <= 0:
            return
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def next_deadline(self) -> float | None:
        if self.returncode is not None:
            return None
        if self.kill_at is not None:
            return self.kill_at
        if self.term_reason is None:
            return self.deadline
        return None

    def enforce(self, now: float, kill_after: float) -> bool:
        """Apply the timeout and the TERM→KILL grace; True when the timeout just fired."""
        if self.returncode is not None:
            return False
        if self.kill_at is not None and now >= self.kill_at:
            self.kill()
            return False
        if self.term_reason is None and self.deadline is not None and now >= self.deadline:
            self.terminate("timeout", kill_after)
            return True
        return False

    def close(self) -> None:
        """Release the pipes (the worker is going away)."""
        for name in ("stdin_fd", "stderr_fd"):
            fd = getattr(self, name)
            if fd is not None:
                self._close_fd(fd)
                setattr(self, name, None)

    def status_text(self) -> str:
        """How the run ended, for logs and dead letters: ``exit 1``, ``killed by SIGKILL``,
        ``timeout (killed by SIGTERM)``, ``cannot run``."""
        code = self.returncode
        if self.spawn_error is not None:
            return f"cannot run (exit {code})"
        if code is None:
            return "running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            text = f"killed by {name}"
        else:
            text = f"exit {code}"
        if self.term_reason == "timeout":
            return f"timeout ({text})"
        return text
