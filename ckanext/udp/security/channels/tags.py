"""Tags of hidden datasets. CKAN's tag actions read the tag table, which holds
the tags of every dataset, drafts and restricted ones included, and answer
them to anybody. Here they answer only tags of datasets the caller may see: a
facet over the caller's own ``package_search`` decides."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import caller, system

# how many tags CKAN is asked for before filtering (the portal has hundreds)
TAG_CAP = 100_000


def visible_tags(context: Context, vocabulary_id: str | None = None) -> set[str]:
    field = "tags"
    if vocabulary_id:
        vocab = tk.get_action("vocabulary_show")({"ignore_auth": True}, {"id": vocabulary_id})
        field = f"vocab_{vocab['name']}"
    result = tk.get_action("package_search")(
        caller(context),
        {
            "q": "",
            "rows": 0,
            "include_private": True,
            "facet": "true",
            "facet.field": [field],
            "facet.limit": -1,
            "facet.mincount": 1,
        },
    )
    return set((result.get("facets") or {}).get(field, {}))


def _natural(data_dict: dict[str, Any], key: str, default: int) -> int:
    value = data_dict.get(key)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise tk.ValidationError({key: [tk._("Must be a natural number")]})
    return number


def _name(tag: Any) -> str:
    return tag["name"] if isinstance(tag, dict) else tag


@tk.chained_action
@tk.side_effect_free
def tag_list(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    tags = up(context, data_dict)
    if system(context):
        return tags
    visible = visible_tags(context, data_dict.get("vocabulary_id"))
    return [t for t in tags if _name(t) in visible]


@tk.chained_action
@tk.side_effect_free
def tag_search(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if system(context):
        return up(context, data_dict)
    limit, offset = _natural(data_dict, "limit", 10), _natural(data_dict, "offset", 0)
    found = up(context, dict(data_dict, limit=TAG_CAP, offset=0))
    visible = visible_tags(context, data_dict.get("vocabulary_id"))
    results = [t for t in found["results"] if _name(t) in visible]
    return {"count": len(results), "results": results[offset : offset + limit]}


@tk.chained_action
@tk.side_effect_free
def tag_autocomplete(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if system(context):
        return up(context, data_dict)
    limit = _natural(data_dict, "limit", 10)
    names = up(context, dict(data_dict, limit=TAG_CAP, offset=0))
    visible = visible_tags(context, data_dict.get("vocabulary_id"))
    return [n for n in names if n in visible][:limit]


@tk.chained_action
@tk.side_effect_free
def tag_show(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    tag = up(context, data_dict)
    if not system(context) and tag["name"] not in visible_tags(context, tag.get("vocabulary_id")):
        raise tk.ObjectNotFound(tk._("Tag not found"))
    return tag


ACTIONS = {"tag_list": tag_list, "tag_search": tag_search, "tag_autocomplete": tag_autocomplete, "tag_show": tag_show}
