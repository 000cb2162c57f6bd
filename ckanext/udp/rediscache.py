"""Small JSON caches in CKAN's Redis (``ckan.redis.url``), beside its queues.

A cache must never hold a page up or break it: the client here has short
time-outs for connecting and for each answer, and :func:`get` and :func:`put`
take Redis being away, slow or holding something unreadable as a miss (logged
once per call). One client, with its connection pool, per process, URL and
time-out: a page asking several times opens no new connection each time.

A neutral module: the grid preview (``udp_grid``), the quality tab and the
link check (``udp_dcatde``) use it; the catalog keeps its fragments in a Redis
database of its own (``catalog/cache.py``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import ckan.plugins.toolkit as tk
import redis

log = logging.getLogger(__name__)

_CLIENTS: dict[tuple[str, float], redis.Redis] = {}


def client(timeout: float = 1.0) -> redis.Redis:
    """CKAN's Redis with ``timeout`` seconds for connecting and for each answer."""
    url = tk.config["ckan.redis.url"]
    found = _CLIENTS.get((url, timeout))
    if found is None:
        found = _CLIENTS[(url, timeout)] = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    return found


def get(key: str, timeout: float = 1.0) -> Any:
    """The JSON value kept under ``key``; ``None`` when there is none, it cannot be
    read or Redis does not answer in time."""
    try:
        raw = client(timeout).get(key)
    except redis.RedisError as exc:
        log.warning("cache %s not read: %s", key, exc)
        return None
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        log.warning("cache %s: unreadable entry", key)
        return None


def put(key: str, value: Any, ttl: int, max_bytes: int | None = None, timeout: float = 1.0) -> bool:
    """Keep ``value`` as JSON under ``key`` for ``ttl`` seconds; not when its JSON is
    longer than ``max_bytes`` or Redis does not answer in time. Whether it was kept."""
    text = json.dumps(value)
    if max_bytes is not None and len(text) > max_bytes:
        return False
    try:
        client(timeout).set(key, text, ex=ttl)
    except redis.RedisError as exc:
        log.warning("cache %s not written: %s", key, exc)
        return False
    return True


__all__ = ["client", "get", "put"]
