"""The worker's settings and their documented defaults (README, ``consume --help``).

Every default lives here once; the CLI reads them from this module.
"""

from __future__ import annotations

import math
import os

#: Deliveries (runs) a message gets before it is moved to the dead-letter stream.
DEFAULT_MAX_DELIVERIES = 5
#: Exit status of ``--exec`` meaning "this message can never succeed": dead-letter it now.
#: 65 is ``EX_DATAERR`` of sysexits.h ("the input data was incorrect").
DEFAULT_REJECT_CODE = 65
#: A failed message becomes eligible again after ``min(base * 2 ** (n - 1), cap)`` seconds,
#: n being the number of deliveries it has had: 1 s, 2 s, 4 s ... up to 60 s.
DEFAULT_BACKOFF = 1.0
DEFAULT_BACKOFF_MAX = 60.0
#: Pending entries idle longer than this (ms) are claimed from other consumers.
DEFAULT_CLAIM_IDLE_MS = 30_000
#: After the first SIGINT/SIGTERM, running children get this long (s) to finish.
DEFAULT_GRACE = 10.0
#: Between SIGTERM and SIGKILL to a child's process group (timeout, shutdown) (s).
DEFAULT_KILL_AFTER = 5.0
#: How much of a failed child's stderr is kept for the dead-letter record (bytes).
STDERR_TAIL_BYTES = 4096
#: How long one read waits for new messages (ms); with ``--once`` the default is 0.
DEFAULT_BLOCK_MS = 500
#: ``--block 0`` without ``--once`` waits forever, as ``BLOCK 0`` does, but in reads of
#: at most this long (ms) so that signals and claim scans are seen between them.
FOREVER_SLICE_MS = 1000
#: Messages per read when printing (no ``--exec``).
DEFAULT_PRINT_COUNT = 500
#: Messages per read with ``--exec``: this many per allowed child. (The queue of messages
#: waiting for a free slot is refilled up to --count when it falls below --concurrency, so
#: a worker holds at most concurrency + count messages, plus failed ones waiting for
#: their retry.)
EXEC_COUNT_PER_CHILD = 2

#: Suffix of the default dead-letter stream: ``<STREAM>:dead``.
DEAD_LETTER_SUFFIX = ":dead"


def default_dead_letter(stream: str) -> str:
    """The default dead-letter stream of ``stream``: ``<STREAM>:dead``."""
    return stream + DEAD_LETTER_SUFFIX


def default_consumer() -> str:
    """``<hostname>-<pid>``: unique per running worker; the worker deletes such an
    automatically named consumer from the group on exit when it has nothing pending."""
    return f"{_hostname()}-{os.getpid()}"


def _hostname() -> str:
    if hasattr(os, "uname"):  # what socket.gethostname() answers, without importing socket
        return os.uname().nodename
    import socket

    return socket.gethostname()


def backoff_seconds(deliveries: int, base: float, cap: float) -> float:
    """Seconds before a message that has failed ``deliveries`` times is run again."""
    if base <= 0:
        return 0.0
    exponent = max(0, deliveries - 1)
    if exponent > 60:  # 2**60 seconds is past any cap anyone gives
        return cap
    return min(base * (2**exponent), cap)


class WorkerOptions:
    """One worker's settings. ``command`` None means "print the messages" (no --exec).

    (A plain class rather than a dataclass: importing dataclasses costs the command
    line's start-up several milliseconds.)"""

    def __init__(
        self,
        stream: str,
        group: str,
        consumer: str | None = None,
        command: list[str] | None = None,
        concurrency: int = 1,
        count: int | None = None,  # messages per read; None: the mode's default
        block_ms: int | None = None,  # None: DEFAULT_BLOCK_MS, or 0 with once
        once: bool = False,
        max_messages: int | None = None,
        create_group: bool = False,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        dead_letter: str | None = None,  # None: default_dead_letter(stream)
        reject_code: int = DEFAULT_REJECT_CODE,
        backoff: float = DEFAULT_BACKOFF,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        timeout: float | None = None,
        kill_after: float = DEFAULT_KILL_AFTER,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
        grace: float = DEFAULT_GRACE,
        json: bool = False,  # print mode: NDJSON; exec mode: events as JSON on stderr
        verbosity: int = 1,  # 0 quiet, 1 events, 2 every message
    ):
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.command = command
        self.concurrency = concurrency
        self.count = count
        self.block_ms = block_ms
        self.once = once
        self.max_messages = max_messages
        self.create_group = create_group
        self.max_deliveries = max_deliveries
        self.dead_letter = dead_letter
        self.reject_code = reject_code
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.kill_after = kill_after
        self.claim_idle_ms = claim_idle_ms
        self.grace = grace
        self.json = json
        self.verbosity = verbosity
        self.auto_consumer = consumer is None
        if consumer is None:
            self.consumer = default_consumer()
        if dead_letter is None:
            self.dead_letter = default_dead_letter(stream)
        if block_ms is None:
            self.block_ms = 0 if once else DEFAULT_BLOCK_MS
        if count is None:
            if command is None:
                self.count = DEFAULT_PRINT_COUNT
            else:
                self.count = EXEC_COUNT_PER_CHILD * concurrency

    def __repr__(self) -> str:
        return f"WorkerOptions({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(self) == vars(other)

    @property
    def read_block_ms(self) -> int:
        """How long one read for new messages may wait (ms; 0: not at all). ``--block``
        0 means "forever" except with ``--once``, where it means "do not wait": forever
        is a loop of :data:`FOREVER_SLICE_MS` reads."""
        block = self.block_ms or 0
        if block == 0 and not self.once:
            return FOREVER_SLICE_MS
        return block

    def validate(self) -> list[str]:
        """Problems with these settings, as messages for a usage error."""
        problems = []
        if not self.stream:
            problems.append("STREAM must not be empty")
        if not self.group:
            problems.append("--group must not be empty")
        if self.concurrency < 1:
            problems.append("--concurrency must be at least 1")
        if self.count is not None and self.count < 1:
            problems.append("--count must be at least 1")
        if self.block_ms is not None and self.block_ms < 0:
            problems.append("--block must not be negative")
        if self.max_messages is not None and self.max_messages < 1:
            problems.append("--max must be at least 1")
        if self.max_deliveries < 1:
            problems.append("--max-deliveries must be at least 1")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            problems.append("--timeout must be a positive number of seconds")
        for name, value in (
            ("--kill-after", self.kill_after),
            ("--shutdown-grace", self.grace),
            ("--backoff", self.backoff),
            ("--backoff-max", self.backoff_max),
        ):
            # NaN passes every comparison; infinity is no duration either.
            if not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a number of seconds, at least 0")
        if self.claim_idle_ms < 1:
            problems.append("--claim-idle must be at least 1 ms")
        if not 1 <= self.reject_code <= 255:
            problems.append("--reject-code must be between 1 and 255")
        if self.dead_letter == self.stream:
            problems.append("the dead-letter stream must differ from STREAM")
        return problems
