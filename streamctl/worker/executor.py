"""``consume --exec CMD``: run CMD once per message, up to ``--concurrency`` at once.

One thread, the loop, does everything: reads the stream, starts children, feeds their
stdin and relays their stderr through a selector, notices their exits (each child's
pidfd is in the same selector, see :mod:`.children`), enforces timeouts, decides what an
exit means (ack, retry, dead letter), refreshes claims and handles signals. Threads per
child cost more than the children themselves when the command is short (a wake-up and
a hand-off for each start and each exit), so there are none; the loop never blocks on
a child. When a child exits, the loop starts the next queued message first and only
then talks to the database, so a short command runs back to back as under ``xargs -P``.
(Without pidfds a small thread per child waits for its exit and wakes the loop.)

Guarantees (both backends):

* a message is acknowledged only after its command exited 0; acks are batched for at
  most ``ACK_DELAY`` seconds;
* while a message is held by this worker (queued, running, waiting for a retry, or
  finished but not yet acknowledged) its PEL entry's idle time is reset every
  ``claim-idle / 3`` (XCLAIM to itself with JUSTID), so other workers never claim it
  however long the command runs;
* a message is moved to the dead-letter stream and acknowledged atomically (see
  :mod:`.deadletter`);
* on shutdown nothing unfinished is acknowledged; what is left is handed back (made
  claimable at once, see :meth:`ExecWorker._release`).
"""

from __future__ import annotations

import heapq
import os
import selectors
import shlex
import signal
import threading
import time
from collections import deque

from streamctl.ndjson import message_bytes

from . import deadletter
from .children import Child
from .loop import SignalFlags, exit_code_for, forget_consumer, prepare_group
from .options import WorkerOptions, backoff_seconds
from .report import Reporter
from .source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

#: Finished messages are acknowledged in one XACK at most this long after the first.
ACK_DELAY = 0.02
#: ... or as soon as this many are waiting.
ACK_BATCH = 256
#: After a read found nothing, the stream is read again after this long (s) while the
#: worker has other things to wait for (children, retries).
POLL_INTERVAL = 0.05
#: Longest the loop sleeps without looking around (s).
MAX_WAIT = 1.0
#: XCLAIM ... JUSTID calls carry at most this many IDs.
REFRESH_CHUNK = 500


class Job:
    """A message this worker holds: queued, running, waiting for a retry."""

    __slots__ = ("id", "fields", "deliveries", "retry_at", "last_status")

    def __init__(self, msg_id: str, fields: dict, deliveries: int):
        self.id = msg_id
        self.fields = fields
        self.deliveries = deliveries
        self.retry_at = 0.0
        self.last_status = ""

    def __lt__(self, other: Job) -> bool:  # heap ties
        return self.id < other.id


class ExecWorker:
    def __init__(self, client: Any, opts: WorkerOptions, reporter: Reporter | None = None):
        assert opts.command
        self.client = client
        self.opts = opts
        self.reporter = reporter or Reporter(opts.verbosity, opts.json)
        self.counters = self.reporter.counters
        self.source = Source(client, opts.stream, opts.group, opts.consumer, opts.claim_idle_ms)
        self.held: dict[str, Job] = {}  # every message held, by ID
        self.queue: deque[Job] = deque()  # read (or due for a retry), not started
        self.closed = False  # no more children are started (shutdown, or an error)
        # Children that exited, not yet reaped: appended by _wait (their pidfd is
        # readable) or by a waiter thread where there are no pidfds.
        self.exits: deque[tuple[Job, Child]] = deque()
        self.running: dict[str, tuple[Job, Child]] = {}  # children started, by message ID
        self.waiting: list[tuple[float, Job]] = []  # heap of (retry_at, job)
        self.to_ack: list[str] = []
        self.ack_due = 0.0
        self.finalized = 0  # acknowledged or dead-lettered
        self.next_poll = 0.0
        self.refresh_every = max(0.01, opts.claim_idle_ms / 3000)
        self.next_refresh = 0.0
        self.stop_signal: int | None = None
        self.left_pending: list[str] = []  # ended by the shutdown: handed back at exit
        self.grace_deadline: float | None = None
        self.terminating = False
        self.sel: selectors.BaseSelector | None = None
        self.flags: SignalFlags | None = None
        base_env = dict(os.environ)
        base_env["STREAMCTL_STREAM"] = opts.stream
        base_env["STREAMCTL_GROUP"] = opts.group
        base_env["STREAMCTL_CONSUMER"] = opts.consumer  # type: ignore[assignment]
        self.base_env = base_env

    # ------------------------------------------------------------------- run

    def run(self) -> int:
        """Run until done (--once/--max) or stopped; returns the exit code."""
        opts = self.opts
        self.flags = SignalFlags(wakeup=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.flags.read_fd, selectors.EVENT_READ, None)  # type: ignore[arg-type]
        clean = False
        try:
            prepare_group(self.client, opts)
            self.reporter.event(
                "start",
                stream=opts.stream,
                group=opts.group,
                consumer=opts.consumer,
                concurrency=opts.concurrency,
                exec=shlex.join(opts.command or []),
            )
            self._loop()
            self._flush_acks()
            if self.left_pending:
                self._release([], self.left_pending)
            clean = True
        finally:
            if not clean:
                self._abort()
            self.sel.close()
            self.flags.restore()
        c = self.counters
        self.reporter.event(
            "stopped",
            signal=signal.Signals(self.stop_signal).name if self.stop_signal else None,
            processed=c.processed,
            failed=c.failed,
            dead_lettered=c.dead,
        )
        self.reporter.close()
        if not self.held:
            forget_consumer(self.client, opts)
        return exit_code_for(self.stop_signal)

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            self._take_signals(now)
            self._reap()
            # Free slots first: the children run while the loop reads and acknowledges.
            self._start_queued()
            self._enforce(now)
            progressed = False
            if self.stop_signal is not None:
                if not self.held:
                    return
                if (
                    not self.terminating
                    and self.grace_deadline is not None
                    and now >= self.grace_deadline
                ):
                    self._terminate_all("grace period over")
            else:
                self._promote_retries(now)
                progressed = self._fill(now)
                self._start_queued()
                if self._finished():
                    return
            now = time.monotonic()
            self._refresh(now)
            if self.to_ack and (
                len(self.to_ack) >= ACK_BATCH or now >= self.ack_due or not self.running
            ):
                self._flush_acks()
            self.counters.in_flight = len(self.running)
            self.reporter.tick(now)
            # Look again at once only if there is something to do: a reported exit, or
            # a read that came back (or waited) while more could be taken.
            again = self.exits or (progressed and self._can_fill())
            self._wait(0.0 if again else self._wait_timeout(now))

    def _finished(self) -> bool:
        opts = self.opts
        if opts.max_messages is not None and self.finalized >= opts.max_messages:
            return True
        return opts.once and not self.held and self.source.exhausted()

    # -------------------------------------------------------------- children

    def _start_queued(self) -> None:
        """Start queued messages while fewer than --concurrency children run."""
        queue = self.queue
        limit = self.opts.concurrency
        while queue and len(self.running) < limit and not self.closed:
            self._start(queue.popleft())

    def _start(self, job: Job) -> None:
        opts = self.opts
        env = self.base_env.copy()
        env["STREAMCTL_ID"] = job.id
        env["STREAMCTL_DELIVERY_COUNT"] = str(job.deliveries)
        payload = message_bytes(opts.stream, job.id, job.fields)
        child = Child(opts.command, env, payload, opts.timeout, self.reporter.relay)  # type: ignore[arg-type]
        self.running[job.id] = (job, child)
        if child.returncode is not None:  # it could not be started: done already
            self.exits.append((job, child))
            return
        child.on_close = self._forget_fd
        sel = self.sel
        entry = (job, child)
        if child.stdin_fd is not None:
            sel.register(child.stdin_fd, selectors.EVENT_WRITE, entry)  # type: ignore[union-attr]
        if child.stderr_fd is not None:
            sel.register(child.stderr_fd, selectors.EVENT_READ, entry)  # type: ignore[union-attr]
        if child.exit_fd is not None:
            sel.register(child.exit_fd, selectors.EVENT_READ, entry)  # type: ignore[union-attr]
        else:
            threading.Thread(
                target=self._wait_for_exit, args=entry, name="streamctl-child", daemon=True
            ).start()
        if self.terminating:
            child.terminate("shutdown", self.opts.kill_after)
        if self.reporter.verbosity >= 2:
            self.reporter.event("run", level=2, id=job.id, delivery=job.deliveries, pid=child.pid)

    def _wait_for_exit(self, job: Job, child: Child) -> None:
        """Without pidfds: a thread waits for one child's exit and wakes the loop."""
        child.wait_exited()
        self.exits.append((job, child))
        self.flags.wake()  # type: ignore[union-attr]

    def _reap(self) -> None:
        exits = self.exits
        running = self.running
        while exits:
            job, child = exits.popleft()
            entry = running.get(job.id)
            if entry is None or entry[1] is not child or not child.poll():
                continue  # already handled (reported twice), or not exited after all
            del running[job.id]
            self._finished_run(job, child)

    def _forget_fd(self, fd: int) -> None:
        # A selector must forget a descriptor before it is closed: epoll would otherwise
        # keep watching the pipe while any other process still holds it.
        try:
            self.sel.unregister(fd)  # type: ignore[union-attr]
        except (KeyError, ValueError):
            pass

    # --------------------------------------------------------------- signals

    def _take_signals(self, now: float) -> None:
        for signum in self.flags.take():  # type: ignore[union-attr]
            if self.stop_signal is None:
                self.stop_signal = signum
                self.grace_deadline = now + self.opts.grace
                self.reporter.event(
                    "stopping",
                    signal=signal.Signals(signum).name,
                    running=len(self.running),
                    grace=f"{self.opts.grace:g}s",
                )
                self._release_unstarted()
            elif not self.terminating:
                self._terminate_all(f"second {signal.Signals(signum).name}")
            else:
                for _, child in self.running.values():
                    child.kill()

    def _release_unstarted(self) -> None:
        """Start no more children, and hand back what has not started."""
        self.closed = True
        unstarted = list(self.queue)
        self.queue.clear()
        waiting = [job for _, job in self.waiting]
        self.waiting.clear()
        for job in unstarted + waiting:
            self.held.pop(job.id, None)
        self._release(unstarted, [job.id for job in waiting])

    def _release(self, unstarted: list[Job], ids: list[str]) -> None:
        """Hand messages back: they stay pending under this consumer (a restart under the
        same name takes them first) but look idle for --claim-idle, so other workers
        claim them at their next scan; a message that never ran gets its delivery back
        (XCLAIM ... IDLE ms RETRYCOUNT n JUSTID)."""
        opts = self.opts
        by_count: dict[int, list[str]] = {}
        for job in unstarted:
            by_count.setdefault(max(0, job.deliveries - 1), []).append(job.id)
        calls: list[tuple[list[str], int | None]] = [(ids, None)] if ids else []
        calls += [(chunk, count) for count, chunk in by_count.items()]
        try:
            for chunk, retrycount in calls:
                self.client.xclaim(
                    opts.stream,
                    opts.group,
                    opts.consumer,
                    0,
                    chunk,
                    idle=opts.claim_idle_ms,
                    retrycount=retrycount,
                    justid=True,
                )
        except Exception as exc:  # an optimisation only: they are claimed later anyway
            self.reporter.event("release-failed", error=str(exc))
            return
        released = len(ids) + len(unstarted)
        if released:
            self.reporter.event("released", count=released, note="left pending, claimable now")

    def _terminate_all(self, why: str) -> None:
        self.terminating = True
        if self.running:
            self.reporter.event("terminating", reason=why, running=len(self.running))
        for _, child in self.running.values():
            child.terminate("shutdown", self.opts.kill_after)

    # ------------------------------------------------------------- acquiring

    def _can_fill(self) -> bool:
        """Whether _fill would read if the stream had something."""
        opts = self.opts
        # Refilled when it falls below --concurrency, up to --count: at most --count wait
        # besides the running ones (so with --count below --concurrency, --count).
        if self.stop_signal is not None or len(self.queue) >= min(opts.concurrency, opts.count):
            return False
        if opts.max_messages is not None:
            return opts.max_messages - self.finalized - len(self.held) > 0
        return True

    def _fill(self, now: float) -> bool:
        """Read more messages when fewer than --concurrency are queued; True if any came
        (or the read waited).

        The queue is refilled up to --count (2 x concurrency by default): a child that
        exits is followed by the next message at once, reads are batched, and other
        workers still get their share."""
        opts = self.opts
        if not self._can_fill():
            return False
        source = self.source
        if now < self.next_poll and source.own_done and not source.claim_is_due(now):
            return False
        # At least one: with --count below --concurrency, reads of --count fill the slots.
        n = max(1, opts.count - len(self.queue))  # type: ignore[operator]
        if opts.max_messages is not None:
            n = min(n, opts.max_messages - self.finalized - len(self.held))
        block = 0
        if not self.held:
            block = opts.read_block_ms
            timer = self._next_timer(now)
            if timer is not None:
                block = min(block, max(0, int((timer - now) * 1000)))
        msgs = source.acquire(n, block, self.held)
        if not msgs:
            self.next_poll = now + (0.0 if block else POLL_INTERVAL)
            return block > 0
        kind = source.last_kind
        if kind == "own":
            self.reporter.event("recovered", count=len(msgs), first=msgs[0][0])
        elif kind == "claimed":
            self.reporter.event("claimed", count=len(msgs), first=msgs[0][0])
        jobs = []
        for msg_id, fields, deliveries in msgs:
            job = Job(msg_id, fields, deliveries)
            if not deadletter.is_text(fields):
                # No command can be given it as JSON: set it aside now, not after retries.
                job.last_status = "not run"
                self._dead_letter(job, "not-utf8", None, "")
                continue
            if deliveries > opts.max_deliveries:
                # Delivered more often than allowed with no run finishing (workers died
                # or were killed while running it): do not run it again.
                job.last_status = "not run"
                self._dead_letter(job, "max-deliveries", None, "")
                continue
            self.held[msg_id] = job
            jobs.append(job)
        self.queue.extend(jobs)
        return True

    def _promote_retries(self, now: float) -> None:
        waiting = self.waiting
        if not waiting or waiting[0][0] > now or len(self.queue) >= self.opts.concurrency:
            return
        due: list[Job] = []
        while waiting and waiting[0][0] <= now and len(due) < self.opts.concurrency:
            due.append(heapq.heappop(waiting)[1])
        # XCLAIM (without JUSTID) counts the new delivery; an entry deleted from the
        # stream, or no longer pending, is not returned.
        claimed = self.client.xclaim(
            self.opts.stream, self.opts.group, self.opts.consumer, 0, [j.id for j in due]
        )
        fields_of = dict(claimed)
        again = []
        for job in due:
            if job.id not in fields_of:
                self.held.pop(job.id, None)
                self.reporter.event("gone", id=job.id, note="no longer pending; not retried")
                continue
            job.fields = fields_of[job.id] or job.fields
            job.deliveries += 1
            again.append(job)
        self.queue.extendleft(reversed(again))

    # ------------------------------------------------------------- outcomes

    def _enforce(self, now: float) -> None:
        for job, child in self.running.values():
            if child.enforce(now, self.opts.kill_after):
                self.reporter.event(
                    "timeout",
                    id=job.id,
                    after=f"{self.opts.timeout:g}s",
                    action="SIGTERM to its process group",
                )

    def _finished_run(self, job: Job, child: Child) -> None:
        opts = self.opts
        code = child.returncode
        status = child.status_text()
        job.last_status = status
        if child.term_reason == "shutdown":
            self.held.pop(job.id, None)
            self.left_pending.append(job.id)
            self.reporter.event("abandoned", id=job.id, status=status, note="left pending")
            return
        if code == 0 and child.term_reason is None:
            self.held.pop(job.id, None)
            if not self.to_ack:
                self.ack_due = time.monotonic() + ACK_DELAY
            self.to_ack.append(job.id)
            self.counters.processed += 1
            self.finalized += 1
            if self.reporter.verbosity >= 2:
                elapsed = f"{time.monotonic() - child.started:.3f}s"
                self.reporter.event("ok", level=2, id=job.id, delivery=job.deliveries, time=elapsed)
            return
        tail = child.stderr_tail()
        exit_code = code if code is not None and code >= 0 else None
        if code == opts.reject_code and child.term_reason is None:
            self._dead_letter(job, "rejected", exit_code, tail)
            return
        self.counters.failed += 1
        if job.deliveries >= opts.max_deliveries:
            self._dead_letter(job, "max-deliveries", exit_code, tail)
            return
        if self.stop_signal is not None:
            self.held.pop(job.id, None)
            self.left_pending.append(job.id)
            self.reporter.event(
                "failed", id=job.id, delivery=job.deliveries, status=status, note="left pending"
            )
            return
        delay = backoff_seconds(job.deliveries, opts.backoff, opts.backoff_max)
        job.retry_at = time.monotonic() + delay
        heapq.heappush(self.waiting, (job.retry_at, job))
        self.reporter.event(
            "retry",
            id=job.id,
            delivery=f"{job.deliveries}/{opts.max_deliveries}",
            status=status,
            retry_in=f"{delay:g}s",
            stderr=_last_line(tail),
        )

    def _dead_letter(self, job: Job, reason: str, exit_code: int | None, tail: str) -> None:
        opts = self.opts
        entry = deadletter.record(
            stream=opts.stream,
            msg_id=job.id,
            group=opts.group,
            consumer=opts.consumer,  # type: ignore[arg-type]
            fields=job.fields,
            deliveries=job.deliveries,
            reason=reason,
            status=job.last_status,
            exit_code=exit_code,
            stderr=tail,
        )
        dl_id = deadletter.move(
            self.client,
            opts.dead_letter,  # type: ignore[arg-type]
            opts.stream,
            opts.group,
            job.id,
            entry,
        )
        self.held.pop(job.id, None)
        self.counters.dead += 1
        self.finalized += 1
        self.reporter.event(
            "dead-letter",
            id=job.id,
            reason=reason,
            deliveries=job.deliveries,
            status=job.last_status,
            to=f"{opts.dead_letter} {dl_id}",
            stderr=_last_line(tail),
        )

    # ----------------------------------------------------------- bookkeeping

    def _flush_acks(self) -> None:
        if self.to_ack:
            ids, self.to_ack = self.to_ack, []
            self.client.xack(self.opts.stream, self.opts.group, *ids)

    def _refresh(self, now: float) -> None:
        """Reset the idle time of every entry this worker holds (see the module doc)."""
        if now < self.next_refresh:
            return
        self.next_refresh = now + self.refresh_every
        ids = list(self.held) + self.to_ack
        if not ids:
            return
        opts = self.opts
        alive: set[str] = set()
        for start in range(0, len(ids), REFRESH_CHUNK):
            chunk = ids[start : start + REFRESH_CHUNK]
            alive.update(
                self.client.xclaim(opts.stream, opts.group, opts.consumer, 0, chunk, justid=True)
            )
        # Entries that are gone (deleted from the stream, or acknowledged by someone
        # else) are dropped unless they are running.
        waiting_gone = [job for _, job in self.waiting if job.id not in alive]
        queued_gone = [job for job in self.queue if job.id not in alive]
        if queued_gone:
            self.queue = deque(job for job in self.queue if job.id in alive)
        for job in waiting_gone + queued_gone:
            self.held.pop(job.id, None)
            self.reporter.event("gone", id=job.id, note="no longer pending; dropped")
        if waiting_gone:
            self.waiting = [(t, j) for t, j in self.waiting if j.id in alive]
            heapq.heapify(self.waiting)

    def _next_timer(self, now: float) -> float | None:
        """The earliest moment something is due that the loop must wake up for. Only
        timers the loop can act on count, so that a due timer never makes it spin."""
        times = []
        if self.held or self.to_ack:
            times.append(self.next_refresh)
        if self.to_ack:
            times.append(self.ack_due)
        tick = self.reporter.next_tick()
        if tick is not None:
            times.append(tick)
        if self.stop_signal is None:
            if self.waiting and len(self.queue) < self.opts.concurrency:
                times.append(self.waiting[0][0])
            if self._can_fill():
                source = self.source
                if source.own_done and source.claim_due > now:
                    times.append(source.claim_due)
                if self.next_poll > now:
                    times.append(self.next_poll)
        return min(times) if times else None

    def _wait_timeout(self, now: float) -> float:
        times = [now + MAX_WAIT]
        timer = self._next_timer(now)
        if timer is not None:
            times.append(timer)
        for _, child in self.running.values():
            deadline = child.next_deadline()
            if deadline is not None:
                times.append(deadline)
        if self.stop_signal is not None and not self.terminating and self.grace_deadline:
            times.append(self.grace_deadline)
        return max(0.0, min(times) - now)

    def _wait(self, timeout: float) -> None:
        for key, _mask in self.sel.select(timeout):  # type: ignore[union-attr]
            entry = key.data
            if entry is None:
                self.flags.drain()  # type: ignore[union-attr]
                continue
            child = entry[1]
            fd = key.fd
            if fd == child.exit_fd:
                self.exits.append(entry)
            elif fd == child.stderr_fd:
                if not child.read_stderr():
                    # End of file: the child has most likely exited, and its pidfd may
                    # not be readable yet; _reap finds out now (waitid) instead of in
                    # another turn of the loop.
                    self.exits.append(entry)
            elif fd == child.stdin_fd:
                child.write_input()

    def _abort(self) -> None:
        """After an error: end the children (TERM, then KILL), acknowledge nothing more."""
        self.closed = True
        self.queue.clear()
        for _, child in self.running.values():
            child.terminate("shutdown", self.opts.kill_after)
        deadline = time.monotonic() + self.opts.kill_after
        while self.running and time.monotonic() < deadline:
            for msg_id, (_, child) in list(self.running.items()):
                if child.poll():
                    child.close()
                    del self.running[msg_id]
            time.sleep(0.01)
        for _, child in self.running.values():
            child.kill()
            child.close()


def _last_line(text: str) -> str | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line:
            return line[:200]
    return None
