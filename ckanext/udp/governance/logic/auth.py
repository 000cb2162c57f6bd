"""Auth functions of udp_governance. Sysadmins pass every check CKAN lets
them pass, except the four-eyes rule, which holds for them too."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import AuthFunction, AuthResult, Context

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import LIVE_STATES, DatasetGovernance, PendingEdit


def _ok() -> AuthResult:
    return {"success": True}


def _deny(msg: str) -> AuthResult:
    return {"success": False, "msg": msg}


def _package(data_dict: dict[str, Any]) -> model.Package:
    pkg = model.Package.get(data_dict.get("id") or "")
    if pkg is None:
        raise tk.ObjectNotFound(tk._("Dataset not found"))
    return pkg


def _role_check(role: str, context: Context, pkg: model.Package) -> AuthResult:
    user = wf.user_obj_of(context)
    if not pkg.owner_org:
        return _deny(tk._("Only datasets of an organization go through the publishing workflow."))
    if role == wf.REVIEWER:
        if wf.is_reviewer(user, pkg.owner_org):
            return _ok()
        return _deny(tk._("Only reviewers of the organization (its admins and designated reviewers) may do this."))
    if wf.is_editor(user, pkg.owner_org):
        return _ok()
    return _deny(tk._("Only editors of the organization may do this."))


def _transition_auth(action: str, context: Context, data_dict: dict[str, Any]) -> AuthResult:
    pkg = _package(data_dict)
    status = wf.status_of(pkg)
    pending = PendingEdit.get(pkg.id) if status.state in LIVE_STATES else None
    if action in ("approve", "reject") and pending is not None:
        role = wf.REVIEWER
    else:
        transition = wf.transition_for(action, status.state) or next(t for t in wf.TRANSITIONS if t.action == action)
        role = transition.role
    result = _role_check(role, context, pkg)
    if not result["success"] or not wf.four_eyes_applies(action):
        return result
    # four-eyes: nobody approves what they submitted or last edited
    if not wf.four_eyes_enabled(pkg.owner_org):
        return result
    user = wf.user_obj_of(context)
    assert user is not None
    authors: set[str | None]
    if pending is not None:
        authors = {pending.proposed_by}
    else:
        row = DatasetGovernance.get(pkg.id)
        authors = {row.submitted_by, row.last_editor} if row else set()
    if user.id in authors:
        return _deny(
            tk._(
                "Four-eyes principle: you cannot approve a submission or change that "
                "you made or last edited yourself. Another reviewer of the organization "
                "has to approve it."
            )
        )
    return result


def _transition_auth_function(action: str) -> AuthFunction:
    """The auth function ``udp_<action>`` of a transition of the table; a
    four-eyes transition holds for sysadmins too."""

    def transition_auth(context: Context, data_dict: dict[str, Any]) -> AuthResult:
        return _transition_auth(action, context, data_dict)

    transition_auth.__name__ = transition_auth.__qualname__ = f"udp_{action}"
    if wf.four_eyes_applies(action):
        return tk.auth_sysadmins_check(transition_auth)
    return transition_auth


TRANSITION_AUTH = {f"udp_{action}": _transition_auth_function(action) for action in wf.ACTIONS}


def udp_set_access_class(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    """Editors while the dataset is not live; on a live dataset reviewers only."""
    pkg = _package(data_dict)
    live = wf.status_of(pkg).state in LIVE_STATES
    return _role_check(wf.REVIEWER if live else wf.EDITOR, context, pkg)


@tk.auth_allow_anonymous_access
def udp_governance_show(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return tk.check_access("package_show", context, data_dict) and _ok()


def udp_pending_edit_show(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    pkg = _package(data_dict)
    user = wf.user_obj_of(context)
    if pkg.owner_org and (wf.is_editor(user, pkg.owner_org) or wf.is_reviewer(user, pkg.owner_org)):
        return _ok()
    return _deny(tk._("Only editors and reviewers of the organization may see pending edits."))


def _org_member(context: Context, org_id: str) -> AuthResult:
    if wf.is_org_member(wf.user_obj_of(context), org_id):
        return _ok()
    return _deny(tk._("Only members of the organization may see this."))


def udp_audit_list(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    pkg = _package(data_dict)
    if not pkg.owner_org:
        return _deny(tk._("Only members of the organization may see this."))
    return _org_member(context, pkg.owner_org)


def udp_audit_export(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return udp_audit_list(context, data_dict)


def udp_reviewer_add(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    if wf.is_org_admin(wf.user_obj_of(context), data_dict.get("organization_id") or ""):
        return _ok()
    return _deny(tk._("Only admins of the organization may manage its reviewers."))


def udp_reviewer_remove(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return udp_reviewer_add(context, data_dict)


def udp_reviewer_list(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return _org_member(context, data_dict.get("organization_id") or "")


def udp_org_settings_update(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return _deny(tk._("Only sysadmins may change the governance settings of an organization."))


def udp_org_settings_show(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    return _org_member(context, data_dict.get("organization_id") or "")


def udp_steward_queues(context: Context, data_dict: dict[str, Any]) -> AuthResult:
    if wf.user_obj_of(context) is None:
        return _deny(tk._("You must be logged in."))
    return _ok()


def get_auth_functions() -> dict[str, Any]:
    """``IAuthFunctions``: every auth function of the plugin by name."""
    return {**TRANSITION_AUTH, **{name: globals()[name] for name in __all__ if name.startswith("udp_")}}


__all__ = [
    "TRANSITION_AUTH",
    "get_auth_functions",
    "udp_set_access_class",
    "udp_governance_show",
    "udp_pending_edit_show",
    "udp_reviewer_add",
    "udp_reviewer_remove",
    "udp_reviewer_list",
    "udp_org_settings_update",
    "udp_org_settings_show",
    "udp_audit_list",
    "udp_audit_export",
    "udp_steward_queues",
]
