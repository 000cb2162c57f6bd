"""CKAN's own actions, chained so that the workflow state stays out of users'
hands: ``package_create``/``package_update`` (a change to a live dataset
becomes a pending edit), ``resource_create``, ``datastore_create`` and
``member_list``. The other guarded channels are in ``guards.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.governance import harvest, trail
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import guards
from ckanext.udp.governance.logic.common import set_visibility
from ckanext.udp.governance.logic.pending import propose_edit
from ckanext.udp.governance.model import ACCESS_CLASSES, DRAFT, LIVE_STATES, STATES, DatasetGovernance, utcnow

__all__ = ["datastore_create", "member_list", "package_create", "package_update", "resource_create"]

Up = Callable[..., Any]


def _check_governance_keys(data_dict: dict[str, Any], status: wf.Status, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    state = data_dict.get(wf.STATE_KEY)
    if state not in (None, "", status.state):
        errors[wf.STATE_KEY] = [
            tk._(
                "The workflow state cannot be set with package_create or package_update; "
                "use the workflow actions (udp_submit, udp_approve, udp_reject, udp_withdraw, "
                "udp_archive, udp_restore)."
            )
        ]
    access = data_dict.get(wf.ACCESS_KEY)
    if creating:
        if access not in (None, "") and access not in ACCESS_CLASSES:
            errors[wf.ACCESS_KEY] = [
                tk._("Access class must be one of: {values}").format(values=", ".join(ACCESS_CLASSES))
            ]
    elif access not in (None, "", status.access_class):
        errors[wf.ACCESS_KEY] = [
            tk._("The access class cannot be changed with package_update; use udp_set_access_class.")
        ]
    if errors:
        raise tk.ValidationError(errors)


def _outside_workflow(context: Context, data_dict: dict[str, Any], pkg: model.Package | None) -> None:
    """Dataset types outside the workflow (harvest sources) are never public:
    nobody reviewed them. A harvest source that publishes is the reviewers'."""
    if data_dict.get("owner_org") or (pkg is not None and pkg.owner_org):
        data_dict["private"] = True
    if (data_dict.get("type") or (pkg.type if pkg is not None else None)) == harvest.SOURCE_TYPE:
        harvest.check_source(context, data_dict, pkg)


@tk.chained_action
def package_create(up: Up, context: Context, data_dict: dict[str, Any]) -> Any:
    if not wf.governed(data_dict.get("type")):
        if not context.get("ignore_auth") and not compat.dataset_type_registered(data_dict.get("type")):
            # an invented type would bypass review, schema and validators
            raise tk.ValidationError(
                {"type": [tk._("Unknown dataset type: {type}").format(type=data_dict.get("type"))]}
            )
        data_dict = dict(data_dict)
        guards.strip_relationships(context, data_dict, None)
        _outside_workflow(context, data_dict, None)
        created = up(context, data_dict)
        harvest.record_approval(context, model.Package.get(created if isinstance(created, str) else created["id"]))
        return created
    data_dict = dict(data_dict)
    guards.strip_relationships(context, data_dict, None)
    # a harvester's approval (apply_source_state) counts only from the system
    approval = data_dict.pop(harvest.APPROVAL_KEY, None) if context.get("ignore_auth") else None
    data_dict.pop(harvest.APPROVAL_KEY, None)
    state = DRAFT
    if context.get("ignore_auth"):
        # system callers (harvesters, the demo loader) may start elsewhere:
        # context key udp_initial_state, or the state key in the dict
        initial = context.get("udp_initial_state") or data_dict.get(wf.STATE_KEY)
        if initial in STATES:
            state = initial
            data_dict.pop(wf.STATE_KEY, None)
    access = data_dict.get(wf.ACCESS_KEY)
    if not access and state != DRAFT and tk.asbool(data_dict.get("private")):
        access = "restricted"  # a system caller's private dataset stays non-public
    access = access or wf.default_access_class()
    _check_governance_keys(data_dict, wf.Status(state, access), creating=True)
    for key in wf.GOVERNANCE_KEYS:
        data_dict.pop(key, None)
    data_dict["private"] = wf.private_flag(wf.Status(state, access))
    context["udp_governance_new"] = (state, access, approval)
    return up(context, data_dict)


@tk.chained_action
def package_update(up: Up, context: Context, data_dict: dict[str, Any]) -> Any:
    data_dict = dict(data_dict)
    if context.get(wf.INTERNAL_CALL):
        for key in (*wf.GOVERNANCE_KEYS, *guards.RELATIONSHIP_KEYS):
            data_dict.pop(key, None)
        return up(context, data_dict)
    pkg = model.Package.get(data_dict.get("id") or data_dict.get("name") or "")
    if pkg is None:
        return up(context, data_dict)  # CKAN's own "not found"
    guards.strip_relationships(context, data_dict, pkg)
    if not wf.governed(pkg.type):
        _outside_workflow(context, data_dict, pkg)
        updated = up(context, data_dict)
        harvest.record_approval(context, pkg)
        return updated
    if pkg.state == "deleted" and data_dict.get("state") == "active" and not context.get("ignore_auth"):
        _revive_as_draft(context, pkg)
        data_dict.pop(wf.STATE_KEY, None)  # the round trip of show -> update carries the old state
    # the state decides what an update may do (and the private flag): locked
    # until package_update commits, so no transition changes it meanwhile
    current = wf.status_of(pkg)
    row = DatasetGovernance.lock(pkg.id, current.state, current.access_class)
    status = wf.Status(row.state, row.access_class)
    _check_governance_keys(data_dict, status, creating=False)
    for key in wf.GOVERNANCE_KEYS:
        data_dict.pop(key, None)
    data_dict["private"] = wf.private_flag(status)
    if status.state in LIVE_STATES and not context.get("ignore_auth"):
        return propose_edit(up, context, pkg, data_dict)
    return up(context, data_dict)


def _revive_as_draft(context: Context, pkg: model.Package) -> None:
    """A deleted dataset that a user brings back returns as a draft: whatever
    it was before, it goes through review again to be seen."""
    current = wf.status_of(pkg)
    row = DatasetGovernance.lock(pkg.id, current.state, current.access_class)
    source = row.state
    row.state, row.modified = DRAFT, utcnow()
    trail.record(pkg.id, wf.user_obj_of(context), "revive", source, DRAFT)
    set_visibility(pkg, row)  # its older activities leave public view too


@tk.chained_action
def resource_create(up: Up, context: Context, data_dict: dict[str, Any]) -> Any:
    """On a live dataset a new resource is a change for review like any other:
    it goes into the pending edit, and the proposed resource is returned."""
    pkg = model.Package.get(data_dict.get("package_id") or "")
    if (
        pkg is None
        or not wf.governed(pkg.type)
        or context.get("ignore_auth")
        or context.get(wf.INTERNAL_CALL)
        or wf.status_of(pkg).state not in LIVE_STATES
    ):
        return up(context, data_dict)
    tk.check_access("resource_create", context, data_dict)
    pkg_dict = tk.get_action("package_show")(dict(context, for_update=True), {"id": pkg.id})
    pkg_dict["resources"] = list(pkg_dict.get("resources") or []) + [dict(data_dict)]
    tk.get_action("package_update")(context, pkg_dict)
    return dict(data_dict, udp_pending_edit=True)


@tk.chained_action
def datastore_create(up: Up, context: Context, data_dict: dict[str, Any]) -> Any:
    """A new DataStore table *with a new resource* on a live dataset would need
    the resource first, and a steward's new resource waits for review: refuse
    with a clear message instead of failing on the resource that has no id yet."""
    new_resource = data_dict.get("resource")
    if data_dict.get("resource_id"):
        guards.table_change(context, data_dict["resource_id"])
    if isinstance(new_resource, dict) and not (context.get("ignore_auth") or context.get(wf.INTERNAL_CALL)):
        pkg = model.Package.get(new_resource.get("package_id") or "")
        if pkg is not None and wf.governed(pkg.type) and wf.status_of(pkg).state in LIVE_STATES:
            raise tk.ValidationError(
                {
                    "resource": [
                        tk._(
                            "A new table cannot be added to a published dataset directly: add the resource as a "
                            "change for review first, then load its table."
                        )
                    ]
                }
            )
    return up(context, data_dict)


@tk.chained_action
@tk.side_effect_free
def member_list(up: Up, context: Context, data_dict: dict[str, Any]) -> Any:
    """CKAN lists every dataset of an organization here, drafts included, to
    anyone; keep only the datasets the caller may see (the same labels as
    package_show)."""
    members = up(context, data_dict)
    user = wf.user_obj_of(context)
    if wf.is_sysadmin(user):
        return members
    labels = set(compat.user_labels(user))
    visible = []
    for member in members:
        if member[1] == "package":
            pkg = model.Package.get(member[0])
            if pkg is None or not labels.intersection(wf.dataset_labels(pkg)):
                continue
        visible.append(member)
    return visible
