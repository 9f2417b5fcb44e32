"""One child process per message: started without a shell in its own process group, fed
the message on stdin, its stderr relayed and its tail kept, ended by TERM then KILL.

Nothing here blocks. The worker's loop watches a child's descriptors in its selector:
``stdin_fd`` (while the message does not fit the pipe), ``stderr_fd`` and ``exit_fd``, a
pidfd that becomes readable when the child exits, so that one loop serves every child
with no thread per child. Where pidfds are missing (not Linux, kernels before 5.3),
``exit_fd`` is None and the worker has a thread block in :meth:`Child.wait_exited`
instead. :meth:`Child.poll` reaps the child once it has exited.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time

from .options import STDERR_TAIL_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

#: Exit statuses reported like a shell's when the command cannot be started.
CANNOT_EXECUTE = 126
NOT_FOUND = 127

# Whether os.waitid(WNOWAIT) can look at an exited child without reaping it. While it is
# an unreaped zombie its process group ID cannot be reused, so the group can still be
# killed safely after the leader has exited.
_HAVE_WAITID = hasattr(os, "waitid") and hasattr(os, "WNOWAIT")

_HAVE_PIDFD = hasattr(os, "pidfd_open")

# posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK), exec, and exec errors reported
# back) costs the loop about half of what subprocess.Popen costs per child, in CPU and in
# time blocked until the child has exec'd; most of Popen's cost is Python code. Popen's
# close_fds=True closes every inheritable descriptor but 0-2 in the child; posix_spawn is
# told to close the inheritable ones open at each spawn (listed each time, about 10 µs:
# a program running the worker may make a descriptor inheritable at any moment).
# None: not decided yet; False: Popen.
_USE_SPAWN: bool | None = (
    None
    if sys.platform.startswith("linux")
    and hasattr(os, "posix_spawnp")
    and hasattr(os, "POSIX_SPAWN_DUP2")
    and hasattr(os, "POSIX_SPAWN_CLOSE")
    else False
)
# What Popen's restore_signals does: Python ignores these; a command expects defaults.
_DEFAULT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits, or None (no pidfds here:
    the caller then waits in a thread)."""
    global _HAVE_PIDFD
    if not _HAVE_PIDFD:
        return None
    try:
        return os.pidfd_open(pid)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):
            _HAVE_PIDFD = False  # not this kernel, or a sandbox refuses it: never again
        return None


def _use_spawn() -> bool:
    """Whether to start children with posix_spawn (it needs /proc/self/fd)."""
    global _USE_SPAWN
    if _USE_SPAWN is None:
        _USE_SPAWN = _inherited_closes() is not None
    return _USE_SPAWN


def _inherited_closes() -> list[tuple[int, int]] | None:
    """POSIX_SPAWN_CLOSE actions for the inheritable descriptors besides 0-2 (a shell's,
    make's, the embedding program's); None if they cannot be listed."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):
        return None
    return [(os.POSIX_SPAWN_CLOSE, fd) for fd in fds if fd > 2 and _inheritable(fd)]


def _spawn(argv: list[str], env: dict[str, str], stdin: int, stderr: int) -> int | None:
    """Start ``argv`` as Popen(start_new_session=True, close_fds=True) would; its pid, or
    None when Popen must start it after all."""
    global _USE_SPAWN
    closes = _inherited_closes()
    if closes is None:
        _USE_SPAWN = False
        return None
    try:
        return os.posix_spawnp(
            argv[0],
            argv,
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stderr, 2)]
            + closes,
            setsid=True,
            setsigdef=_DEFAULT_SIGNALS,
        )
    except OSError as exc:
        if exc.errno != errno.EBADF or not closes:
            raise
        # An older C library fails to close a descriptor that is not open any more:
        # leave closing to Popen from now on.
        _USE_SPAWN = False
        return None


def _inheritable(fd: int) -> bool:
    try:
        return os.get_inheritable(fd)
    except OSError:  # closed since it was listed (the listing's own descriptor)
        return False


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
        "exit_fd",
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
        self.exit_fd: int | None = None
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
            # A new session: the child leads its own process group, so a timeout can
            # signal everything it started, and the terminal's Ctrl-C reaches the worker
            # only: the worker decides what happens to its children.
            # (Pipes numbered 0-2, when the worker's own 0-2 are closed, are Popen's: it
            # gets them into place whatever their numbers.)
            pid = None
            if in_r > 2 and err_w > 2 and _use_spawn():
                pid = _spawn(argv, env, in_r, err_w)
            if pid is not None:
                self.pid = pid
            else:
                import subprocess  # (only here: its import is a cost on every start)

                self.proc = subprocess.Popen(
                    argv,
                    stdin=in_r,
                    stderr=err_w,
                    env=env,
                    start_new_session=True,
                    close_fds=True,
                )
                self.pid = self.proc.pid
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
        self.stderr_fd = err_r
        os.set_blocking(err_r, False)
        self.exit_fd = _pidfd(self.pid)

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
        if _HAVE_WAITID:
            try:
                info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = True  # already reaped elsewhere; let Popen report what it knows
            if info is None:
                return False
            if self.term_reason is not None:
                # The leader is a zombie, so its group ID is still ours: make sure nothing
                # it started outlives the termination we began.
                self._signal_group(signal.SIGKILL)
            self.returncode = proc.wait() if proc is not None else self._reap()
        else:
            code = proc.poll() if proc is not None else self._reap(os.WNOHANG)
            if code is None:
                return False
            self.returncode = code
        self._finish_pipes()
        return True

    def _reap(self, flags: int = 0) -> int | None:
        """Reap a child started by posix_spawn: its exit code (negative: the signal), or
        None with WNOHANG while it runs."""
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped by someone else: its status is lost
            return 255
        if pid == 0:
            return None
        return os.waitstatus_to_exitcode(status)

    def wait_exited(self) -> None:
        """Block until the child has exited, without reaping it (any thread may call
        this; :meth:`poll` in the loop's thread then reaps it)."""
        if self.returncode is not None or self.pid <= 0:
            return
        if _HAVE_WAITID:
            try:
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
        elif self.proc is not None:  # (posix_spawn is used only where waitid is)
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
        if self.exit_fd is not None:
            self._close_fd(self.exit_fd)
            self.exit_fd = None

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
        for name in ("stdin_fd", "stderr_fd", "exit_fd"):
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
