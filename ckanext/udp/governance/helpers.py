"""Template helpers of udp_governance."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional
from zoneinfo import ZoneInfo

import ckan.model as model
import ckan.plugins.toolkit as tk

from flask_babel import format_datetime

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic.action import last_rejections
from ckanext.udp.governance.model import LIVE_STATES, PendingEdit


def udp_governance_state_label(state: Optional[str]) -> str:
    return {
        "draft": tk._("Draft"),
        "in_review": tk._("In review"),
        "published": tk._("Published"),
        "archived": tk._("Archived"),
        "withdrawn": tk._("Withdrawn"),
    }.get(state or "", state or "")


def udp_governance_action_label(action: Optional[str]) -> str:
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
    the visitor's language, e.g. "30.11.2026, 14:05"."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    zone = tk.config.get("ckan.display_timezone") or "UTC"
    try:
        local = value.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local = value
    return format_datetime(local.replace(tzinfo=None), format="short")


def udp_governance_rejection(pkg_id: str) -> Optional[dict[str, Any]]:
    """Reason, reviewer and time of the rejection that sent the dataset back
    to draft, if that was its latest transition (members only)."""
    try:
        tk.check_access("package_update", {"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None
    return last_rejections([pkg_id]).get(pkg_id)


def udp_governance_access_label(access_class: Optional[str]) -> str:
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


def udp_governance_audit(pkg_id: str) -> Optional[list[dict[str, Any]]]:
    """The audit trail for organization members, None for everyone else."""
    try:
        return tk.get_action("udp_audit_list")({"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None


def udp_governance_pending(pkg_id: str) -> Optional[dict[str, Any]]:
    try:
        return tk.get_action("udp_pending_edit_show")({"user": tk.current_user.name}, {"id": pkg_id})
    except (tk.NotAuthorized, tk.ObjectNotFound):
        return None
