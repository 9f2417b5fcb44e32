"""The one exception → (message, exit code) mapping of the command line (``common.describe``)."""

from __future__ import annotations

import pytest
import redis.exceptions as rx

from streamctl import errors
from streamctl.cli.common import CliError, Terminated, describe
from streamctl.exitcodes import ExitCode


@pytest.mark.parametrize(
    "exc, code",
    [
        (
            errors.ReplyError(
                "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
            ),
            ExitCode.NOT_FOUND,
        ),
        (errors.ReplyError("ERR no such key"), ExitCode.NOT_FOUND),
        (
            errors.ReplyError("ERR The XGROUP subcommand requires the key to exist. Note that ..."),
            ExitCode.NOT_FOUND,
        ),
        (
            errors.ReplyError("ERR Invalid stream ID specified as stream command argument"),
            ExitCode.USAGE,
        ),
        (errors.ReplyError("ERR invalid start ID for the interval"), ExitCode.USAGE),
        (errors.ReplyError("BUSYGROUP Consumer Group name already exists"), ExitCode.ERROR),
        (
            errors.ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ExitCode.ERROR,
        ),
        (rx.ResponseError("NOGROUP No such key 's' or consumer group 'g'"), ExitCode.NOT_FOUND),
        (rx.ResponseError("BUSYGROUP Consumer Group name already exists"), ExitCode.ERROR),
        (errors.to_response_error(errors.ReplyError("ERR no such key")), ExitCode.NOT_FOUND),
        (rx.DataError("XADD maxlen must be non-negative integer"), ExitCode.USAGE),
        (
            rx.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused."),
            ExitCode.UNAVAILABLE,
        ),
        (rx.TimeoutError("Timeout reading from socket"), ExitCode.UNAVAILABLE),
        (rx.AuthenticationError("invalid username-password pair"), ExitCode.UNAVAILABLE),
        (errors.DatabaseBusyError("/x.db: database is busy"), ExitCode.UNAVAILABLE),
        (errors.NotADatabaseError("/x.db: not a SQLite database"), ExitCode.DATABASE),
        (errors.NewerSchemaError("/x.db: written by a newer streamctl"), ExitCode.DATABASE),
        (errors.DatabaseReadOnlyError("/x.db: read-only"), ExitCode.DATABASE),
        (errors.DatabaseCorruptError("/x.db: malformed"), ExitCode.DATABASE),
        (errors.DatabaseFullError("/x.db: disk full"), ExitCode.DATABASE),
        (PermissionError(13, "Permission denied", "/root/x"), ExitCode.DATABASE),
        (CliError("bad input"), ExitCode.USAGE),
        (CliError("gone", ExitCode.NOT_FOUND), ExitCode.NOT_FOUND),
        (KeyboardInterrupt(), ExitCode.SIGINT),
        (Terminated(), ExitCode.SIGTERM),
        (BrokenPipeError(), ExitCode.SIGPIPE),
        (RuntimeError("boom"), ExitCode.ERROR),
    ],
)
def test_describe(exc, code):
    message, got = describe(exc)
    assert got == code
    assert "\n" not in message


def test_engine_replies_keep_their_redis_text():
    assert describe(errors.ReplyError("BUSYGROUP Consumer Group name already exists"))[0] == (
        "BUSYGROUP Consumer Group name already exists"
    )
    assert describe(errors.ReplyError("ERR no such key"))[0] == "no such key"


def test_urls_in_messages_are_redacted():
    message, _ = describe(
        rx.ConnectionError("cannot reach redis://admin:s3cret@db.internal:6379/0")
    )
    assert "s3cret" not in message and "redis://admin:***@db.internal:6379/0" in message


def test_internal_errors_say_so_in_one_line():
    message, code = describe(ValueError("line one\nline two"))
    assert code == ExitCode.ERROR and message == "internal error: ValueError: line one"
