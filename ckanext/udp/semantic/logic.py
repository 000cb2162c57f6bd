"""Actions of udp_semantic.

- ``udp_semantic_suggest`` (logged-in users; POST): EU themes and keywords
  proposed for ``title`` and ``notes``. Reads public vocabulary only; writes nothing.
- ``udp_semantic_similar`` (anyone who may see the dataset): the public datasets
  nearest to dataset ``id``.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.semantic import similar, suggest
from ckanext.udp.semantic.index import enabled

MAX_TEXT = 20000


def _off() -> None:
    if not enabled():
        raise tk.ValidationError({"semantic": [tk._("The semantic search is switched off on this portal.")]})


def _text(data_dict: dict[str, Any], key: str) -> str:
    value = data_dict.get(key) or ""
    if not isinstance(value, str):
        raise tk.ValidationError({key: [tk._("Must be text.")]})
    if len(value) > MAX_TEXT:
        raise tk.ValidationError({key: [tk._("At most {n} characters.").format(n=MAX_TEXT)]})
    return value


def _count(data_dict: dict[str, Any], key: str, default: int, most: int) -> int:
    value = data_dict.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise tk.ValidationError({key: [tk._("Must be a whole number between 1 and {n}.").format(n=most)]}) from None
    if not 1 <= number <= most:
        raise tk.ValidationError({key: [tk._("Must be a whole number between 1 and {n}.").format(n=most)]})
    return number


def udp_semantic_suggest(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    tk.check_access("udp_semantic_suggest", context, data_dict)
    _off()
    title, notes = _text(data_dict, "title"), _text(data_dict, "notes")
    if not (title.strip() or notes.strip()):
        raise tk.ValidationError({"title": [tk._("Enter a title or a description first.")]})
    return suggest.suggest(title, notes, _count(data_dict, "themes", 3, 13), _count(data_dict, "keywords", 5, 20))


@tk.side_effect_free
def udp_semantic_similar(context: Any, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    pkg = tk.get_action("package_show")(context, {"id": tk.get_or_bust(data_dict, "id")})
    _off()
    found = similar.similar(pkg, _count(data_dict, "limit", 5, 20))
    return [{"id": d.get("id"), "name": d.get("name"), "title": d.get("title")} for d in found]


def suggest_auth(context: Any, data_dict: dict[str, Any] | None) -> dict[str, Any]:
    """Logged-in users only (it costs model time; it reveals only public vocabulary)."""
    return {"success": bool(context.get("auth_user_obj") or context.get("user"))}


def get_actions() -> dict[str, Any]:
    return {"udp_semantic_suggest": udp_semantic_suggest, "udp_semantic_similar": udp_semantic_similar}


def get_auth_functions() -> dict[str, Any]:
    return {"udp_semantic_suggest": suggest_auth}
