"""Parameter schemas of the plugin's actions."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk


@tk.validator_args
def changes(
    ignore_missing: Any, unicode_safe: Any, default: Any, int_validator: Any, is_positive_integer: Any
) -> dict[str, Any]:
    return {
        "since": [ignore_missing, unicode_safe],
        "limit": [default(100), int_validator, is_positive_integer],
    }
