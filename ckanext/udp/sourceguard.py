"""The check of a harvest source's URL before it is saved (form, API, CLI alike): a
source whose URL the harvester's own check refuses is a validation error, not a
harvest that fails later. Neutral: used by the udp harvesters (``harvest.base``),
``udp_sensorthings`` and ``udp_dcatde`` (for ckanext-dcat's stock ``dcat_rdf``
sources); it imports no plugin."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import fetch

_ = tk._


def source_guard(source_type: str, check: Any) -> Any:
    """``guard(data_dict)`` raising ValidationError when ``data_dict`` is a
    harvest source of ``source_type`` whose URL ``check(url)`` rejects (raises
    ValueError or FetchError)."""

    def guard(data_dict: dict[str, Any]) -> None:
        if data_dict.get("source_type") != source_type or not data_dict.get("url"):
            return
        try:
            check(str(data_dict["url"]).strip())
        except (ValueError, fetch.FetchError) as err:
            message = _("This source cannot be harvested: {reason}").format(reason=err)
            raise tk.ValidationError({"url": [message]}) from None

    return guard


def source_guard_actions(source_type: str, check: Any) -> dict[str, Any]:
    """Chained ``package_create``/``package_update`` with :func:`source_guard`:
    the path of the harvest forms, the API and the CLI."""
    guard = source_guard(source_type, check)

    @tk.chained_action
    def package_create(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        guard(data_dict)
        return up(context, data_dict)

    @tk.chained_action
    def package_update(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        guard(data_dict)
        return up(context, data_dict)

    return {"package_create": package_create, "package_update": package_update}
