"""Helpers shared by the conformance tests (both backends)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from redis.exceptions import ResponseError

import streamctl


@contextmanager
def error(text, cls=ResponseError):
    """The block raises ``cls`` whose text is exactly ``text`` (redis-py's wording)."""
    with pytest.raises(cls) as info:
        yield
    assert str(info.value) == text


def later(target, action, delay=0.1):
    """Run ``action(client)`` on a fresh connection from a thread after ``delay`` s; returns
    a ``join()`` that waits for it (bounded) and re-raises what it raised."""
    failures = []

    def run():
        time.sleep(delay)
        client = streamctl.connect(target)
        try:
            action(client)
        except BaseException as exc:  # surfaced by join()
            failures.append(exc)
        finally:
            client.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join():
        thread.join(10)
        assert not thread.is_alive()
        if failures:
            raise failures[0]

    return join
