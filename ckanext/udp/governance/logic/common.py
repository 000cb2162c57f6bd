"""What the governance actions share: looking up their objects, the locked
transaction of a governance change, and CKAN's visibility following it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.governance import indexing
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import DatasetGovernance, PendingEdit

# fields of governance_dict that name people (organization members only)
PEOPLE_KEYS = ("submitted_by", "last_editor")


def package_or_404(id_or_name: str, deleted_too: bool = False) -> model.Package:
    pkg = model.Package.get(id_or_name)
    if pkg is None or (pkg.state == "deleted" and not deleted_too):
        raise tk.ObjectNotFound(tk._("Dataset not found"))
    return pkg


def org_id_or_404(id_or_name: str) -> str:
    group = model.Group.get(id_or_name)
    if group is None or not group.is_organization:
        raise tk.ObjectNotFound(tk._("Organization not found"))
    return group.id


def actor(context: Context) -> model.User:
    """The logged-in user of the call; anonymous callers are refused."""
    user = wf.user_obj_of(context)
    if user is None:
        raise tk.NotAuthorized(tk._("You must be logged in."))
    return user


def user_or_none(user_id: str | None) -> model.User | None:
    return model.User.get(user_id) if user_id else None


def pending_of(pkg: model.Package) -> PendingEdit | None:
    """The pending edit of the dataset, read fresh from the database."""
    return model.Session.query(PendingEdit).filter(PendingEdit.package_id == pkg.id).populate_existing().one_or_none()


@contextlib.contextmanager
def locked(pkg: model.Package) -> Iterator[DatasetGovernance]:
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


def set_visibility(pkg: model.Package, row: DatasetGovernance) -> None:
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
    if not wf.is_public(status):
        # activities keep the labels of the moment they were created; when a
        # dataset goes out of public view, its older activities go with it, to
        # its organization only (internal: not its draft history to all staff)
        compat.relabel_activities(pkg.id, [x for x in wf.dataset_labels(pkg) if x != wf.INTERNAL_LABEL])
    indexing.mark(pkg.id)


def governance_dict(pkg: model.Package) -> dict[str, Any]:
    row = DatasetGovernance.get(pkg.id)
    status = wf.status_of(pkg)
    out: dict[str, Any] = row.as_dict() if row else {"state": status.state, "access_class": status.access_class}
    out["id"] = pkg.id
    out["name"] = pkg.name
    out["private"] = pkg.private
    out["pending_edit"] = PendingEdit.get(pkg.id) is not None
    return out
