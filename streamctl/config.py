"""Where the data lives: resolving a connect() target, the environment and the default path.

Precedence (DESIGN §5): an explicit target (``--db``/``--url``) > ``STREAMCTL_URL`` >
``STREAMCTL_DB`` > the per-user data directory (``streamctl/streams.db``).
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import parse_qsl, unquote

_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "valkey://", "valkeys://")
SQLITE_SCHEME = "sqlite://"


class Target:
    """A resolved connect() target: either a SQLite file or a Redis URL.

    (A plain class, not a dataclass: importing dataclasses costs the CLI's hot path
    several milliseconds.)"""

    __slots__ = ("kind", "location", "options")

    def __init__(self, kind: str, location: str, options: dict[str, str] | None = None):
        self.kind = kind  # "sqlite" or "redis"
        self.location = location  # file path or Redis URL
        self.options = options or {}

    def __repr__(self) -> str:
        return f"Target({self.kind!r}, {self.location!r}, {self.options!r})"


def default_db_path() -> str:
    """The per-user default database: ``<user data dir>/streamctl/streams.db``.

    On Linux this is computed here, as platformdirs does (``$XDG_DATA_HOME`` or
    ``~/.local/share``), because importing platformdirs costs more than the rest of
    ``streamctl add`` together; other platforms ask platformdirs.
    """
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_DATA_HOME", "").strip()
        if not base:
            base = os.path.expanduser("~/.local/share")
        return os.path.join(base, "streamctl", "streams.db")
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("streamctl", appauthor=False), "streams.db")


def resolve(target: str | os.PathLike | None = None) -> Target:
    """Turn a connect() target (or None: the environment, then the default) into a Target."""
    if target is None:
        url = os.environ.get("STREAMCTL_URL")
        if url:
            if not url.lower().startswith(REDIS_SCHEMES + (SQLITE_SCHEME,)):
                # Never taken for a file path, and never echoed: it may hold a password.
                raise ValueError(
                    "STREAMCTL_URL is not a sqlite:///PATH, redis://, rediss://, unix://, "
                    "valkey:// or valkeys:// URL"
                )
            target = url
        else:
            target = os.environ.get("STREAMCTL_DB") or None
        if target is None:
            return Target("sqlite", default_db_path())
    text = os.fspath(target)
    lowered = text.lower()
    if lowered.startswith(REDIS_SCHEMES):
        return Target("redis", text)
    if lowered.startswith(SQLITE_SCHEME):
        rest = text[len(SQLITE_SCHEME) :]
        path, _, query = rest.partition("?")
        if path.startswith("//"):  # sqlite:////abs/path, SQLAlchemy's absolute form
            path = "/" + path.lstrip("/")
        options = dict(parse_qsl(query, keep_blank_values=True))
        return Target("sqlite", unquote(path) or default_db_path(), options)
    scheme = _URL_SCHEME.match(text)
    if scheme:
        raise ValueError(
            f"unsupported URL scheme {scheme.group(1)!r}: use a file path, sqlite:///PATH or "
            "redis://HOST:PORT/DB"
        )
    return Target("sqlite", text)


def redact(url: str) -> str:
    """A URL with its password replaced by ``***``, for logs, errors and ``info``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    # Everything up to the last "@" is taken for credentials: a password may hold "/",
    # "?", "#" or "@" that were not percent-encoded (over-redacting a path is harmless).
    creds, _, host = rest.rpartition("@")
    user, colon, _pw = creds.partition(":")
    if "/" in user:
        user = ""
    creds = f"{user}:***" if colon else "***"
    return f"{scheme}://{creds}@{host}"
