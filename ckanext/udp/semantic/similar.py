"""Ähnliche Datensätze: the nearest datasets by meaning among those anyone may
see (published and open: what an anonymous visitor finds in the search),
whoever looks at the page."""

from __future__ import annotations

import json
import logging
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp import compat
from ckanext.udp.semantic import hybrid, model, text
from ckanext.udp.semantic.index import FIELD, enabled


def _literal(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


log = logging.getLogger(__name__)


def public_filters() -> list[str]:
    """The filters of an anonymous visitor's package_search (public, active,
    this site, the anonymous permission labels)."""
    labels = compat.user_dataset_labels(None)
    return [
        "+capacity:public",
        "+state:active",
        "+site_id:" + _literal(tk.config.get("ckan.site_id") or ""),
        "+permission_labels:(" + " OR ".join(_literal(label) for label in labels) + ")",
    ]


def stored_vector(pkg_id: str) -> list[float] | None:
    """The vector the index hook stored in the dataset's Solr document, or None
    (not indexed yet, indexed while the plugin was off, or before the field was
    stored)."""
    conn = compat.solr_connection()
    site = "+site_id:" + _literal(tk.config.get("ckan.site_id") or "")
    response = conn.search(q="*:*", fq=["+id:" + _literal(pkg_id), site], fl=FIELD, rows=1, wt="json")
    for doc in response.docs:
        vector = doc.get(FIELD)
        if isinstance(vector, list) and vector:
            return [float(x) for x in vector]
    return None


def similar(pkg: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """Up to ``limit`` public datasets nearest to ``pkg`` (never ``pkg`` itself).

    The dataset's own vector comes from its Solr document (embedded once, when it
    was indexed); only a dataset without one is embedded here (~0.2 s of CPU)."""
    vector = stored_vector(str(pkg.get("id") or ""))
    if vector is None:
        passage = text.passage(pkg)
        if not passage:
            return []
        vector = model.passages([passage])[0]
    fq = [*public_filters(), "-id:" + _literal(str(pkg.get("id") or ""))]
    hits = hybrid.knn_hits(vector, fq, limit, "id validated_data_dict")
    out = []
    for doc in hits:
        raw = doc.get("validated_data_dict")
        if raw:
            out.append(json.loads(raw))
    return out


def for_page(pkg: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """Template helper: [] when the plugin is off or Solr/the model fail (the
    dataset page never breaks over its 'similar' box)."""
    if not enabled():
        return []
    try:
        return similar(pkg, limit)
    except Exception:
        log.exception("udp_semantic: no similar datasets for %s", pkg.get("id"))
        return []
