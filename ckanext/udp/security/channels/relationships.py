"""Relationships between datasets name both ends: CKAN lists them (and
``package_show`` carries them) when the caller may see one end, so a
published dataset showed the id and the comment of a relationship to a
draft. Here a relationship is listed only when the caller may see both ends,
and dataset dicts (show, search) carry none."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import may_see_dataset, system

ENDS = ("subject", "object", "subject_package_id", "object_package_id")


def _both_ends_visible(context: Context, rel: dict[str, Any], cache: dict[str, bool]) -> bool:
    for key in ENDS:
        ref = rel.get(key)
        if ref:
            if ref not in cache:
                cache[ref] = may_see_dataset(context, ref)
            if not cache[ref]:
                return False
    return True


def visible(context: Context, relationships: Any) -> Any:
    if system(context) or not isinstance(relationships, list):
        return relationships
    cache: dict[str, bool] = {}
    return [r for r in relationships if not isinstance(r, dict) or _both_ends_visible(context, r, cache)]


@tk.chained_action
@tk.side_effect_free
def package_show(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """Dataset dicts carry no relationships: CKAN serves them from the search
    index with relationships or without (depending on its cache), the search
    index would answer them without a caller to ask, and CKAN 2.12 cannot
    index a dict that has them (its default show schema moves
    ``object_package_id`` into ``__extras``: KeyError on every update of a
    dataset with a relationship). ``package_relationships_list`` lists them."""
    shown = up(context, data_dict)
    if isinstance(shown, dict):
        for key in ("relationships_as_subject", "relationships_as_object"):
            shown.pop(key, None)
    return shown


@tk.chained_action
@tk.side_effect_free
def package_relationships_list(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    return visible(context, up(context, data_dict))


ACTIONS = {"package_relationships_list": package_relationships_list, "package_show": package_show}
