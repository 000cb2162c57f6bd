"""Chained actions: DCAT-AP.de defaults before CKAN validates a dataset; a
harvest source of ckanext-dcat's RDF harvester (``dcat_rdf``) whose URL the
fetch policy refuses (not http(s), a private or loopback address) is not saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import fetch
from ckanext.udp.dcatde.logic import defaults
from ckanext.udp.sourceguard import source_guard

Action = Callable[[Context, dict[str, Any]], Any]
_stock_source_guard = source_guard("dcat_rdf", fetch.check_url)


@tk.chained_action
def package_create(up: Action, context: Context, data_dict: dict[str, Any]) -> Any:
    _stock_source_guard(data_dict)
    return up(context, defaults.apply(data_dict))


@tk.chained_action
def package_update(up: Action, context: Context, data_dict: dict[str, Any]) -> Any:
    _stock_source_guard(data_dict)
    return up(context, defaults.apply(data_dict))


def get_actions() -> dict[str, Action]:
    return {"package_create": package_create, "package_update": package_update}
