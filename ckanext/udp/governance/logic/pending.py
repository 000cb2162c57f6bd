"""Pending edits of live datasets: a change to a published (or archived)
dataset waits for review as a proposal beside the live version; approving it
applies it in one ``package_update``, rejecting it drops it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.governance import indexing, notify, trail
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import schema
from ckanext.udp.governance.logic.common import actor, package_or_404, pending_of, user_or_none
from ckanext.udp.governance.logic.diff import (
    SYSTEM_RESOURCE_FIELDS,
    changed_since_proposal,
    created_after,
    metadata_diff,
    system_only_change,
)
from ckanext.udp.governance.model import DatasetGovernance, PendingEdit, utcnow

__all__ = ["udp_pending_edit_show"]


def _live(pkg: model.Package, user: str | None = None) -> dict[str, Any]:
    """The live dataset from the database, not the search index's copy: ckanext-harvest
    adds its extras to the indexed copy only, so a base read from one and a live read
    from the other would differ (and approvals of harvested datasets were refused)."""
    context: dict[str, Any] = {"ignore_auth": True, wf.INTERNAL_CALL: True, "use_cache": False}
    if user is not None:
        context["user"] = user
    return tk.get_action("package_show")(context, {"id": pkg.id})


def propose_edit(up: Callable[..., Any], context: Context, pkg: model.Package, data_dict: dict[str, Any]) -> Any:
    """Called by the chained package_update, which holds the governance row's lock."""
    tk.check_access("package_update", context, data_dict)
    user = actor(context)
    live = _live(pkg, user.name)
    if system_only_change(live, data_dict):
        return up(context, data_dict)
    # a file cannot wait for review (it would be stored before anyone approved
    # it); refused before validation, which cannot handle a file object either
    for res in data_dict.get("resources") or []:
        if res.get("upload") not in (None, "") and not isinstance(res.get("upload"), str):
            raise tk.ValidationError(
                {
                    "upload": [
                        tk._(
                            "Files cannot be uploaded to a published dataset while its change waits for "
                            "review; link the file by URL, or withdraw the dataset first."
                        )
                    ]
                }
            )
    # validate now: a proposal that could never be applied is refused at once
    errors = compat.validate_dataset_update(pkg, context, data_dict)
    if errors:
        raise tk.ValidationError(errors)
    proposal = {k: v for k, v in data_dict.items() if k not in wf.GOVERNANCE_KEYS}
    proposal["id"] = pkg.id
    row = DatasetGovernance.get(pkg.id)
    assert row is not None  # the chained package_update locked (and so created) it
    edit = pending_of(pkg)
    if edit is None:
        edit = PendingEdit(package_id=pkg.id)
        model.Session.add(edit)
    edit.proposed = json.dumps(proposal, default=str)
    edit.proposed_by = user.id
    edit.base_modified = live.get("metadata_modified")
    edit.base = json.dumps(live, default=str)
    edit.created = utcnow()
    changes = metadata_diff(live, proposal)
    trail.record(pkg.id, user, "propose_edit", row.state, row.state, None, {"fields": [c["field"] for c in changes]})
    indexing.mark(pkg.id)  # the pending-edit flag in search results
    model.repo.commit()
    indexing.after_commit(pkg.id)
    notify.edit_proposed(pkg, wf.reviewers_of(pkg.owner_org), user)
    if context.get("return_id_only"):
        return pkg.id
    return tk.get_action("package_show")(dict(context, ignore_auth=True), {"id": pkg.id})


def decide_pending(
    pkg: model.Package,
    row: DatasetGovernance,
    pending: PendingEdit,
    user: model.User,
    approve: bool,
    reason: str | None,
) -> tuple[model.User | None, bool]:
    """Apply or drop the pending edit, inside the transition's transaction.
    Returns (author, approved) for the mail after the commit."""
    live = _live(pkg)
    proposal = pending.proposed_dict
    changes = metadata_diff(live, proposal)
    if approve:
        stale = changed_since_proposal(pending, live)
        if stale:
            raise tk.ValidationError(
                {
                    "pending_edit": [
                        tk._(
                            "The published dataset has changed since this change was proposed ({fields}); "
                            "approving it would undo that. Reject the change and ask for a new proposal "
                            "based on the current version."
                        ).format(fields=", ".join(c["field"] for c in stale))
                    ]
                }
            )
        proposal["id"] = pkg.id
        proposal["private"] = wf.private_flag(wf.Status(row.state, row.access_class))
        live_resources = {r["id"]: r for r in live.get("resources") or []}
        for res in proposal.get("resources") or []:
            # what CKAN's machinery set meanwhile (DataStore flags) stays as it is
            for key in SYSTEM_RESOURCE_FIELDS & set(live_resources.get(res.get("id"), {})):
                res[key] = live_resources[res["id"]][key]
        # resources added since the proposal (harvests, sensor series, system
        # writes) are not the editor's to remove: keep them
        proposed_ids = {r.get("id") for r in proposal.get("resources") or [] if r.get("id")}
        for res in live.get("resources") or []:
            if res["id"] not in proposed_ids and created_after(res, pending.created):
                proposal.setdefault("resources", []).append(res)
        # in this transaction, indexed after its commit. CKAN 2.12's package_update
        # rolls its savepoint back under defer_commit unless return_id_only is set
        tk.get_action("package_update")(
            {
                "user": user.name,
                "ignore_auth": True,
                wf.INTERNAL_CALL: True,
                "defer_commit": True,
                "return_id_only": True,
            },
            proposal,
        )
    model.Session.delete(pending)
    row.modified = utcnow()
    row.last_editor = pending.proposed_by
    trail.record(
        pkg.id,
        user,
        "apply_edit" if approve else "reject_edit",
        row.state,
        row.state,
        reason,
        {"proposed_by": pending.proposed_by, "changes": changes},
    )
    indexing.mark(pkg.id)
    return user_or_none(pending.proposed_by), approve


@tk.side_effect_free
@tk.validate_action_data(schema.dataset_id)
def udp_pending_edit_show(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The pending edit of a live dataset with a field-level diff against the
    live version; ``changed_since_proposal`` lists what changed in the live
    version after the proposal (approval is refused then)."""
    pkg = package_or_404(data_dict["id"])
    tk.check_access("udp_pending_edit_show", context, {"id": pkg.id})
    pending = PendingEdit.get(pkg.id)
    if pending is None:
        raise tk.ObjectNotFound(tk._("This dataset has no pending edit."))
    live = _live(pkg)
    proposer = user_or_none(pending.proposed_by)
    return {
        "package_id": pkg.id,
        "proposed_by": pending.proposed_by,
        "proposed_by_name": proposer.name if proposer else None,
        "created": pending.created.isoformat(),
        "base_modified": pending.base_modified,
        "live_modified": live.get("metadata_modified"),
        "diff": metadata_diff(live, pending.proposed_dict),
        "changed_since_proposal": changed_since_proposal(pending, live),
        "proposed": pending.proposed_dict,
    }
