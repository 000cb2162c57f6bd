"""The steward dashboard's queues: the logged-in user's drafts, submissions,
what they may review, and what was published lately."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import schema
from ckanext.udp.governance.logic.common import actor
from ckanext.udp.governance.model import DRAFT, IN_REVIEW, PUBLISHED, AuditEntry, DatasetGovernance, PendingEdit

__all__ = ["udp_steward_queues"]


def _item(pkg: model.Package, row: DatasetGovernance, pending: bool = False) -> dict[str, Any]:
    return {
        "id": pkg.id,
        "name": pkg.name,
        "title": pkg.title or pkg.name,
        "owner_org": pkg.owner_org,
        "state": row.state,
        "access_class": row.access_class,
        "pending_edit": pending,
        "modified": row.modified.isoformat(),
        "published_at": row.published_at.isoformat() if row.published_at else None,
        # stage 1 of the form saved, no data added yet (CKAN's own "draft" state)
        "incomplete": pkg.state == "draft",
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
    }


def last_rejections(package_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each dataset whose latest workflow transition was a rejection: the
    reason, who rejected it and when."""
    if not package_ids:
        return {}
    transitions = [t.action for t in wf.TRANSITIONS]
    rows = (
        model.Session.query(AuditEntry)
        .filter(AuditEntry.package_id.in_(package_ids), AuditEntry.action.in_(transitions))
        .order_by(AuditEntry.package_id, AuditEntry.created.desc(), AuditEntry.id.desc())
        .distinct(AuditEntry.package_id)
    )
    return {
        e.package_id: {"reason": e.comment, "by": e.actor_name, "at": e.as_dict()["created"]}
        for e in rows
        if e.action == "reject"
    }


@tk.side_effect_free
@tk.validate_action_data(schema.queues)
def udp_steward_queues(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The logged-in user's queues, each with a count: ``my_drafts`` (rejected
    ones first, with ``rejection``: reason, by, at; unfinished ones flagged
    ``incomplete``), ``my_in_review`` (submitted, waiting for a reviewer),
    ``to_review`` (submissions and pending edits the user may approve),
    ``recently_published``."""
    limit = min(int(data_dict.get("limit") or 20), 100)
    tk.check_access("udp_steward_queues", context, data_dict)
    user = actor(context)
    orgs = tk.get_action("organization_list_for_user")({"user": user.name}, {"permission": "read"})
    org_ids = [o["id"] for o in orgs]
    joined = (
        model.Session.query(model.Package, DatasetGovernance)
        .join(DatasetGovernance, DatasetGovernance.package_id == model.Package.id)
        .filter(model.Package.owner_org.in_(org_ids))
    )
    base = joined.filter(model.Package.state == "active")
    mine = (model.Package.creator_user_id == user.id) | (DatasetGovernance.last_editor == user.id)

    drafts = (
        joined.filter(model.Package.state.in_(("active", "draft")), DatasetGovernance.state == DRAFT)
        .filter(mine)
        .order_by(DatasetGovernance.modified.desc())
    )
    draft_rows = drafts.limit(limit).all()
    rejected = last_rejections([pkg.id for pkg, _row in draft_rows])
    draft_items = []
    for pkg, row in draft_rows:
        item = _item(pkg, row)
        item["rejection"] = rejected.get(pkg.id)
        draft_items.append(item)
    draft_items.sort(key=lambda i: i["rejection"] is None)  # rejected ones on top

    my_in_review = (
        base.filter(DatasetGovernance.state == IN_REVIEW)
        .filter(mine | (DatasetGovernance.submitted_by == user.id))
        .order_by(DatasetGovernance.submitted_at.desc())
    )

    review_orgs = [o for o in org_ids if wf.is_reviewer(user, o)]
    to_review: list[dict[str, Any]] = []
    in_review = base.filter(DatasetGovernance.state == IN_REVIEW, model.Package.owner_org.in_(review_orgs)).order_by(
        DatasetGovernance.submitted_at
    )
    for pkg, row in in_review:
        if wf.four_eyes_enabled(pkg.owner_org) and user.id in (row.submitted_by, row.last_editor):
            continue
        to_review.append(_item(pkg, row))
    pending = (
        base.join(PendingEdit, PendingEdit.package_id == model.Package.id)
        .filter(model.Package.owner_org.in_(review_orgs))
        .add_columns(PendingEdit.proposed_by)
        .order_by(PendingEdit.created)
    )
    for pkg, row, proposed_by in pending:
        if wf.four_eyes_enabled(pkg.owner_org) and user.id == proposed_by:
            continue
        to_review.append(_item(pkg, row, pending=True))

    published = base.filter(DatasetGovernance.state == PUBLISHED, DatasetGovernance.published_at.isnot(None)).order_by(
        DatasetGovernance.published_at.desc()
    )
    return {
        "my_drafts": {"count": drafts.count(), "items": draft_items},
        "my_in_review": {"count": my_in_review.count(), "items": [_item(pk, r) for pk, r in my_in_review.limit(limit)]},
        "to_review": {"count": len(to_review), "items": to_review[:limit]},
        "recently_published": {"count": published.count(), "items": [_item(pk, r) for pk, r in published.limit(limit)]},
    }
