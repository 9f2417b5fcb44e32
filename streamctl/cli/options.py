"""Options, arguments and command groups that several commands declare the same way
(``app.py``, ``consume.py``, ``info.py``), defined once."""

from __future__ import annotations

from typing import Annotated

import typer

#: Every command's context settings: ``-h`` too, and help at most 100 columns wide.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def command_group(help: str, short_help: str) -> typer.Typer:
    """A group of subcommands (``group``, ``deadletter``), set up as the app is: plain
    help text, no completion options, errors left to the app's own reporting."""
    return typer.Typer(
        help=help,
        short_help=short_help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=CONTEXT,
    )


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine output: NDJSON messages, JSON objects.")
]
QuietOpt = Annotated[
    bool, typer.Option("-q", "--quiet", help="Print nothing on stdout; the exit code tells.")
]
CountOpt = Annotated[
    int | None, typer.Option("--count", metavar="N", min=1, help="At most N messages.")
]
BlockOpt = Annotated[
    int | None,
    typer.Option("--block", metavar="MS", min=0, help="Wait up to MS milliseconds (0: forever)."),
]
StreamArg = Annotated[str, typer.Argument(metavar="STREAM", help="The stream (its key).")]
GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="The consumer group.")]
ConsumerArg = Annotated[str, typer.Argument(metavar="CONSUMER", help="The consumer's name.")]
