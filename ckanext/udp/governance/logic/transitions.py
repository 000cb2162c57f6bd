"""The workflow transitions (one action per action name of
``workflow.TRANSITIONS``, generated from that table), the access class, and
the governance status of a dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance import indexing, notify, trail
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import schema
from ckanext.udp.governance.logic.common import (
    PEOPLE_KEYS,
    actor,
    governance_dict,
    locked,
    package_or_404,
    pending_of,
    set_visibility,
    user_or_none,
)
from ckanext.udp.governance.logic.pending import decide_pending
from ckanext.udp.governance.model import LIVE_STATES, PUBLISHED, utcnow

# what the generated docstrings add to the table's rows
_NOTES = {
    "approve": "Approves the pending edit of a live dataset instead, if it has one (applied in one "
    "package_update). Four-eyes applies.",
    "reject": "Rejects the pending edit of a live dataset instead, if it has one.",
}


def _transition(action: str, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    pkg = package_or_404(data_dict["id"])
    reason = data_dict.get("reason")
    with locked(pkg) as row:
        # under the lock: who may act depends on the state, which may have just changed
        tk.check_access(f"udp_{action}", context, data_dict)
        user = actor(context)
        pending = pending_of(pkg)
        if action in ("approve", "reject") and row.state in LIVE_STATES and pending is not None:
            decided = decide_pending(pkg, row, pending, user, approve=(action == "approve"), reason=reason)
        else:
            decided = None
            transition = wf.transition_for(action, row.state)
            if transition is None:
                raise tk.ValidationError(
                    {
                        "state": [
                            tk._('The action "{action}" is not possible in state "{state}".').format(
                                action=action, state=row.state
                            )
                        ]
                    }
                )
            source = row.state
            now = utcnow()
            row.state = transition.target
            row.modified = now
            if action == "submit":
                row.submitted_by = user.id
                row.submitted_at = now
            if transition.target == PUBLISHED:
                row.published_at = now
            trail.record(pkg.id, user, action, source, transition.target, reason)
            if pending is not None and transition.target not in LIVE_STATES:
                # a change proposed for the live version has nothing left to apply to
                model.Session.delete(pending)
                trail.record(
                    pkg.id,
                    user,
                    "discard_edit",
                    transition.target,
                    transition.target,
                    None,
                    {"proposed_by": pending.proposed_by},
                )
            set_visibility(pkg, row)
            submitted_by = row.submitted_by
    indexing.after_commit(pkg.id)

    if decided is not None:
        author, approved = decided
        notify.decided(pkg, author, user, approved, reason)
    elif action == "submit":
        notify.submitted(pkg, wf.reviewers_of(pkg.owner_org), user, reason)
    elif action in ("approve", "reject"):
        notify.decided(pkg, user_or_none(submitted_by), user, action == "approve", reason)
    return governance_dict(pkg)


def _transition_action(action: str) -> Callable[[Context, dict[str, Any]], dict[str, Any]]:
    """The action ``udp_<action>``: its schema and docstring from the table."""
    rows = [t for t in wf.TRANSITIONS if t.action == action]

    def transition_action(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        return _transition(action, context, data_dict)

    reason_required = any(t.reason_required for t in rows)
    moves = "; ".join(f"{'/'.join(t.sources)} -> {t.target} ({t.role}s)" for t in rows)
    transition_action.__name__ = transition_action.__qualname__ = f"udp_{action}"
    transition_action.__doc__ = (
        f"Workflow transition {action}: {moves}. ``id``, "
        + ("``reason`` (required)." if reason_required else "optional ``reason``.")
        + (" " + _NOTES[action] if action in _NOTES else "")
    )
    the_schema = schema.transition_with_reason if reason_required else schema.transition
    return tk.validate_action_data(the_schema)(transition_action)


TRANSITION_ACTIONS = {f"udp_{action}": _transition_action(action) for action in wf.ACTIONS}


@tk.validate_action_data(schema.set_access_class)
def udp_set_access_class(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Set the access class (open, internal, restricted) of a dataset."""
    pkg = package_or_404(data_dict["id"])
    changed = False
    with locked(pkg) as row:
        tk.check_access("udp_set_access_class", context, data_dict)
        user = actor(context)
        old = row.access_class
        if old != data_dict["access_class"]:
            changed = True
            row.access_class = data_dict["access_class"]
            row.modified = utcnow()
            trail.record(
                pkg.id,
                user,
                "set_access_class",
                row.state,
                row.state,
                data_dict.get("reason"),
                {"from_access_class": old, "to_access_class": row.access_class},
            )
            set_visibility(pkg, row)
    if changed:
        indexing.after_commit(pkg.id)
    return governance_dict(pkg)


@tk.side_effect_free
@tk.validate_action_data(schema.dataset_id)
def udp_governance_show(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Workflow state, access class and pending-edit flag of a dataset."""
    pkg = package_or_404(data_dict["id"])
    tk.check_access("udp_governance_show", context, {"id": pkg.id})
    out = governance_dict(pkg)
    if not (pkg.owner_org and wf.is_org_member(wf.user_obj_of(context), pkg.owner_org)):
        # who submitted and who edited is the organization's business
        for key in PEOPLE_KEYS:
            out.pop(key, None)
    return out


__all__ = ["TRANSITION_ACTIONS", "udp_governance_show", "udp_set_access_class"]
