"""The catalog's own Redis database.

The catalog keeps its per-dataset RDF fragments and its version counter in a
Redis database of its own (``ckanext.udp.catalog.redis_url``), never in the one
of CKAN's job and harvest queues: a cache can be flushed, evicted or put on a
Redis with an eviction policy without touching queued work.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import ckan.plugins.toolkit as tk
import redis

_POOLS: dict[str, redis.ConnectionPool] = {}


def redis_url() -> str:
    """The configured URL, or CKAN's Redis server with database 2 (3 if CKAN
    itself uses 2)."""
    url = tk.config.get("ckanext.udp.catalog.redis_url")
    if url:
        return url
    parts = urlsplit(tk.config.get("ckan.redis.url"))
    db = "3" if parts.path.strip("/") == "2" else "2"
    return urlunsplit(parts._replace(path="/" + db))


def connect() -> redis.Redis:
    url = redis_url()
    pool = _POOLS.get(url)
    if pool is None:
        pool = _POOLS[url] = redis.ConnectionPool.from_url(url)
    return redis.Redis(connection_pool=pool)


__all__ = ["connect", "redis_url"]
