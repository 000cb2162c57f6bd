"""Actions of udp_governance: the workflow transitions, access classes, pending
edits of published datasets, reviewers, organization settings, audit trail and
the steward queues; plus the chained package_create/package_update that keep
the state out of users' hands."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
from typing import Any, Iterator, Optional

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import lookup_package_plugin, plugin_validate

from ckanext.udp.governance import harvest, indexing, notify, workflow as wf
from ckanext.udp.governance.logic import guards, schema
from ckanext.udp.governance.model import (
    ACCESS_CLASSES, DRAFT, IN_REVIEW, LIVE_STATES, PUBLISHED, STATES,
    AuditEntry, DatasetGovernance, OrgSetting, PendingEdit, Reviewer, utcnow,
)

log = logging.getLogger(__name__)

# resource fields that CKAN's own machinery (DataStore) sets on live datasets;
# a change to only these is not an edit that needs review
SYSTEM_RESOURCE_FIELDS = frozenset({"datastore_active", "last_modified"})
# dataset fields that are not content (not shown in a diff, not reviewed)
NON_CONTENT_FIELDS = frozenset({
    "metadata_modified", "metadata_created", "revision_id", "num_resources", "num_tags",
    "organization", "relationships_as_object", "relationships_as_subject", "creator_user_id",
    "state", "private", "type", "tracking_summary", *wf.GOVERNANCE_KEYS,
})
NON_CONTENT_RESOURCE_FIELDS = frozenset({
    "metadata_modified", "created", "position", "package_id", "state", "tracking_summary",
    *SYSTEM_RESOURCE_FIELDS,
})


# --- helpers -------------------------------------------------------------------

def _validate(data_dict: dict[str, Any], the_schema: dict[str, Any], context: Any) -> dict[str, Any]:
    data, errors = tk.navl_validate(data_dict, the_schema, context)
    if errors:
        raise tk.ValidationError(errors)
    return data


def _package(id_or_name: str, deleted_too: bool = False) -> model.Package:
    pkg = model.Package.get(id_or_name)
    if pkg is None or (pkg.state == "deleted" and not deleted_too):
        raise tk.ObjectNotFound(tk._("Dataset not found"))
    return pkg


def _org_id(id_or_name: str) -> str:
    group = model.Group.get(id_or_name)
    if group is None or not group.is_organization:
        raise tk.ObjectNotFound(tk._("Organization not found"))
    return group.id


def _actor(context: Any) -> model.User:
    user = wf.user_obj_of(context)
    if user is None:
        raise tk.NotAuthorized(tk._("You must be logged in."))
    return user


@contextlib.contextmanager
def _locked(pkg: model.Package) -> Iterator[DatasetGovernance]:
    """One transaction for a change of a dataset's governance.

    The governance row is locked (``SELECT ... FOR UPDATE``) until the commit,
    so transitions, access-class changes and edits of one dataset run one
    after another, each deciding on what the previous one committed. All the
    change does - state, CKAN's ``private`` flag, audit, pending edit, index
    marker - commits together at the end of the block, or nothing does."""
    try:
        status = wf.status_of(pkg)  # the values of a row that does not exist yet
        row = DatasetGovernance.lock(pkg.id, status.state, status.access_class)
        # whatever this session read before the lock may be stale now
        model.Session.expire_all()
        yield row
        model.repo.commit()
    except BaseException:
        model.Session.rollback()
        raise


def audit(pkg_id: str, actor: Optional[model.User], action: str, from_state: Optional[str],
          to_state: Optional[str], comment: Optional[str] = None,
          details: Optional[dict[str, Any]] = None) -> None:
    model.Session.add(AuditEntry(
        package_id=pkg_id, created=utcnow(), actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else None, action=action, from_state=from_state,
        to_state=to_state, comment=comment,
        details=json.dumps(details, sort_keys=True, default=str) if details else None,
    ))


def _set_visibility(pkg: model.Package, row: DatasetGovernance) -> None:
    """CKAN's ``private`` flag and the activities' labels follow the state, in
    the transition's transaction; the index follows after the commit
    (``indexing.mark`` here, ``indexing.after_commit`` there).

    The flag is set on the package object: the toolkit has no action that
    changes only ``private`` without re-validating the whole dataset, and a
    transition must not fail because an older dataset misses a newer field."""
    status = wf.Status(row.state, row.access_class)
    pkg.private = wf.private_flag(status)
    model.Session.add(pkg)
    model.Session.flush()
    if not wf.is_public(status) and p.plugin_loaded("activity"):
        # activities keep the labels of the moment they were created; when a
        # dataset goes out of public view, its older activities go with it
        from ckanext.activity.model import Activity
        labels = wf.dataset_labels(pkg)
        model.Session.query(Activity).filter(Activity.object_id == pkg.id).update(
            {Activity.permission_labels: labels}, synchronize_session=False)
    indexing.mark(pkg.id)


def _pending(pkg: model.Package) -> Optional[PendingEdit]:
    return (model.Session.query(PendingEdit).filter(PendingEdit.package_id == pkg.id)
            .populate_existing().one_or_none())


def _user(user_id: Optional[str]) -> Optional[model.User]:
    return model.User.get(user_id) if user_id else None


# --- workflow transitions -------------------------------------------------------

def _transition(action: str, context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    reason_required = any(t.reason_required for t in wf.TRANSITIONS if t.action == action)
    data = _validate(data_dict, schema.transition(reason_required), context)
    pkg = _package(data["id"])
    reason = data.get("reason")
    with _locked(pkg) as row:
        # under the lock: who may act depends on the state, which may have just changed
        tk.check_access(f"udp_{action}", context, data)
        actor = _actor(context)
        pending = _pending(pkg)
        if action in ("approve", "reject") and row.state in LIVE_STATES and pending is not None:
            decided = _decide_pending(pkg, row, pending, actor, approve=(action == "approve"),
                                      reason=reason)
        else:
            decided = None
            transition = wf.transition_for(action, row.state)
            if transition is None:
                raise tk.ValidationError({"state": [
                    tk._("The action \"{action}\" is not possible in state \"{state}\".").format(
                        action=action, state=row.state)]})
            source = row.state
            now = utcnow()
            row.state = transition.target
            row.modified = now
            if action == "submit":
                row.submitted_by = actor.id
                row.submitted_at = now
            if transition.target == PUBLISHED:
                row.published_at = now
            audit(pkg.id, actor, action, source, transition.target, reason)
            if pending is not None and transition.target not in LIVE_STATES:
                # a change proposed for the live version has nothing left to apply to
                model.Session.delete(pending)
                audit(pkg.id, actor, "discard_edit", transition.target, transition.target, None,
                      {"proposed_by": pending.proposed_by})
            _set_visibility(pkg, row)
            submitted_by = row.submitted_by
    indexing.after_commit(pkg.id)

    if decided is not None:
        author, approved = decided
        notify.decided(pkg, author, actor, approved, reason)
    elif action == "submit":
        notify.submitted(pkg, wf.reviewers_of(pkg.owner_org), actor, reason)
    elif action in ("approve", "reject"):
        notify.decided(pkg, _user(submitted_by), actor, action == "approve", reason)
    return governance_dict(pkg)


def udp_submit(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Submit a draft for review (draft -> in_review). ``id``, optional ``reason``."""
    return _transition("submit", context, data_dict)


def udp_approve(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Approve a submission (in_review -> published) or the pending edit of a
    published dataset (applied in one package_update). Four-eyes applies."""
    return _transition("approve", context, data_dict)


def udp_reject(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Reject a submission (in_review -> draft) or a pending edit; ``reason`` required."""
    return _transition("reject", context, data_dict)


def udp_withdraw(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Take a published or archived dataset offline (-> withdrawn); ``reason`` required."""
    return _transition("withdraw", context, data_dict)


def udp_archive(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Archive a published dataset (-> archived: findable, flagged, not in the catalog)."""
    return _transition("archive", context, data_dict)


def udp_restore(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """archived -> published (reviewers), withdrawn -> draft (editors)."""
    return _transition("restore", context, data_dict)


def udp_set_access_class(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Set the access class (open, internal, restricted) of a dataset."""
    data = _validate(data_dict, schema.set_access_class(), context)
    pkg = _package(data["id"])
    changed = False
    with _locked(pkg) as row:
        tk.check_access("udp_set_access_class", context, data)
        actor = _actor(context)
        old = row.access_class
        if old != data["access_class"]:
            changed = True
            row.access_class = data["access_class"]
            row.modified = utcnow()
            audit(pkg.id, actor, "set_access_class", row.state, row.state, data.get("reason"),
                  {"from_access_class": old, "to_access_class": row.access_class})
            _set_visibility(pkg, row)
    if changed:
        indexing.after_commit(pkg.id)
    return governance_dict(pkg)


def governance_dict(pkg: model.Package) -> dict[str, Any]:
    row = DatasetGovernance.get(pkg.id)
    status = wf.status_of(pkg)
    out: dict[str, Any] = row.as_dict() if row else {"state": status.state,
                                                     "access_class": status.access_class}
    out["id"] = pkg.id
    out["name"] = pkg.name
    out["private"] = pkg.private
    out["pending_edit"] = PendingEdit.get(pkg.id) is not None
    return out


@tk.side_effect_free
def udp_governance_show(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Workflow state, access class and pending-edit flag of a dataset."""
    data = _validate(data_dict, schema.dataset_id(), context)
    pkg = _package(data["id"])
    tk.check_access("udp_governance_show", context, {"id": pkg.id})
    out = governance_dict(pkg)
    if not (pkg.owner_org and wf.is_org_member(wf.user_obj_of(context), pkg.owner_org)):
        # who submitted and who edited is the organization's business
        for key in PEOPLE_KEYS:
            out.pop(key, None)
    return out


# fields of governance_dict that name people (organization members only)
PEOPLE_KEYS = ("submitted_by", "last_editor")


# --- pending edits of live datasets --------------------------------------------

def _norm(value: Any) -> Any:
    if value in (None, "", [], {}):
        return None
    return value


def _tags(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(t.get("name") if isinstance(t, dict) else t for t in value) or None
    return _norm(value)


def metadata_diff(live: dict[str, Any], proposed: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level differences between the live and the proposed dataset dict."""
    changes: list[dict[str, Any]] = []
    for key in sorted(set(live) | set(proposed)):
        if key in NON_CONTENT_FIELDS or key in ("resources", "id"):
            continue
        old, new = live.get(key), proposed.get(key)
        if key in ("tags", "groups"):
            old, new = _tags(old), _tags(new)
        if key == "extras":
            old = {e["key"]: e["value"] for e in old or []} or None
            new = {e["key"]: e["value"] for e in new or []} or None
        if _norm(old) != _norm(new):
            changes.append({"field": key, "old": old, "new": new})
    if "resources" in proposed:
        live_res = {r["id"]: r for r in live.get("resources") or []}
        seen = set()
        for i, res in enumerate(proposed.get("resources") or []):
            rid = res.get("id")
            old_res = live_res.get(rid) if rid else None
            if old_res is None:
                changes.append({"field": f"resources[{i}]", "old": None,
                                "new": res.get("name") or res.get("url")})
                continue
            seen.add(rid)
            for key in sorted(set(old_res) | set(res)):
                if key in NON_CONTENT_RESOURCE_FIELDS or key == "id":
                    continue
                if _norm(old_res.get(key)) != _norm(res.get(key)):
                    changes.append({"field": f"resources[{i}].{key}", "old": old_res.get(key),
                                    "new": res.get(key)})
        for rid, res in live_res.items():
            if rid not in seen:
                changes.append({"field": "resources", "old": res.get("name") or rid, "new": None})
    return changes


def _system_only_change(live: dict[str, Any], proposed: dict[str, Any]) -> bool:
    """True if proposed differs from live only in fields CKAN itself maintains.
    CKAN's ``state`` is not one of them: reviving a deleted dataset (or
    setting it to CKAN's draft) changes what the public sees."""
    if metadata_diff(live, proposed):
        return False
    return proposed.get("state", live.get("state")) == live.get("state")


def _propose_edit(up: Any, context: Any, pkg: model.Package, data_dict: dict[str, Any]) -> Any:
    """Called by the chained package_update, which holds the governance row's lock."""
    tk.check_access("package_update", context, data_dict)
    actor = _actor(context)
    live = tk.get_action("package_show")({"ignore_auth": True, wf.INTERNAL_CALL: True,
                                          "user": actor.name}, {"id": pkg.id})
    if _system_only_change(live, data_dict):
        return up(context, data_dict)
    # a file cannot wait for review (it would be stored before anyone approved
    # it); refused before validation, which cannot handle a file object either
    for res in data_dict.get("resources") or []:
        if res.get("upload") not in (None, "") and not isinstance(res.get("upload"), str):
            raise tk.ValidationError({"upload": [tk._(
                "Files cannot be uploaded to a published dataset while its change waits for "
                "review; link the file by URL, or withdraw the dataset first.")]})
    # validate now: a proposal that could never be applied is refused at once
    package_plugin = lookup_package_plugin(pkg.type)
    val_context = dict(context, package=pkg, session=model.Session)
    the_schema = context.get("schema") or package_plugin.update_package_schema()
    _, errors = plugin_validate(package_plugin, val_context, dict(data_dict), the_schema,
                                "package_update")
    if errors:
        raise tk.ValidationError(errors)
    proposal = {k: v for k, v in data_dict.items() if k not in wf.GOVERNANCE_KEYS}
    proposal["id"] = pkg.id
    row = DatasetGovernance.get(pkg.id)
    assert row is not None  # the chained package_update locked (and so created) it
    edit = _pending(pkg)
    if edit is None:
        edit = PendingEdit(package_id=pkg.id)
        model.Session.add(edit)
    edit.proposed = json.dumps(proposal, default=str)
    edit.proposed_by = actor.id
    edit.base_modified = live.get("metadata_modified")
    edit.base = json.dumps(live, default=str)
    edit.created = utcnow()
    changes = metadata_diff(live, proposal)
    audit(pkg.id, actor, "propose_edit", row.state, row.state, None,
          {"fields": [c["field"] for c in changes]})
    indexing.mark(pkg.id)  # the pending-edit flag in search results
    model.repo.commit()
    indexing.after_commit(pkg.id)
    notify.edit_proposed(pkg, wf.reviewers_of(pkg.owner_org), actor)
    context["udp_pending_edit"] = True
    if context.get("return_id_only"):
        return pkg.id
    return tk.get_action("package_show")(dict(context, ignore_auth=True), {"id": pkg.id})


def _created_after(resource: dict[str, Any], moment: Any) -> bool:
    import datetime as _dt

    try:
        created = _dt.datetime.fromisoformat(str(resource.get("created")))
    except ValueError:
        return False
    return moment is not None and created.replace(tzinfo=None) > moment.replace(tzinfo=None)


def changed_since_proposal(pending: PendingEdit, live: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed in the live dataset after the change was proposed: approving
    the proposal as it stands would undo it. Resources added since (harvests,
    sensor series) are not in it: approval keeps them."""
    base = pending.base_dict
    if base is None:  # proposed before the base was kept: only the version stamp tells
        if pending.base_modified == live.get("metadata_modified"):
            return []
        return [{"field": "metadata_modified", "old": pending.base_modified,
                 "new": live.get("metadata_modified")}]
    return [c for c in metadata_diff(base, live)
            if not (c["field"].startswith("resources[") and c["old"] is None)]


def _decide_pending(pkg: model.Package, row: DatasetGovernance, pending: PendingEdit,
                    actor: model.User, approve: bool,
                    reason: Optional[str]) -> tuple[Optional[model.User], bool]:
    """Apply or drop the pending edit, inside the transition's transaction.
    Returns (author, approved) for the mail after the commit."""
    live = tk.get_action("package_show")({"ignore_auth": True, wf.INTERNAL_CALL: True}, {"id": pkg.id})
    proposal = pending.proposed_dict
    changes = metadata_diff(live, proposal)
    if approve:
        stale = changed_since_proposal(pending, live)
        if stale:
            raise tk.ValidationError({"pending_edit": [tk._(
                "The published dataset has changed since this change was proposed ({fields}); "
                "approving it would undo that. Reject the change and ask for a new proposal "
                "based on the current version.").format(fields=", ".join(c["field"] for c in stale))]})
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
            if res["id"] not in proposed_ids and _created_after(res, pending.created):
                proposal.setdefault("resources", []).append(res)
        # in this transaction, indexed after its commit. CKAN 2.12's package_update
        # rolls its savepoint back under defer_commit unless return_id_only is set
        tk.get_action("package_update")(
            {"user": actor.name, "ignore_auth": True, wf.INTERNAL_CALL: True, "defer_commit": True,
             "return_id_only": True}, proposal)
    model.Session.delete(pending)
    row.modified = utcnow()
    row.last_editor = pending.proposed_by
    audit(pkg.id, actor, "apply_edit" if approve else "reject_edit", row.state, row.state, reason,
          {"proposed_by": pending.proposed_by, "changes": changes})
    indexing.mark(pkg.id)
    return _user(pending.proposed_by), approve


@tk.side_effect_free
def udp_pending_edit_show(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The pending edit of a live dataset with a field-level diff against the
    live version; ``changed_since_proposal`` lists what changed in the live
    version after the proposal (approval is refused then)."""
    data = _validate(data_dict, schema.dataset_id(), context)
    pkg = _package(data["id"])
    tk.check_access("udp_pending_edit_show", context, {"id": pkg.id})
    pending = PendingEdit.get(pkg.id)
    if pending is None:
        raise tk.ObjectNotFound(tk._("This dataset has no pending edit."))
    live = tk.get_action("package_show")({"ignore_auth": True, wf.INTERNAL_CALL: True}, {"id": pkg.id})
    proposer = _user(pending.proposed_by)
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


# --- chained core actions -------------------------------------------------------

def _check_governance_keys(data_dict: dict[str, Any], status: wf.Status, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    state = data_dict.get(wf.STATE_KEY)
    if state not in (None, "", status.state):
        errors[wf.STATE_KEY] = [tk._(
            "The workflow state cannot be set with package_create or package_update; "
            "use the workflow actions (udp_submit, udp_approve, udp_reject, udp_withdraw, "
            "udp_archive, udp_restore).")]
    access = data_dict.get(wf.ACCESS_KEY)
    if creating:
        if access not in (None, "") and access not in ACCESS_CLASSES:
            errors[wf.ACCESS_KEY] = [tk._("Access class must be one of: {values}").format(
                values=", ".join(ACCESS_CLASSES))]
    elif access not in (None, "", status.access_class):
        errors[wf.ACCESS_KEY] = [tk._(
            "The access class cannot be changed with package_update; use udp_set_access_class.")]
    if errors:
        raise tk.ValidationError(errors)


def _registered_type(package_type: Optional[str]) -> bool:
    """Whether a plugin (scheming, harvest, ...) registers this dataset type.
    CKAN itself accepts any type string and gives unknown ones the default form."""
    from ckan.lib.plugins import lookup_package_plugin  # no toolkit equivalent

    if not package_type:
        return True
    return lookup_package_plugin(package_type) is not lookup_package_plugin()


def _outside_workflow(context: Any, data_dict: dict[str, Any], pkg: Optional[model.Package]) -> None:
    """Dataset types outside the workflow (harvest sources) are never public:
    nobody reviewed them. A harvest source that publishes is the reviewers'."""
    if data_dict.get("owner_org") or (pkg is not None and pkg.owner_org):
        data_dict["private"] = True
    if (data_dict.get("type") or (pkg.type if pkg is not None else None)) == harvest.SOURCE_TYPE:
        harvest.check_source(context, data_dict, pkg)


@tk.chained_action
def package_create(up: Any, context: Any, data_dict: dict[str, Any]) -> Any:
    if not wf.governed(data_dict.get("type")):
        if not context.get("ignore_auth") and not _registered_type(data_dict.get("type")):
            # an invented type would bypass review, schema and validators
            raise tk.ValidationError({"type": [tk._("Unknown dataset type: {type}").format(
                type=data_dict.get("type"))]})
        data_dict = dict(data_dict)
        guards.strip_relationships(context, data_dict, None)
        _outside_workflow(context, data_dict, None)
        created = up(context, data_dict)
        harvest.record_approval(context, model.Package.get(
            created if isinstance(created, str) else created["id"]))
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
    access = data_dict.get(wf.ACCESS_KEY) or context.get("udp_initial_access_class")
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
def package_update(up: Any, context: Any, data_dict: dict[str, Any]) -> Any:
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
        return _propose_edit(up, context, pkg, data_dict)
    return up(context, data_dict)


def _revive_as_draft(context: Any, pkg: model.Package) -> None:
    """A deleted dataset that a user brings back returns as a draft: whatever
    it was before, it goes through review again to be seen."""
    current = wf.status_of(pkg)
    row = DatasetGovernance.lock(pkg.id, current.state, current.access_class)
    source = row.state
    row.state, row.modified = DRAFT, utcnow()
    audit(pkg.id, wf.user_obj_of(context), "revive", source, DRAFT)
    _set_visibility(pkg, row)  # its older activities leave public view too


@tk.chained_action
def resource_create(up: Any, context: Any, data_dict: dict[str, Any]) -> Any:
    """On a live dataset a new resource is a change for review like any other:
    it goes into the pending edit, and the proposed resource is returned."""
    pkg = model.Package.get(data_dict.get("package_id") or "")
    if (pkg is None or not wf.governed(pkg.type) or context.get("ignore_auth") or context.get(wf.INTERNAL_CALL)
            or wf.status_of(pkg).state not in LIVE_STATES):
        return up(context, data_dict)
    tk.check_access("resource_create", context, data_dict)
    pkg_dict = tk.get_action("package_show")(dict(context, for_update=True), {"id": pkg.id})
    pkg_dict["resources"] = list(pkg_dict.get("resources") or []) + [dict(data_dict)]
    tk.get_action("package_update")(context, pkg_dict)
    return dict(data_dict, udp_pending_edit=True)


@tk.chained_action
def datastore_create(up: Any, context: Any, data_dict: dict[str, Any]) -> Any:
    """A new DataStore table *with a new resource* on a live dataset would need
    the resource first, and a steward's new resource waits for review: refuse
    with a clear message instead of failing on the resource that has no id yet."""
    new_resource = data_dict.get("resource")
    if data_dict.get("resource_id"):
        guards.table_change(context, data_dict["resource_id"])
    if isinstance(new_resource, dict) and not (context.get("ignore_auth") or context.get(wf.INTERNAL_CALL)):
        pkg = model.Package.get(new_resource.get("package_id") or "")
        if pkg is not None and wf.governed(pkg.type) and wf.status_of(pkg).state in LIVE_STATES:
            raise tk.ValidationError({"resource": [tk._(
                "A new table cannot be added to a published dataset directly: add the resource as a "
                "change for review first, then load its table.")]})
    return up(context, data_dict)


@tk.chained_action
@tk.side_effect_free
def member_list(up: Any, context: Any, data_dict: dict[str, Any]) -> Any:
    """CKAN lists every dataset of an organization here, drafts included, to
    anyone; keep only the datasets the caller may see (the same labels as
    package_show)."""
    members = up(context, data_dict)
    user = wf.user_obj_of(context)
    if wf.is_sysadmin(user):
        return members
    from ckan.lib.plugins import get_permission_labels
    labels = set(get_permission_labels().get_user_dataset_labels(user))  # type: ignore[arg-type]
    visible = []
    for member in members:
        if member[1] == "package":
            pkg = model.Package.get(member[0])
            if pkg is None or not labels.intersection(wf.dataset_labels(pkg)):
                continue
        visible.append(member)
    return visible


# --- reviewers and organization settings ----------------------------------------

def _reviewer_target(action: str, context: Any, data_dict: dict[str, Any]) -> tuple[str, model.User]:
    data = _validate(data_dict, schema.reviewer(), context)
    org_id = _org_id(data["organization_id"])
    tk.check_access(action, context, {"organization_id": org_id})
    user = model.User.get(data["user"])
    assert user is not None  # the schema checked that the user exists
    return org_id, user


def udp_reviewer_add(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Designate a member of an organization as reviewer (``organization_id``, ``user``)."""
    org_id, user = _reviewer_target("udp_reviewer_add", context, data_dict)
    if not wf.is_org_member(user, org_id):
        raise tk.ValidationError({"user": [tk._(
            "Only members of the organization can be designated as reviewers.")]})
    if model.Session.get(Reviewer, (org_id, user.id)) is None:
        model.Session.add(Reviewer(organization_id=org_id, user_id=user.id, created=utcnow()))
        model.repo.commit()
    return {"organization_id": org_id, "user_id": user.id, "user": user.name}


def udp_reviewer_remove(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Remove a designated reviewer (org admins stay reviewers by their role)."""
    org_id, user = _reviewer_target("udp_reviewer_remove", context, data_dict)
    row = model.Session.get(Reviewer, (org_id, user.id))
    if row is None:
        raise tk.ObjectNotFound(tk._("This user is not a designated reviewer of the organization."))
    model.Session.delete(row)
    model.repo.commit()
    return {"organization_id": org_id, "user_id": user.id, "user": user.name}


@tk.side_effect_free
def udp_reviewer_list(context: Any, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """Reviewers of an organization: its admins and its designated reviewers."""
    data = _validate(data_dict, schema.organization(), context)
    org_id = _org_id(data["organization_id"])
    tk.check_access("udp_reviewer_list", context, {"organization_id": org_id})
    designated = set(wf.designated_reviewer_ids(org_id))
    return [{"user_id": u.id, "user": u.name,
             "designated": u.id in designated, "admin": wf.is_org_admin(u, org_id)}
            for u in sorted(wf.reviewers_of(org_id), key=lambda u: u.name)]


def udp_org_settings_update(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Governance settings of an organization (``four_eyes``: bool). Sysadmins only."""
    data = _validate(data_dict, schema.org_settings(), context)
    org_id = _org_id(data["organization_id"])
    tk.check_access("udp_org_settings_update", context, {"organization_id": org_id})
    row = model.Session.get(OrgSetting, org_id)
    if row is None:
        row = OrgSetting(organization_id=org_id)
        model.Session.add(row)
    row.four_eyes = bool(data["four_eyes"])
    row.modified = utcnow()
    model.repo.commit()
    return {"organization_id": org_id, "four_eyes": row.four_eyes}


@tk.side_effect_free
def udp_org_settings_show(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    data = _validate(data_dict, schema.organization(), context)
    org_id = _org_id(data["organization_id"])
    tk.check_access("udp_org_settings_show", context, {"organization_id": org_id})
    return {"organization_id": org_id, "four_eyes": wf.four_eyes_enabled(org_id)}


# --- audit trail -----------------------------------------------------------------

AUDIT_COLUMNS = ("created", "package_id", "action", "from_state", "to_state",
                 "actor_name", "actor_id", "comment", "details")
# a cell starting with one of these is a formula to spreadsheet programs
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets show as text: a leading ' defuses formulas
    (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _audit_rows(pkg: model.Package) -> list[AuditEntry]:
    return (model.Session.query(AuditEntry).filter(AuditEntry.package_id == pkg.id)
            .order_by(AuditEntry.created, AuditEntry.id).all())


@tk.side_effect_free
def udp_audit_list(context: Any, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit trail of a dataset (organization members only), oldest first;
    deleted datasets keep theirs."""
    data = _validate(data_dict, schema.dataset_id(), context)
    pkg = _package(data["id"], deleted_too=True)
    tk.check_access("udp_audit_list", context, {"id": pkg.id})
    return [e.as_dict() for e in _audit_rows(pkg)]


@tk.side_effect_free
def udp_audit_export(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The audit trail of a dataset as CSV: ``{"filename", "content_type", "csv"}``."""
    data = _validate(data_dict, schema.dataset_id(), context)
    pkg = _package(data["id"], deleted_too=True)
    tk.check_access("udp_audit_export", context, {"id": pkg.id})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in _audit_rows(pkg):
        d = entry.as_dict()
        writer.writerow([
            csv_cell(json.dumps(d[c], sort_keys=True, ensure_ascii=False) if c == "details" and d[c]
                     else d[c]) for c in AUDIT_COLUMNS])
    return {"filename": f"audit-{pkg.name}.csv", "content_type": "text/csv; charset=utf-8",
            "csv": out.getvalue()}


# --- steward queues --------------------------------------------------------------

def _item(pkg: model.Package, row: DatasetGovernance, pending: bool = False) -> dict[str, Any]:
    return {"id": pkg.id, "name": pkg.name, "title": pkg.title or pkg.name,
            "owner_org": pkg.owner_org, "state": row.state, "access_class": row.access_class,
            "pending_edit": pending, "modified": row.modified.isoformat(),
            "published_at": row.published_at.isoformat() if row.published_at else None,
            # stage 1 of the form saved, no data added yet (CKAN's own "draft" state)
            "incomplete": pkg.state == "draft",
            "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None}


def last_rejections(package_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each dataset whose latest workflow transition was a rejection: the
    reason, who rejected it and when."""
    if not package_ids:
        return {}
    transitions = [t.action for t in wf.TRANSITIONS]
    rows = (model.Session.query(AuditEntry)
            .filter(AuditEntry.package_id.in_(package_ids), AuditEntry.action.in_(transitions))
            .order_by(AuditEntry.package_id, AuditEntry.created.desc(), AuditEntry.id.desc())
            .distinct(AuditEntry.package_id))
    return {e.package_id: {"reason": e.comment, "by": e.actor_name, "at": e.as_dict()["created"]}
            for e in rows if e.action == "reject"}


@tk.side_effect_free
def udp_steward_queues(context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The logged-in user's queues, each with a count: ``my_drafts`` (rejected
    ones first, with ``rejection``: reason, by, at; unfinished ones flagged
    ``incomplete``), ``my_in_review`` (submitted, waiting for a reviewer),
    ``to_review`` (submissions and pending edits the user may approve),
    ``recently_published``."""
    data = _validate(data_dict, schema.queues(), context)
    limit = min(int(data.get("limit") or 20), 100)
    tk.check_access("udp_steward_queues", context, data)
    user = _actor(context)
    orgs = tk.get_action("organization_list_for_user")(
        {"user": user.name}, {"permission": "read"})
    org_ids = [o["id"] for o in orgs]
    joined = (model.Session.query(model.Package, DatasetGovernance)
              .join(DatasetGovernance, DatasetGovernance.package_id == model.Package.id)
              .filter(model.Package.owner_org.in_(org_ids)))
    base = joined.filter(model.Package.state == "active")
    mine = (model.Package.creator_user_id == user.id) | (DatasetGovernance.last_editor == user.id)

    drafts = joined.filter(model.Package.state.in_(("active", "draft")), DatasetGovernance.state == DRAFT) \
        .filter(mine).order_by(DatasetGovernance.modified.desc())
    draft_rows = drafts.limit(limit).all()
    rejected = last_rejections([pkg.id for pkg, _row in draft_rows])
    draft_items = []
    for pkg, row in draft_rows:
        item = _item(pkg, row)
        item["rejection"] = rejected.get(pkg.id)
        draft_items.append(item)
    draft_items.sort(key=lambda i: i["rejection"] is None)  # rejected ones on top

    my_in_review = base.filter(DatasetGovernance.state == IN_REVIEW) \
        .filter(mine | (DatasetGovernance.submitted_by == user.id)) \
        .order_by(DatasetGovernance.submitted_at.desc())

    review_orgs = [o for o in org_ids if wf.is_reviewer(user, o)]
    to_review: list[dict[str, Any]] = []
    in_review = base.filter(DatasetGovernance.state == IN_REVIEW,
                            model.Package.owner_org.in_(review_orgs)) \
        .order_by(DatasetGovernance.submitted_at)
    for pkg, row in in_review:
        if wf.four_eyes_enabled(pkg.owner_org) and user.id in (row.submitted_by, row.last_editor):
            continue
        to_review.append(_item(pkg, row))
    pending = (base.join(PendingEdit, PendingEdit.package_id == model.Package.id)
               .filter(model.Package.owner_org.in_(review_orgs))
               .add_columns(PendingEdit.proposed_by).order_by(PendingEdit.created))
    for pkg, row, proposed_by in pending:
        if wf.four_eyes_enabled(pkg.owner_org) and user.id == proposed_by:
            continue
        to_review.append(_item(pkg, row, pending=True))

    published = base.filter(DatasetGovernance.state == PUBLISHED,
                            DatasetGovernance.published_at.isnot(None)) \
        .order_by(DatasetGovernance.published_at.desc())
    return {
        "my_drafts": {"count": drafts.count(), "items": draft_items},
        "my_in_review": {"count": my_in_review.count(),
                         "items": [_item(pk, r) for pk, r in my_in_review.limit(limit)]},
        "to_review": {"count": len(to_review), "items": to_review[:limit]},
        "recently_published": {"count": published.count(),
                               "items": [_item(pk, r) for pk, r in published.limit(limit)]},
    }


__all__ = [
    "package_create", "package_update", "resource_create", "datastore_create", "member_list",
    "udp_submit", "udp_approve", "udp_reject", "udp_withdraw", "udp_archive", "udp_restore",
    "udp_set_access_class", "udp_governance_show", "udp_pending_edit_show",
    "udp_reviewer_add", "udp_reviewer_remove", "udp_reviewer_list",
    "udp_org_settings_update", "udp_org_settings_show",
    "udp_audit_list", "udp_audit_export", "udp_steward_queues",
]
