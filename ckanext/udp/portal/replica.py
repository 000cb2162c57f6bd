"""DataStore reads on a streaming replica (issue 20; ``docs/operations.md``).

``ckan.datastore.read_url`` may name a hot standby of the DataStore's database
(or, as libpq allows, the standby first and the primary as its fallback:
``?host=standby:5432&host=primary:5432&target_session_attrs=prefer-standby``).
CKAN then reads the rows of ``datastore_search`` and ``datastore_search_sql``
from it, but CKAN 2.12 takes the ``total`` of an unfiltered search from the
cached row count on the **write** engine (``search_data`` may have to cache
the count, which a standby cannot). A search would then give the standby's rows
with the primary's total. The chained ``datastore_search`` below asks CKAN for
no total in that case and counts on the read URL's servers itself (the cached
count the standby has replayed, else ``count(*)``), so a search is one server's view.
When read and write URL name the same server nothing changes.

A read engine that cannot reach its server (the standby down and no fallback
host, or both down) answers 503 with a German message, never a 500.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan.types import Context
from flask import Flask

from ckanext.udp import compat
from ckanext.udp import unavailable as _unavailable
from ckanext.udp.unavailable import service_unavailable, unavailable

log = logging.getLogger(__name__)


def _servers(url: str) -> tuple[frozenset[tuple[str, str]], str]:
    """The (host, port) pairs and the database a connection URL names (libpq's
    multi-host form ``?host=a:1&host=b:2`` included)."""
    parsed = sa.engine.make_url(url)
    hosts = parsed.query.get("host")
    pairs: set[tuple[str, str]] = set()
    if hosts:
        for entry in (hosts,) if isinstance(hosts, str) else hosts:
            host, _, port = entry.partition(":")
            pairs.add((host, port or str(parsed.port or 5432)))
    else:
        pairs.add((parsed.host or "", str(parsed.port or 5432)))
    return frozenset(pairs), parsed.database or ""


@functools.lru_cache(maxsize=8)
def _separate(read_url: str, write_url: str) -> bool:
    return _servers(read_url) != _servers(write_url)


def reads_elsewhere() -> bool:
    """Whether the DataStore reads from other servers than it writes to."""
    read_url = tk.config.get("ckan.datastore.read_url") or ""
    write_url = tk.config.get("ckan.datastore.write_url") or ""
    return bool(read_url and write_url) and _separate(read_url, write_url)


@functools.lru_cache(maxsize=4)
def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2)


def _count_engine() -> sa.Engine:
    """The read URL's servers with the write user's credentials: the read-only user may
    not see the cached counts (CKAN keeps ``_table_stats`` from it, as ``datastore_search_sql``
    runs as that user). Only this module's count statement runs on it, read-only on a standby."""
    read = sa.engine.make_url(tk.config["ckan.datastore.read_url"])
    write = sa.engine.make_url(tk.config["ckan.datastore.write_url"])
    url = read.set(username=write.username, password=write.password)
    return _engine(url.render_as_string(hide_password=False))


def _given(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip()[:1] in ("{", "[") else value
        except ValueError:
            return True
    return bool(value)


def _unfiltered(data_dict: dict[str, Any]) -> bool:
    """A search whose total CKAN would take from the write engine's cached count."""
    if any(_given(data_dict.get(key)) for key in ("filters", "filterops", "q", "full_text")):
        return False
    try:
        if tk.asbool(data_dict.get("distinct") or False):
            return False
    except ValueError:
        return False  # CKAN's validation answers it
    return not str(data_dict.get("resource_id") or "").startswith("_")


def _wants_total(data_dict: dict[str, Any]) -> bool:
    try:
        return tk.asbool(data_dict.get("include_total", True))
    except ValueError:
        return False  # CKAN's validation answers it


def install(app: Flask) -> None:
    """Register the Action API's 503 (after ``serving.install``: runs before its
    hooks, so the request id is added to the 503 too)."""
    _unavailable.install(app)


@tk.chained_action
@tk.side_effect_free
def datastore_search(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    own_total = reads_elsewhere() and _wants_total(data_dict) and _unfiltered(data_dict)
    try:
        if not own_total:
            return up(context, data_dict)
        result = up(context, dict(data_dict, include_total=False))
        with _count_engine().connect() as conn:
            result["total"] = compat.datastore_row_count(conn, result["resource_id"])
        result["include_total"] = True
        return result
    except sa.exc.DBAPIError as err:
        if not unavailable(err):
            raise
        log.warning("DataStore read failed, answering 503: %s", str(err.orig).splitlines()[0] if err.orig else err)
        raise service_unavailable() from err


def actions() -> dict[str, Any]:
    import ckan.plugins as p

    return {"datastore_search": datastore_search} if p.plugin_loaded("datastore") else {}
