"""streamctl: Redis Streams and consumer groups on one machine with no server.

``streamctl.connect()`` gives a client whose stream methods are redis-py's: on a local
SQLite file (the default) or, given a ``redis://`` URL, a real ``redis.Redis``.
This module stays import-light: the command line's hot path imports it.
"""

from __future__ import annotations

import os

# Typing names only (importing typing would cost the CLI's start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["connect", "__version__"]


def connect(target: str | os.PathLike | None = None, **options: Any) -> Any:
    """Open a client.

    ``target`` is a file path, a ``sqlite:///path`` URL (query parameters such as
    ``?synchronous=FULL`` are options), or a ``redis://``/``rediss://``/``unix://`` URL,
    which returns ``redis.Redis.from_url(url, decode_responses=True, **options)``.
    With no target: ``STREAMCTL_URL``, then ``STREAMCTL_DB``, then the per-user default
    database. ``decode_responses`` defaults to True on both backends.
    """
    from .config import resolve

    resolved = resolve(target)
    options.setdefault("decode_responses", True)
    if resolved.kind == "redis":
        import redis

        try:
            return redis.Redis.from_url(resolved.location, **options)
        except ValueError:
            # redis-py's message may quote a piece of the password (e.g. an unencoded
            # "/" in it makes "Port could not be cast to integer value as '<secret>'").
            from .config import redact

            raise ValueError(
                f"invalid Redis URL {redact(resolved.location)} (percent-encode special "
                "characters in the password)"
            ) from None
    from .client import SQLiteClient

    merged = {**resolved.options, **options}
    return SQLiteClient(resolved.location, **merged)
