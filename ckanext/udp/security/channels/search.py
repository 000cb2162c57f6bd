"""Solr parameters that compute over the whole index. CKAN filters search
results by the caller's permission labels and refuses ``{!...}`` local
parameters, but passes ``fl`` to Solr as it comes: a pseudo-field such as
``n:docfreq(name,'draft-name')``, ``[explain]`` or ``score`` is computed over
every document, hidden ones included, and so counts and confirms datasets
the caller may not see. Here ``fl`` names stored fields only, and the query
parameters cannot smuggle in function queries (``_val_``, ``_query_``)."""

from __future__ import annotations

import re
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import system

FIELD = re.compile(r"^[A-Za-z_][\w.\-]*\*?$|^\*$")
FUNCTION_HOOKS = re.compile(r"\b_(val|query)_\b")
NOT_FIELDS = ("score",)


def _fields(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [f for f in re.split(r"[\s,]+", value) if f]
    if isinstance(value, list):
        return value
    return [value]


def check_params(data_dict: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    fl = data_dict.get("fl")
    if fl not in (None, ""):
        bad = [f for f in _fields(fl) if not (isinstance(f, str) and FIELD.match(f)) or f in NOT_FIELDS]
        if bad:
            errors["fl"] = [
                tk._("fl may only name fields of the index, not functions or pseudo-fields: {fields}").format(
                    fields=", ".join(map(str, bad))[:200]
                )
            ]
    for key in ("q", "fq", "bf", "boost", "sort"):
        value = data_dict.get(key)
        if isinstance(value, str) and FUNCTION_HOOKS.search(value):
            errors[key] = [tk._("Function queries are not allowed in {key}.").format(key=key)]
    if errors:
        raise tk.ValidationError(errors)


@tk.chained_action
@tk.side_effect_free
def package_search(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not system(context):
        check_params(data_dict)
    return up(context, data_dict)


ACTIONS = {"package_search": package_search}
