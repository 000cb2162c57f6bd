"""Auth functions: the change feed is public (it only ever shows what an
anonymous ``package_search`` shows)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context


@tk.auth_allow_anonymous_access
def udp_changes(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    return {"success": True}


__all__ = ["udp_changes"]
