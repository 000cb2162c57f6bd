"""Template helpers of udp_governance."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.udp import dates
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic.queues import last_rejections
from ckanext.udp.governance.model import LIVE_STATES, PendingEdit


def udp_governance_state_label(state: str | None) -> str:
    return {
        "draft": tk._("Draft"),
        "in_review": tk._("In review"),
        "published": tk._("Published"),
        "archived": tk._("Archived"),
        "withdrawn": tk._("Withdrawn"),
    }.get(state or "", state or "")


def udp_governance_action_label(action: str | None) -> str:
    """German (translated) name of an audit trail action."""
    return {
        "create": tk._("Created"),
        "submit": tk._("Submitted for review"),
        "approve": tk._("Approved"),
        "reject": tk._("Sent back"),
        "withdraw": tk._("Withdrawn"),
        "archive": tk._("Archived"),
        "restore": tk._("Restored"),
        "set_access_class": tk._("Access changed"),
        "propose_edit": tk._("Change proposed"),
        "apply_edit": tk._("Change approved"),
        "reject_edit": tk._("Change sent back"),
        "discard_edit": tk._("Proposed change dropped"),
        "delete": tk._("Deleted"),
    }.get(action or "", action or "")


def udp_governance_datetime(value: Any) -> str:
    """A UTC timestamp (ISO string or datetime) in the portal's time zone and
    the visitor's language, e.g. "30.11.26, 14:05"."""
    return dates.display_datetime(value, "short")


def udp_governance_rejection(pkg_id: str) -> dict[str, Any] | None:
    """Reason, reviewer and time of the rejection that sent the dataset back
    to draft, if that was its latest transition (members only)."""
    try:
        tk.check_access("package_update", {"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None
    return last_rejections([pkg_id]).get(pkg_id)


def udp_governance_access_label(access_class: str | None) -> str:
    return {
        "open": tk._("Open"),
        "internal": tk._("Internal (city staff)"),
        "restricted": tk._("Restricted (organization)"),
    }.get(access_class or "", access_class or "")


def udp_governance_actions(pkg_id: str) -> list[str]:
    """Workflow actions the current user may take on the dataset now."""
    pkg = model.Package.get(pkg_id)
    if pkg is None:
        return []
    status = wf.status_of(pkg)
    pending = status.state in LIVE_STATES and PendingEdit.get(pkg.id) is not None
    possible = [a for a in wf.ACTIONS if wf.transition_for(a, status.state)]
    if pending:
        possible = ["approve", "reject"] + [a for a in possible if a not in ("approve", "reject")]
    allowed = []
    for action in possible:
        try:
            tk.check_access(f"udp_{action}", {"user": tk.current_user.name}, {"id": pkg.id})
            allowed.append(action)
        except (tk.NotAuthorized, tk.ObjectNotFound):
            pass
    return allowed


def udp_governance_audit(pkg_id: str) -> list[dict[str, Any]] | None:
    """The audit trail for organization members, None for everyone else."""
    try:
        return tk.get_action("udp_audit_list")({"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None


def udp_governance_pending(pkg_id: str) -> dict[str, Any] | None:
    try:
        return tk.get_action("udp_pending_edit_show")({"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None
