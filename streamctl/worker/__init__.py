"""The ``streamctl consume`` runtime, written against the client API only (it runs
unchanged on a SQLite file and on Redis/Valkey), with no typer/rich imports.

* :mod:`.options`: settings and their documented defaults;
* :mod:`.source`: where messages come from (own PEL, XAUTOCLAIM, new);
* :mod:`.executor`: ``--exec``: one loop runs the children (:class:`ExecWorker`);
* :mod:`.printer`: without ``--exec`` (:class:`PrintWorker`);
* :mod:`.loop`: what both share (signal flags, the group, the consumer's name);
* :mod:`.children`: one child process per message;
* :mod:`.deadletter`: the dead-letter record, moving to it and requeueing from it;
* :mod:`.report`: the event log and the status line;
* :mod:`.engine_client`: the client for a SQLite file without redis-py (the CLI's).
"""

from __future__ import annotations

from .options import WorkerOptions

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings here
    from typing import Any

__all__ = ["WorkerOptions", "run"]


def run(client: Any, opts: WorkerOptions, out: Any = None, format_text: Any = None) -> int:
    """Run a worker until it is done (``--once``/``--max``) or stopped by a signal;
    returns the process exit code (0, or 128 + the signal). Client errors propagate.

    ``client`` should decode with ``encoding_errors="surrogateescape"`` (the CLI's does):
    then a message that is not UTF-8 is dead-lettered (reason ``not-utf8``) instead of
    failing the read."""
    if opts.command:
        from .executor import ExecWorker

        return ExecWorker(client, opts).run()
    from .printer import PrintWorker

    return PrintWorker(client, opts, out=out, format_text=format_text).run()
