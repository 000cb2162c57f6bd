"""Who may publish: whoever may update the target dataset (the action also
reads the source table as the caller, so the caller must see it)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import AuthResult, Context


def udp_sozialatlas_publish(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    try:
        tk.check_access("package_update", context, {"id": data_dict.get("dataset_id") or ""})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return {"success": False, "msg": tk._("Not authorized to publish into this dataset")}
    return {"success": True}
