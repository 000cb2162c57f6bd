"""Validation schemas of the actions."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk


@tk.validator_args
def publish(
    not_empty: Any, ignore_missing: Any, unicode_safe: Any, int_validator: Any, is_positive_integer: Any
) -> dict[str, Any]:
    return {
        "resource_id": [not_empty, unicode_safe],
        "dataset_id": [not_empty, unicode_safe],
        "minimum": [ignore_missing, int_validator, is_positive_integer],
        "district_column": [ignore_missing, unicode_safe],
        "group_column": [ignore_missing, unicode_safe],
        "count_column": [ignore_missing, unicode_safe],
        "year_column": [ignore_missing, unicode_safe],
    }
