"""Input schemas of the udp_governance actions (``@validator_args``: CKAN hands
each schema its validators by name)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Schema, Validator

from ckanext.udp.governance.model import ACCESS_CLASSES


@tk.validator_args
def transition(ignore_missing: Validator, not_empty: Validator, unicode_safe: Validator) -> Schema:
    """A workflow transition whose reason is optional."""
    return {"id": [not_empty, unicode_safe], "reason": [ignore_missing, unicode_safe]}


@tk.validator_args
def transition_with_reason(not_empty: Validator, unicode_safe: Validator) -> Schema:
    """A workflow transition that needs a reason (reject, withdraw)."""
    return {"id": [not_empty, unicode_safe], "reason": [not_empty, unicode_safe]}


@tk.validator_args
def set_access_class(ignore_missing: Validator, not_empty: Validator, one_of: Any, unicode_safe: Validator) -> Schema:
    return {
        "id": [not_empty, unicode_safe],
        "access_class": [not_empty, unicode_safe, one_of(list(ACCESS_CLASSES))],
        "reason": [ignore_missing, unicode_safe],
    }


@tk.validator_args
def dataset_id(not_empty: Validator, unicode_safe: Validator) -> Schema:
    return {"id": [not_empty, unicode_safe]}


@tk.validator_args
def reviewer(
    not_empty: Validator, unicode_safe: Validator, group_id_or_name_exists: Validator, user_id_or_name_exists: Validator
) -> Schema:
    return {
        "organization_id": [not_empty, unicode_safe, group_id_or_name_exists],
        "user": [not_empty, unicode_safe, user_id_or_name_exists],
    }


@tk.validator_args
def organization(not_empty: Validator, unicode_safe: Validator, group_id_or_name_exists: Validator) -> Schema:
    return {"organization_id": [not_empty, unicode_safe, group_id_or_name_exists]}


@tk.validator_args
def org_settings(
    not_empty: Validator,
    not_missing: Validator,
    unicode_safe: Validator,
    group_id_or_name_exists: Validator,
    boolean_validator: Validator,
) -> Schema:
    return {
        "organization_id": [not_empty, unicode_safe, group_id_or_name_exists],
        "four_eyes": [not_missing, boolean_validator],
    }


@tk.validator_args
def queues(default: Any, natural_number_validator: Validator) -> Schema:
    return {"limit": [default(20), natural_number_validator]}
