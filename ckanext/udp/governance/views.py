"""Web pages of udp_governance: workflow buttons on the dataset page, the
audit CSV download and the steward dashboard."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context
from flask import Blueprint, Response

from ckanext.udp.governance import workflow as wf

governance = Blueprint("udp_governance", __name__)


def _context() -> Context:
    return {"user": tk.current_user.name, "auth_user_obj": tk.current_user}


@governance.route("/dataset/<id>/governance/<action>", methods=["POST"])
def transition(id: str, action: str) -> Any:
    if action not in wf.ACTIONS:
        return tk.abort(404, tk._("Unknown workflow action"))
    data = {"id": id, "reason": tk.request.form.get("reason", "")}
    if not data["reason"]:
        data.pop("reason")
    try:
        tk.get_action(f"udp_{action}")(_context(), data)
        tk.h.flash_success(
            tk._("Done: {state}").format(
                state=tk.h.udp_governance_state_label(
                    tk.get_action("udp_governance_show")(_context(), {"id": id})["state"]
                )
            )
        )
    except tk.NotAuthorized as e:
        tk.h.flash_error(str(e) or tk._("Not authorized"))
    except tk.ValidationError as e:
        tk.h.flash_error("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in e.error_dict.items()))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Dataset not found"))
    return tk.redirect_to("dataset.read", id=id)


@governance.route("/dataset/<id>/governance/audit.csv")
def audit_csv(id: str) -> Any:
    try:
        out = tk.get_action("udp_audit_export")(_context(), {"id": id})
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Only members of the organization may see this."))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Dataset not found"))
    return Response(
        out["csv"],
        content_type=out["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{out["filename"]}"'},
    )


@governance.route("/dashboard/governance")
def dashboard() -> Any:
    try:
        queues = tk.get_action("udp_steward_queues")(_context(), {})
    except tk.NotAuthorized:
        return tk.abort(403, tk._("You must be logged in."))
    return tk.render("udp_governance/dashboard.html", {"queues": queues, "user_dict": {"name": tk.current_user.name}})


__all__ = ["governance"]
