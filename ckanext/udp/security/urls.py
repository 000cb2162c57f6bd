"""One rule for every URL field of the portal: a web address (http or https)
or, where a file can be uploaded, a bare file name. ``javascript:``,
``data:``, ``vbscript:``, ``file:`` and every other scheme are refused, as
are control characters and spaces (``java\\tscript:`` is ``javascript:`` to a
browser).

The rule itself (``url_problem``) is a plain function in the neutral module
``ckanext.udp.urlrule``: ``udp_dcatde`` uses it for the dataset and resource
fields of its schema; this plugin applies it to
the URL fields outside that schema (resource views, organizations, groups,
users, harvest sources). A harvest source may name a local folder only when its
harvester confines such URLs itself (``local_folder_urls``)."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.urlrule import url_problem


def _message() -> str:
    return tk._("Please enter a web address starting with http:// or https://.")


def web_url(value: Any) -> Any:
    """Validator ``udp_web_url``: empty, or an absolute http(s) address."""
    if value in (None, "") or value is tk.missing:
        return value
    if url_problem(value) is not None:
        raise tk.Invalid(_message())
    return value.strip()


def web_url_or_file(value: Any) -> Any:
    """Validator ``udp_web_url_or_file``: empty, an http(s) address, or an uploaded file's name."""
    if value in (None, "") or value is tk.missing:
        return value
    if url_problem(value, relative_ok=True) is not None:
        raise tk.Invalid(_message())
    return value.strip()


def check_fields(data_dict: dict[str, Any], keys: tuple[str, ...], relative_ok: bool = True) -> None:
    errors = {
        k: [_message()]
        for k in keys
        if data_dict.get(k) not in (None, "") and url_problem(data_dict[k], relative_ok) is not None
    }
    if errors:
        raise tk.ValidationError(errors)


def _local_folder_source(data_dict: dict[str, Any]) -> bool:
    """A harvest source whose URL names a local folder and whose harvester says it confines such URLs itself
    (attribute ``local_folder_urls``, e.g. the file-drop harvester, which checks the folder against its allowed
    folders when the source is saved and read)."""
    url = str(data_dict.get("url") or "").strip()
    if not url.startswith(("file:///", "/")):
        return False
    try:
        from ckanext.harvest.interfaces import IHarvester
    except ImportError:  # harvest sources without ckanext-harvest: nothing vouches for a folder
        return False
    source_type = data_dict.get("source_type")
    for harvester in p.PluginImplementations(IHarvester):
        if harvester.info().get("name") == source_type:
            return bool(getattr(harvester, "local_folder_urls", False))
    return False


def _guarded(
    keys: tuple[str, ...], relative_ok: bool = True, plugin_action: bool = False, local_folder_ok: bool = False
) -> Any:
    @tk.chained_action
    def action(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        if not (local_folder_ok and _local_folder_source(data_dict or {})):
            check_fields(data_dict or {}, keys, relative_ok)
        return up(context, data_dict)

    if plugin_action:
        # CKAN exempts plugins' actions from its auth audit, but not chained
        # wrappers of them; ckanext-harvest's leave their auth to package_*
        action.auth_audit_exempt = True
    return action


VIEW_KEYS = ("image_url", "page_url", "url")
IMAGE_KEYS = ("image_url",)
ACTIONS = {
    "resource_view_create": _guarded(VIEW_KEYS),
    "resource_view_update": _guarded(VIEW_KEYS),
    **{
        f"{kind}_{verb}": _guarded(IMAGE_KEYS)
        for kind in ("group", "organization", "user")
        for verb in ("create", "update", "patch")
    },
    **{
        f"harvest_source_{verb}": _guarded(("url",), relative_ok=False, plugin_action=True, local_folder_ok=True)
        for verb in ("create", "update", "patch")
    },
}


def validators() -> dict[str, Any]:
    return {"udp_web_url": web_url, "udp_web_url_or_file": web_url_or_file}


__all__ = ["url_problem", "web_url", "web_url_or_file", "ACTIONS", "validators"]
