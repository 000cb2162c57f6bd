"""Who may do what: everyone reads the tiles the public may see (the actions
filter them); only sysadmins change the definitions (CKAN lets sysadmins pass
every auth function, so the write functions refuse everybody else)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context


@tk.auth_allow_anonymous_access
def udp_klima_tile_read(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    return {"success": True}


def udp_klima_tile_write(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    return {"success": False, "msg": tk._("Only sysadmins may change the Klimadashboard.")}


def get_auth_functions() -> dict[str, Any]:
    read, write = udp_klima_tile_read, udp_klima_tile_write
    return {
        "udp_klima_tile_list": read,
        "udp_klima_tile_show": read,
        "udp_klima_tile_data": read,
        "udp_klima_tile_list_all": write,
        "udp_klima_tile_create": write,
        "udp_klima_tile_update": write,
        "udp_klima_tile_delete": write,
        "udp_klima_tile_reorder": write,
    }
