"""The small JSON caches in CKAN's Redis (``ckanext/udp/rediscache.py``): a cache that
is away, silent or holds rubbish is a miss, never an error and never a long wait."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import ckan.plugins.toolkit as tk
import pytest

from ckanext.udp import rediscache


@pytest.fixture
def key() -> Iterator[str]:
    name = f"udp:test:rediscache:{uuid.uuid4().hex}"
    yield name
    rediscache.client().delete(name)


def test_a_value_kept_is_read_back(key: str) -> None:
    assert rediscache.get(key) is None
    assert rediscache.put(key, {"a": [1, "zwei"]}, ttl=60) is True
    assert rediscache.get(key) == {"a": [1, "zwei"]}
    assert 0 < rediscache.client().ttl(key) <= 60


def test_a_value_too_large_is_not_kept(key: str) -> None:
    assert rediscache.put(key, "x" * 100, ttl=60, max_bytes=50) is False
    assert rediscache.get(key) is None
    assert rediscache.put(key, "x" * 40, ttl=60, max_bytes=50) is True


def test_an_unreadable_entry_is_a_miss(key: str) -> None:
    rediscache.client().set(key, b"\xff{not json", ex=60)
    assert rediscache.get(key) is None


def test_one_client_per_process_and_timeout() -> None:
    assert rediscache.client() is rediscache.client()
    assert rediscache.client(2) is not rediscache.client()


def test_redis_away_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tk.config, "ckan.redis.url", "redis://127.0.0.1:9/0")
    assert rediscache.get("udp:test:away") is None
    assert rediscache.put("udp:test:away", 1, ttl=60) is False


def test_a_redis_that_does_not_answer_holds_nothing_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts the connection and never answers (a Redis stuck in a
    long command or swapping): each call gives up after its time-out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        monkeypatch.setitem(tk.config, "ckan.redis.url", f"redis://127.0.0.1:{server.getsockname()[1]}/0")
        started = time.monotonic()
        assert rediscache.get("udp:test:silent", timeout=0.5) is None
        assert rediscache.put("udp:test:silent", 1, ttl=60, timeout=0.5) is False
        # two calls at 0.5 s each (redis-py may retry once on a time-out): far below a page's patience
        assert time.monotonic() - started < 5
        assert accepted  # the connection was made: it was the answer that never came
    finally:
        stop.set()
        thread.join()
        server.close()
        for conn in accepted:
            conn.close()
