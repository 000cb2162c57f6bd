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

import hashlib
import json
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp import rediscache
from ckanext.udp.view3d import grid

#: seconds a shared answer is kept (a new version of the file has a new key anyway)
TTL = 24 * 3600
#: answers larger than this (JSON, the picture in base64) stay in the worker that drew them
MAX_BYTES = 2 * 1024 * 1024
#: raise when the drawing changes in a way ``grid.MAX_SIDE`` and ``grid.ANCHORS`` do not show
FORMAT = 1


def key(parts: tuple[Any, ...]) -> str:
    drawn = [FORMAT, grid.MAX_SIDE, grid.ANCHORS, *parts]
    digest = hashlib.sha256(json.dumps(drawn, default=str).encode()).hexdigest()
    return f"{tk.config.get('ckan.site_id') or 'default'}:udp_grid:{digest}"


def get_slice(parts: tuple[Any, ...]) -> grid.Slice | None:
    answer = rediscache.get(key(parts))
    try:
        return grid.slice_from_json(answer) if isinstance(answer, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def put_slice(parts: tuple[Any, ...], part: grid.Slice) -> None:
    rediscache.put(key(parts), grid.slice_to_json(part), TTL, MAX_BYTES)


def get_variables(parts: tuple[Any, ...]) -> list[grid.Variable] | None:
    answer = rediscache.get(key(parts))
    try:
        return grid.variables_from_json(answer) if isinstance(answer, list) else None
    except TypeError:
        return None


def put_variables(parts: tuple[Any, ...], variables: list[grid.Variable]) -> None:
    rediscache.put(key(parts), grid.variables_to_json(variables), TTL, MAX_BYTES)
