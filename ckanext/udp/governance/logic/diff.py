"""The field-level diff between two versions of a dataset dict: what a pending
edit changes, and what changed in the live version since it was proposed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import PendingEdit

# resource fields that CKAN's own machinery (DataStore) sets on live datasets;
# a change to only these is not an edit that needs review
SYSTEM_RESOURCE_FIELDS = frozenset({"datastore_active", "last_modified"})
# dataset fields that are not content (not shown in a diff, not reviewed)
NON_CONTENT_FIELDS = frozenset(
    {
        "metadata_modified",
        "metadata_created",
        "revision_id",
        "num_resources",
        "num_tags",
        "organization",
        "relationships_as_object",
        "relationships_as_subject",
        "creator_user_id",
        "state",
        "private",
        "type",
        "tracking_summary",
        *wf.GOVERNANCE_KEYS,
    }
)
NON_CONTENT_RESOURCE_FIELDS = frozenset(
    {
        "metadata_modified",
        "created",
        "position",
        "package_id",
        "state",
        "tracking_summary",
        *SYSTEM_RESOURCE_FIELDS,
    }
)


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
                changes.append({"field": f"resources[{i}]", "old": None, "new": res.get("name") or res.get("url")})
                continue
            seen.add(rid)
            for key in sorted(set(old_res) | set(res)):
                if key in NON_CONTENT_RESOURCE_FIELDS or key == "id":
                    continue
                if _norm(old_res.get(key)) != _norm(res.get(key)):
                    changes.append({"field": f"resources[{i}].{key}", "old": old_res.get(key), "new": res.get(key)})
        for rid, res in live_res.items():
            if rid not in seen:
                changes.append({"field": "resources", "old": res.get("name") or rid, "new": None})
    return changes


def system_only_change(live: dict[str, Any], proposed: dict[str, Any]) -> bool:
    """True if proposed differs from live only in fields CKAN itself maintains.
    CKAN's ``state`` is not one of them: reviving a deleted dataset (or
    setting it to CKAN's draft) changes what the public sees."""
    if metadata_diff(live, proposed):
        return False
    return proposed.get("state", live.get("state")) == live.get("state")


def created_after(resource: dict[str, Any], moment: Any) -> bool:
    try:
        created = dt.datetime.fromisoformat(str(resource.get("created")))
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
        return [{"field": "metadata_modified", "old": pending.base_modified, "new": live.get("metadata_modified")}]
    return [c for c in metadata_diff(base, live) if not (c["field"].startswith("resources[") and c["old"] is None)]
