"""Steward suggestions: the EU data themes and keywords nearest in meaning to
a dataset's title and description. Only proposed: the form shows them and the
steward accepts each with a click; nothing is written here.

Themes: each theme's German and English label is embedded once per process.
Keywords: the tags of the public datasets (facet of an anonymous search),
embedded once per tag and process.
"""

from __future__ import annotations

import threading
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.semantic import model, text

_lock = threading.Lock()
_theme_vectors: dict[str, list[float]] = {}
_tag_vectors: dict[str, list[float]] = {}


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _embed_missing(cache: dict[str, list[float]], texts: dict[str, str]) -> None:
    missing = [key for key in texts if key not in cache]
    if not missing:
        return
    vectors = model.passages([texts[key] for key in missing])
    with _lock:
        cache.update(zip(missing, vectors, strict=True))


def public_tags(limit: int = 1000) -> list[str]:
    result = tk.get_action("package_search")(
        {"ignore_auth": False, "auth_user_obj": None, "user": ""},
        {"q": "*:*", "rows": 0, "facet.field": '["tags"]', "facet.limit": limit, "extras": {"ext_udp_semantic": "off"}},
    )
    return [item["name"] for item in result["search_facets"].get("tags", {}).get("items", [])]


def suggest(title: str, notes: str, themes: int = 3, keywords: int = 5) -> dict[str, Any]:
    """Nearest themes and keywords for this title and description."""
    subject = " ".join(part.strip() for part in (title, notes) if part and part.strip())
    if not subject:
        return {"themes": [], "keywords": []}
    query = model.query(subject)
    labels = text.theme_labels()
    _embed_missing(_theme_vectors, {uri: label for uri, label in labels.items()})
    ranked_themes = sorted(labels, key=lambda uri: -_dot(query, _theme_vectors[uri]))[:themes]
    tags = public_tags()
    _embed_missing(_tag_vectors, {tag: tag for tag in tags})
    ranked_tags = sorted(tags, key=lambda tag: -_dot(query, _tag_vectors[tag]))
    return {
        "themes": [
            {"uri": uri, "label": labels[uri], "score": round(_dot(query, _theme_vectors[uri]), 4)}
            for uri in ranked_themes
        ],
        "keywords": [
            {"name": tag, "score": round(_dot(query, _tag_vectors[tag]), 4)} for tag in ranked_tags[:keywords]
        ],
    }
