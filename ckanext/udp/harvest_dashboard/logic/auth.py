"""Who may see and run what: the dashboard lists only the sources a user may
update (ckanext-harvest's ``harvest_source_update``: editors and admins of the
source's organisation, sysadmins); one source's runs and errors, and running
it, need the same right."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context


@tk.auth_disallow_anonymous_access
def udp_harvest_sources(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    return {"success": True}  # the action lists only the sources the user may update


def udp_harvest_source_runs(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    try:
        tk.check_access("harvest_source_update", dict(context), {"id": data_dict.get("id")})
    except tk.NotAuthorized:
        return {"success": False, "msg": tk._("Only editors of the source's organization may see its runs.")}
    return {"success": True}


def udp_harvest_run_now(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    try:
        tk.check_access("harvest_job_create", dict(context), {"source_id": data_dict.get("id")})
    except tk.NotAuthorized:
        return {"success": False, "msg": tk._("Only editors of the source's organization may run it.")}
    return {"success": True}


def get_auth_functions() -> dict[str, Any]:
    return {
        "udp_harvest_sources": udp_harvest_sources,
        "udp_harvest_source_runs": udp_harvest_source_runs,
        "udp_harvest_run_now": udp_harvest_run_now,
    }
