"""Reviewers of an organization (its admins and designated members) and the
organization's governance settings (four-eyes)."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import schema
from ckanext.udp.governance.logic.common import org_id_or_404
from ckanext.udp.governance.model import OrgSetting, Reviewer, utcnow

__all__ = [
    "udp_org_settings_show",
    "udp_org_settings_update",
    "udp_reviewer_add",
    "udp_reviewer_list",
    "udp_reviewer_remove",
]


def _reviewer_target(action: str, context: Context, data_dict: dict[str, Any]) -> tuple[str, model.User]:
    org_id = org_id_or_404(data_dict["organization_id"])
    tk.check_access(action, context, {"organization_id": org_id})
    user = model.User.get(data_dict["user"])
    assert user is not None  # the schema checked that the user exists
    return org_id, user


@tk.validate_action_data(schema.reviewer)
def udp_reviewer_add(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Designate a member of an organization as reviewer (``organization_id``, ``user``)."""
    org_id, user = _reviewer_target("udp_reviewer_add", context, data_dict)
    if not wf.is_org_member(user, org_id):
        raise tk.ValidationError({"user": [tk._("Only members of the organization can be designated as reviewers.")]})
    if model.Session.get(Reviewer, (org_id, user.id)) is None:
        model.Session.add(Reviewer(organization_id=org_id, user_id=user.id, created=utcnow()))
        model.repo.commit()
    return {"organization_id": org_id, "user_id": user.id, "user": user.name}


@tk.validate_action_data(schema.reviewer)
def udp_reviewer_remove(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Remove a designated reviewer (org admins stay reviewers by their role)."""
    org_id, user = _reviewer_target("udp_reviewer_remove", context, data_dict)
    row = model.Session.get(Reviewer, (org_id, user.id))
    if row is None:
        raise tk.ObjectNotFound(tk._("This user is not a designated reviewer of the organization."))
    model.Session.delete(row)
    model.repo.commit()
    return {"organization_id": org_id, "user_id": user.id, "user": user.name}


@tk.side_effect_free
@tk.validate_action_data(schema.organization)
def udp_reviewer_list(context: Context, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """Reviewers of an organization: its admins and its designated reviewers."""
    org_id = org_id_or_404(data_dict["organization_id"])
    tk.check_access("udp_reviewer_list", context, {"organization_id": org_id})
    designated = set(wf.designated_reviewer_ids(org_id))
    return [
        {"user_id": u.id, "user": u.name, "designated": u.id in designated, "admin": wf.is_org_admin(u, org_id)}
        for u in sorted(wf.reviewers_of(org_id), key=lambda u: u.name)
    ]


@tk.validate_action_data(schema.org_settings)
def udp_org_settings_update(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Governance settings of an organization (``four_eyes``: bool). Sysadmins only."""
    org_id = org_id_or_404(data_dict["organization_id"])
    tk.check_access("udp_org_settings_update", context, {"organization_id": org_id})
    row = model.Session.get(OrgSetting, org_id)
    if row is None:
        row = OrgSetting(organization_id=org_id)
        model.Session.add(row)
    row.four_eyes = bool(data_dict["four_eyes"])
    row.modified = utcnow()
    model.repo.commit()
    return {"organization_id": org_id, "four_eyes": row.four_eyes}


@tk.side_effect_free
@tk.validate_action_data(schema.organization)
def udp_org_settings_show(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Governance settings of an organization (organization members)."""
    org_id = org_id_or_404(data_dict["organization_id"])
    tk.check_access("udp_org_settings_show", context, {"organization_id": org_id})
    return {"organization_id": org_id, "four_eyes": wf.four_eyes_enabled(org_id)}
