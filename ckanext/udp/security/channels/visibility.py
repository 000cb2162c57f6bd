"""Who may see a dataset, asked the way every channel asks it: CKAN's
``package_show`` auth (permission labels) for one dataset, the caller's own
``package_search`` for many."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk


def caller(context: Any) -> dict[str, Any]:
    """A fresh context for the same user (contexts carry state between calls)."""
    ctx: dict[str, Any] = {"user": context.get("user") or ""}
    if context.get("auth_user_obj") is not None:
        ctx["auth_user_obj"] = context["auth_user_obj"]
    return ctx


def system(context: Any) -> bool:
    """Calls made by the portal itself (harvesters, jobs, the plugins)."""
    return bool(context.get("ignore_auth"))


def may_see_dataset(context: Any, id_or_name: str | None) -> bool:
    if not id_or_name:
        return False
    try:
        tk.check_access("package_show", caller(context), {"id": id_or_name})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return False
    return True


def require_dataset(context: Any, id_or_name: str | None) -> None:
    """Not found, rather than forbidden: a hidden dataset does not exist for the caller."""
    if not may_see_dataset(context, id_or_name):
        raise tk.ObjectNotFound(tk._("Dataset not found"))


def deny(msg: str) -> dict[str, Any]:
    return {"success": False, "msg": msg}
