"""The passage vector in each dataset's Solr document (field ``udp_vector``).

``before_dataset_index`` embeds one dataset at a time (creates, updates,
``ckan search-index rebuild``). ``ckan udp semantic reindex`` embeds in batches
first and leaves the vectors here, keyed by the text, for the hook to pick up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.semantic import model, text

log = logging.getLogger(__name__)

FIELD = "udp_vector"

_prepared: dict[str, list[float]] = {}


def enabled() -> bool:
    return tk.asbool(tk.config.get("ckanext.udp.semantic.enabled"))


def _key(passage: str) -> str:
    return hashlib.sha1(passage.encode("utf-8")).hexdigest()


def _shown(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    raw = pkg_dict.get("validated_data_dict") or pkg_dict.get("data_dict")
    if isinstance(raw, str):
        try:
            shown = json.loads(raw)
            if isinstance(shown, dict):
                return shown
        except ValueError:
            pass
    return pkg_dict


def vector_for(pkg_dict: dict[str, Any]) -> list[float] | None:
    passage = text.passage(_shown(pkg_dict))
    if not passage:
        return None
    vec = _prepared.pop(_key(passage), None)
    if vec is None:
        vec = model.passages([passage])[0]
    return vec


def before_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    if not enabled():
        return pkg_dict
    try:
        vec = vector_for(pkg_dict)
    except Exception:  # the dataset is indexed without a vector rather than not at all
        log.exception("udp_semantic: no vector for dataset %s", pkg_dict.get("id"))
        return pkg_dict
    if vec is not None:
        pkg_dict[FIELD] = vec
    return pkg_dict


def prepare(datasets: list[dict[str, Any]]) -> int:
    """Embed these package dicts as one batch; the index hook then uses them."""
    themes = text.theme_labels()
    passages = [text.passage(d, themes) for d in datasets]
    passages = [p for p in passages if p]
    for passage, vec in zip(passages, model.passages(passages), strict=True):
        _prepared[_key(passage)] = vec
    return len(passages)


def forget_prepared() -> int:
    """Drop the prepared vectors; return how many the index hook did not use."""
    left = len(_prepared)
    _prepared.clear()
    return left


def batches(ids: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]
