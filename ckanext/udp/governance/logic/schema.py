"""Input schemas of the udp_governance actions."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.governance.model import ACCESS_CLASSES


def _v(name: str) -> Any:
    return tk.get_validator(name)


def transition(reason_required: bool = False) -> dict[str, Any]:
    reason = [_v("not_empty"), _v("unicode_safe")] if reason_required else [
        _v("ignore_missing"), _v("unicode_safe")]
    return {"id": [_v("not_empty"), _v("unicode_safe")], "reason": reason}


def set_access_class() -> dict[str, Any]:
    return {
        "id": [_v("not_empty"), _v("unicode_safe")],
        "access_class": [_v("not_empty"), _v("unicode_safe"), _v("one_of")(list(ACCESS_CLASSES))],
        "reason": [_v("ignore_missing"), _v("unicode_safe")],
    }


def dataset_id() -> dict[str, Any]:
    return {"id": [_v("not_empty"), _v("unicode_safe")]}


def reviewer() -> dict[str, Any]:
    return {
        "organization_id": [_v("not_empty"), _v("unicode_safe"), _v("group_id_or_name_exists")],
        "user": [_v("not_empty"), _v("unicode_safe"), _v("user_id_or_name_exists")],
    }


def organization() -> dict[str, Any]:
    return {"organization_id": [_v("not_empty"), _v("unicode_safe"), _v("group_id_or_name_exists")]}


def org_settings() -> dict[str, Any]:
    return {
        "organization_id": [_v("not_empty"), _v("unicode_safe"), _v("group_id_or_name_exists")],
        "four_eyes": [_v("not_missing"), _v("boolean_validator")],
    }


def queues() -> dict[str, Any]:
    return {"limit": [_v("default")(20), _v("natural_number_validator")]}
