"""Who may see a dataset, asked the way every channel asks it: CKAN's
``package_show`` auth (permission labels) for one dataset, the caller's own
``package_search`` for many."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context


def caller(context: Context) -> dict[str, Any]:
    """A fresh context for the same user (contexts carry state between calls)."""
    ctx: dict[str, Any] = {"user": context.get("user") or ""}
    if context.get("auth_user_obj") is not None:
        ctx["auth_user_obj"] = context["auth_user_obj"]
    return ctx


def system(context: Context) -> bool:
    """Calls made by the portal itself (harvesters, jobs, the plugins)."""
    return bool(context.get("ignore_auth"))


def may_see_dataset(context: Context, id_or_name: str | None) -> bool:
    if not id_or_name:
        return False
    try:
        tk.check_access("package_show", caller(context), {"id": id_or_name})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return False
    return True


def deny(msg: str) -> dict[str, Any]:
    return {"success": False, "msg": msg}
