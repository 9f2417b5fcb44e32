"""The command line's exit codes, in one place (DESIGN §7). Documented in the README and
the man page; tests hold the CLI to them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: The command ran but found nothing where the user asked for something: ``range``,
    #: ``read``, ``readgroup``, ``claim``, ``autoclaim`` and ``pending START END COUNT``
    #: with nothing to show (counts such as ``len``, ``ack``, ``del``, ``trim`` print 0
    #: and succeed).
    EMPTY = 1
    #: Bad usage or bad input: unknown option, malformed ID, malformed JSON, FIELD=VALUE
    #: without ``=``, an empty field list, non-UTF-8 input, an unreadable ``--data @file``.
    USAGE = 2
    #: The engine refused the command (``BUSYGROUP ...``, ``WRONGTYPE ...``, ID too small).
    ERROR = 3
    #: The stream or the consumer group does not exist (``NOGROUP ...``, ``no such key``).
    NOT_FOUND = 4
    #: The database is busy (locked by a writer past the timeout) or the server is unreachable.
    UNAVAILABLE = 5
    #: The database file cannot be used: not a streamctl database, newer schema, corrupt,
    #: read-only for a write, disk full, unwritable location.
    DATABASE = 6
    #: The output could not be written (stdout closed, or a write to it failed, e.g. disk
    #: full): the command itself may have been carried out (``add`` has stored the
    #: message). ``EX_IOERR`` of sysexits.h.
    OUTPUT = 74
    #: Ended by SIGINT / SIGTERM (128 + signal number).
    SIGINT = 130
    SIGTERM = 143
    #: stdout was closed by its reader (``streamctl read --follow | head``): a quiet exit,
    #: with the status a shell shows for a tool killed by SIGPIPE.
    SIGPIPE = 141
