"""The state machine, roles and visibility rules of udp_governance.

Everything that decides who sees a dataset is derived here from (workflow
state, access class, owning organization): the permission labels that CKAN
indexes in Solr and checks in ``package_show`` auth, and CKAN's own
``private`` flag, which is kept True unless the dataset is published + open so
that every channel that looks only at ``private`` agrees.
"""

from __future__ import annotations

import dataclasses

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.governance.model import (
    ACCESS_CLASSES,
    ARCHIVED,
    DRAFT,
    IN_REVIEW,
    INTERNAL,
    OPEN,
    PUBLISHED,
    STATES,
    WITHDRAWN,
    DatasetGovernance,
    OrgSetting,
    Reviewer,
)

# keys under which the state shows in dataset dicts and the Solr index
STATE_KEY = "udp_workflow_state"
ACCESS_KEY = "udp_access_class"
PENDING_KEY = "udp_pending_edit"
GOVERNANCE_KEYS = (STATE_KEY, ACCESS_KEY, PENDING_KEY)

# context flag of the plugin's own calls into package_update/package_patch
INTERNAL_CALL = "udp_governance_internal"

INTERNAL_LABEL = "udp-internal"

EDITOR = "editor"
REVIEWER = "reviewer"


@dataclasses.dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    role: str  # who may do it: EDITOR or REVIEWER (sysadmins may do all)
    reason_required: bool
    four_eyes: bool = False


# The transition table (restore has two rows: its target depends on the source).
TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", (DRAFT,), IN_REVIEW, EDITOR, False),
    Transition("approve", (IN_REVIEW,), PUBLISHED, REVIEWER, False, four_eyes=True),
    Transition("reject", (IN_REVIEW,), DRAFT, REVIEWER, True),
    Transition("withdraw", (PUBLISHED, ARCHIVED), WITHDRAWN, EDITOR, True),
    Transition("archive", (PUBLISHED,), ARCHIVED, REVIEWER, False),
    Transition("restore", (ARCHIVED,), PUBLISHED, REVIEWER, False),
    Transition("restore", (WITHDRAWN,), DRAFT, EDITOR, False),
)
ACTIONS = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


def transition_for(action: str, state: str) -> Transition | None:
    for t in TRANSITIONS:
        if t.action == action and state in t.sources:
            return t
    return None


def four_eyes_applies(action: str) -> bool:
    """Whether the four-eyes rule holds for the action (the table's flag)."""
    return any(t.four_eyes for t in TRANSITIONS if t.action == action)


def governed(package_type: str | None) -> bool:
    """Whether datasets of this type go through the workflow (harvest sources,
    showcases etc. keep CKAN's own rules)."""
    types = tk.aslist(tk.config.get("ckanext.udp.governance.dataset_types"))
    return (package_type or "dataset") in types


def default_access_class() -> str:
    value = tk.config.get("ckanext.udp.governance.default_access_class")
    return value if value in ACCESS_CLASSES else OPEN


@dataclasses.dataclass(frozen=True)
class Status:
    state: str
    access_class: str


def status_of(pkg: model.Package) -> Status:
    """State and access class of a dataset. A dataset without a governance row
    (created before the plugin was enabled) counts as published if CKAN has it
    public and as a draft if CKAN has it private."""
    row = DatasetGovernance.get(pkg.id)
    if row is not None:
        return Status(row.state, row.access_class)
    return Status(DRAFT if pkg.private else PUBLISHED, OPEN)


def is_public(status: Status) -> bool:
    return status.state == PUBLISHED and status.access_class == OPEN


def private_flag(status: Status) -> bool:
    """CKAN's ``private``: True for everything that is not published + open."""
    return not is_public(status)


def dataset_labels(pkg: model.Package) -> list[str]:
    if not governed(pkg.type):
        return compat.default_dataset_labels(pkg)
    if not pkg.owner_org or pkg.state != "active":
        # unowned or CKAN-draft/deleted: CKAN's own rules (no public label for
        # non-active datasets there either)
        base = [f"member-{pkg.owner_org}"] if pkg.owner_org else [f"creator-{pkg.creator_user_id}"]
        if pkg.state == "active" and not pkg.private and not pkg.owner_org:
            return ["public"]
        return base
    status = status_of(pkg)
    member = f"member-{pkg.owner_org}"
    if status.state == PUBLISHED:
        if status.access_class == OPEN:
            return ["public"]
        if status.access_class == INTERNAL:
            return [INTERNAL_LABEL, member]
        return [member]
    if status.state == ARCHIVED and status.access_class in (OPEN, INTERNAL):
        # archived: findable (as archived) by staff, never public
        return [INTERNAL_LABEL, member]
    return [member]


def user_labels(base: list[str], user_obj: model.User | None) -> list[str]:
    labels = list(base)
    if user_obj is not None and not user_obj.is_anonymous and user_obj.state == "active":
        labels.append(INTERNAL_LABEL)
    return labels


# --- roles -------------------------------------------------------------------


def user_obj_of(context: Context) -> model.User | None:
    obj = context.get("auth_user_obj")
    if isinstance(obj, model.User):
        return obj
    name = context.get("user")
    return model.User.get(name) if name else None


def is_sysadmin(user: model.User | None) -> bool:
    return bool(user is not None and user.sysadmin and user.state == "active")


def is_org_admin(user: model.User | None, org_id: str) -> bool:
    if user is None:
        return False
    return compat.org_role(org_id, user.name) == "admin"


def is_org_member(user: model.User | None, org_id: str) -> bool:
    if user is None:
        return False
    return is_sysadmin(user) or compat.org_role(org_id, user.name) is not None


def is_editor(user: model.User | None, org_id: str) -> bool:
    if user is None:
        return False
    return is_sysadmin(user) or compat.has_org_permission(org_id, user.name, "update_dataset")


def designated_reviewer_ids(org_id: str) -> list[str]:
    rows = model.Session.query(Reviewer.user_id).filter(Reviewer.organization_id == org_id)
    return [r[0] for r in rows]


def is_reviewer(user: model.User | None, org_id: str) -> bool:
    if user is None:
        return False
    if is_sysadmin(user) or is_org_admin(user, org_id):
        return True
    return model.Session.get(Reviewer, (org_id, user.id)) is not None and is_org_member(user, org_id)


def reviewers_of(org_id: str) -> list[model.User]:
    """Organization admins and designated reviewers (active users)."""
    ids = set(designated_reviewer_ids(org_id))
    admins = model.Session.query(model.Member.table_id).filter(
        model.Member.group_id == org_id,
        model.Member.table_name == "user",
        model.Member.capacity == "admin",
        model.Member.state == "active",
    )
    ids.update(r[0] for r in admins)
    users = model.Session.query(model.User).filter(model.User.id.in_(ids)) if ids else []
    return [u for u in users if u.state == "active" and is_reviewer(u, org_id)]


def four_eyes_enabled(org_id: str) -> bool:
    row = model.Session.get(OrgSetting, org_id)
    if row is not None:
        return bool(row.four_eyes)
    return tk.asbool(tk.config.get("ckanext.udp.governance.four_eyes_default"))


__all__ = [
    "ACCESS_CLASSES",
    "ACTIONS",
    "ARCHIVED",
    "DRAFT",
    "IN_REVIEW",
    "PUBLISHED",
    "STATES",
    "WITHDRAWN",
    "TRANSITIONS",
    "Transition",
    "Status",
]
