"""Chained actions: DCAT-AP.de defaults before CKAN validates a dataset."""
from __future__ import annotations

from typing import Any, Callable

import ckan.plugins.toolkit as tk

from ckanext.udp.dcatde.logic import defaults

Action = Callable[[dict[str, Any], dict[str, Any]], Any]


@tk.chained_action
def package_create(up: Action, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    return up(context, defaults.apply(data_dict))


@tk.chained_action
def package_update(up: Action, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    return up(context, defaults.apply(data_dict))


def get_actions() -> dict[str, Action]:
    return {"package_create": package_create, "package_update": package_update}
