"""The transactional outbox: every committed change of a dataset leaves a row.

A listener on CKAN's session notes, at each flush, which datasets the flush
touches (the dataset itself, its resources, and any plugin row keyed by
``package_id``, such as the governance plugin's workflow state) and writes one
outbox row per dataset and transaction on the same connection. The rows commit
with the change or roll back with it; a workflow transition, which changes no
CKAN field of a dataset that stays out of public view, is noted all the same.

The row carries only the dataset's id: the worker reads the dataset as it is
when it delivers, so a pending edit (not yet applied) never travels and a later
withdrawal always wins over an earlier publication.
"""

from __future__ import annotations

import itertools
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy import event

from ckanext.udp.transparency.model import outbox, utcnow

_SEEN = "udp_transparency_seen"
_installed = False
active = False  # set by the plugin while it is loaded


def enabled() -> bool:
    return active and bool(tk.config.get("ckanext.udp.transparency.url"))


def _touched(session: Any) -> set[str]:
    ids: set[str] = set()
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, model.Package):
            if obj.id and (obj in session.new or obj in session.deleted or session.is_modified(obj)):
                ids.add(obj.id)
            continue
        package_id = getattr(obj, "package_id", None)
        if isinstance(package_id, str) and package_id:
            ids.add(package_id)
    return ids


def _after_flush(session: Any, _flush_context: Any) -> None:
    if not enabled():
        return
    seen: set[str] = session.info.setdefault(_SEEN, set())
    new = _touched(session) - seen
    if not new:
        return
    now = utcnow()
    session.connection().execute(
        outbox.insert(),
        [{"package_id": pid, "created": now, "attempts": 0, "next_attempt": now} for pid in sorted(new)],
    )
    seen.update(new)


def _forget(session: Any, *_args: Any) -> None:
    session.info.pop(_SEEN, None)


def install() -> None:
    """Listen on CKAN's session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(model.Session, "after_flush", _after_flush)
    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        event.listen(model.Session, name, _forget)
    _installed = True


def enqueue(package_ids: list[str]) -> int:
    """Outbox rows for these datasets (``sync``), committed by the caller."""
    now = utcnow()
    if package_ids:
        model.Session.execute(
            outbox.insert(),
            [{"package_id": pid, "created": now, "attempts": 0, "next_attempt": now} for pid in package_ids],
        )
    return len(package_ids)


def pending() -> int:
    return model.Session.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
