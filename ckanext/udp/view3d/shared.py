"""The grid preview's first pictures and variable lists shared by every web
worker of a portal (Redis), behind each worker's own small cache (``grid.CACHE``).

Reading a grid file happens in a sandboxed child process and takes about half a
second for the demo's heat index; with one cache per worker, each worker (and
each worker gunicorn starts after recycling one) read the file again for the
first visitor it served. Here the first reader's answer is kept for every
worker, for ``TTL`` seconds: the variable list and the first time step of each
variable (what a resource page shows before anyone picks another step), keyed by
resource id, its last change, variable and time step, the size limits and the
drawing (``FORMAT``, ``grid.MAX_SIDE``, ``grid.ANCHORS``): a changed file or a
changed drawing has new keys.

Bounded: the keys are the uploaded grid files times their variables, never what
visitors ask for (other time steps stay in the worker that drew them), and an
answer larger than ``MAX_BYTES`` is not shared. The Redis is CKAN's (the queues'
database), so the cache must stay small there.

Only answers are shared, never failures: a failure stays in the worker that
met it. Access is checked before any cache is asked (``views.find_resource``).
Redis being away only costs the shared layer: the file is read as before.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import asdict
from typing import Any

import ckan.plugins.toolkit as tk
import redis

from ckanext.udp.view3d import grid

log = logging.getLogger(__name__)

#: seconds a shared answer is kept (a new version of the file has a new key anyway)
TTL = 24 * 3600
#: answers larger than this (JSON, the picture in base64) stay in the worker that drew them
MAX_BYTES = 2 * 1024 * 1024
#: raise when the drawing changes in a way ``grid.MAX_SIDE`` and ``grid.ANCHORS`` do not show
FORMAT = 1

_CLIENTS: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    """CKAN's Redis with short time-outs: a slow cache must not hold up the page."""
    url = tk.config["ckan.redis.url"]
    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return client


def key(parts: tuple[Any, ...]) -> str:
    drawn = [FORMAT, grid.MAX_SIDE, grid.ANCHORS, *parts]
    digest = hashlib.sha256(json.dumps(drawn, default=str).encode()).hexdigest()
    return f"{tk.config.get('ckan.site_id') or 'default'}:udp_grid:{digest}"


def _get(parts: tuple[Any, ...]) -> Any:
    try:
        raw = _redis().get(key(parts))
    except redis.RedisError as exc:  # a cache: Redis away means reading the file
        log.warning("udp_grid: shared cache not read: %s", exc)
        return None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _put(parts: tuple[Any, ...], answer: Any) -> None:
    text = json.dumps(answer)
    if len(text) > MAX_BYTES:
        return
    try:
        _redis().set(key(parts), text, ex=TTL)
    except redis.RedisError as exc:
        log.warning("udp_grid: shared cache not written: %s", exc)


def get_slice(parts: tuple[Any, ...]) -> grid.Slice | None:
    answer = _get(parts)
    if not isinstance(answer, dict):
        return None
    try:
        return grid.Slice(
            grid.Variable(**answer["variable"]), int(answer["time"]), base64.b64decode(answer["png"]), answer["stats"]
        )
    except (KeyError, TypeError, ValueError):
        return None


def put_slice(parts: tuple[Any, ...], part: grid.Slice) -> None:
    _put(
        parts,
        {
            "variable": asdict(part.variable),
            "time": part.time,
            "png": base64.b64encode(part.png).decode("ascii"),
            "stats": part.stats,
        },
    )


def get_variables(parts: tuple[Any, ...]) -> list[grid.Variable] | None:
    answer = _get(parts)
    if not isinstance(answer, list):
        return None
    try:
        return [grid.Variable(**v) for v in answer]
    except TypeError:
        return None


def put_variables(parts: tuple[Any, ...], variables: list[grid.Variable]) -> None:
    _put(parts, [asdict(v) for v in variables])
