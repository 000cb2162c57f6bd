"""ckanext-harvest's channels, by harvest source (a dataset of type
``harvest``, any source type), never by harvester class, so that every
harvester falls under them:

- a harvest source is seen by who may ``package_show`` it (the organization:
  ``udp_governance`` keeps sources private);
- harvest objects (the raw harvested records) are seen by who may see both the
  source and the harvested dataset; their list likewise;
- ``harvest_source_list`` lists the sources the caller may see (ckanext-harvest
  lists all of them, URL and config included, to anybody);
- the harvest log (messages about every source) is for sysadmins;
- ckanext-harvest's mail helpers and an exception class that its plugin
  registers as actions are not callable through the API (they crashed with
  500s).
"""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import caller, deny, may_see_dataset, system


def _may_see_source(context: Context, source_id: str | None) -> bool:
    if not source_id:
        return False
    try:
        tk.check_access("harvest_source_show", caller(context), {"id": source_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return False
    return True


def _harvest_object(data_dict: dict[str, Any]) -> Any:
    from ckanext.harvest.model import HarvestObject

    if data_dict.get("id"):
        return HarvestObject.get(data_dict["id"])
    pkg = model.Package.get(data_dict.get("dataset_id") or "")
    if pkg is None:
        return None
    return (
        model.Session.query(HarvestObject)
        .filter(HarvestObject.package_id == pkg.id)
        .order_by(HarvestObject.current.desc())
        .first()
    )


@tk.chained_auth_function
@tk.auth_allow_anonymous_access
def harvest_object_show(next_auth: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    obj = _harvest_object(data_dict or {})
    if obj is None:
        if (data_dict or {}).get("dataset_id") and not may_see_dataset(context, data_dict["dataset_id"]):
            return deny(tk._("Dataset not found"))
        return next_auth(context, data_dict)  # the action answers "not found"
    if not _may_see_source(context, obj.harvest_source_id) or (
        obj.package_id and not may_see_dataset(context, obj.package_id)
    ):
        return deny(tk._("Only members of the source's organization may see harvested records."))
    return next_auth(context, data_dict)


@tk.chained_auth_function
@tk.auth_allow_anonymous_access
def harvest_object_list(next_auth: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not _may_see_source(context, (data_dict or {}).get("source_id")):
        return deny(tk._("Only members of the source's organization may list its harvested records."))
    return next_auth(context, data_dict)


@tk.chained_auth_function
def harvest_log_list(next_auth: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """ckanext-harvest has no auth function for its log; its plugin registers
    its actions as auth functions too (a shared default argument), so the
    action itself was asked - a RecursionError for everybody but sysadmins,
    who pass every auth function. ``next_auth`` is that action: never called."""
    return deny(tk._("Only sysadmins may read the harvest log."))


@tk.chained_action
@tk.side_effect_free
def harvest_source_list(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if system(context):
        return up(context, data_dict)
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    sources = up(dict(context, user=site_user, ignore_auth=True), data_dict)
    return [s for s in sources if _may_see_source(context, s.get("id"))]


# ckanext-harvest's action asks no auth function (CKAN exempts plugins'
# actions from its auth audit, but not chained wrappers of them)
harvest_source_list.auth_audit_exempt = True


def _not_an_action(name: str) -> Any:
    @tk.chained_action
    def refuse(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        raise tk.ObjectNotFound(tk._("There is no action of that name."))

    refuse.__name__ = name
    return refuse


HELPERS = (
    "get_mail_extra_vars",
    "prepare_summary_mail",
    "prepare_error_mail",
    "send_summary_email",
    "send_error_email",
    "send_mail",
    "InactiveSource",
)

ACTIONS = {"harvest_source_list": harvest_source_list, **{name: _not_an_action(name) for name in HELPERS}}
AUTH = {
    "harvest_object_show": harvest_object_show,
    "harvest_object_list": harvest_object_list,
    "harvest_log_list": harvest_log_list,
}
