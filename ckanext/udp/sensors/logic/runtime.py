"""Per-process state of the web side: the sources file and an ingester,
loaded on first use (the consumer builds its own in ``cli.consume``)."""

from __future__ import annotations

import os
import threading
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ckanext.udp.datastore_sql import write_engine
from ckanext.udp.sensors.logic.ingest import Ingester
from ckanext.udp.sensors.logic.series import ensure_series
from ckanext.udp.sensors.logic.sources import Limits, SourceSet, load_sources

_lock = threading.Lock()
_state: dict[str, Any] = {}


def sources() -> SourceSet:
    """The configured sources, reloaded when the file changes."""
    path = tk.config.get("ckanext.udp.sensors.sources") or ""
    stamp = (
        path,
        os.stat(path).st_mtime_ns if path and os.path.exists(path) else 0,
        tk.config.get("ckanext.udp.sensors.pseudonym_secret"),
        tk.config.get("ckanext.udp.sensors.max_extra_bytes"),
    )
    with _lock:
        if _state.get("sources_stamp") != stamp:
            _state["sources"] = load_sources(path)
            _state["sources_stamp"] = stamp
            _state.pop("ingester", None)
        return _state["sources"]


def ingester() -> Ingester:
    srcs = sources()
    with _lock:
        ing = _state.get("ingester")
        if ing is None:
            if "engine" not in _state:
                _state["engine"] = write_engine()
            ing = Ingester(srcs, {}, _state["engine"], model.meta.engine, Limits.from_config())
            _state["ingester"] = ing
    # series are set up on first use of each dataset (actions, once per process)
    missing = [ds for ds in srcs.datasets if ds not in ing.series]
    for ds in missing:
        ing.series[ds] = ensure_series(srcs, ds)
    return ing


def read_engine() -> Engine:
    with _lock:
        if "read_engine" not in _state:
            _state["read_engine"] = sa.create_engine(
                tk.config["ckan.datastore.read_url"], pool_pre_ping=True, pool_size=2
            )
        return _state["read_engine"]


def reset() -> None:
    """Forget everything (tests change the configuration)."""
    with _lock:
        for key in ("engine", "read_engine"):
            if key in _state:
                _state[key].dispose()
        _state.clear()
