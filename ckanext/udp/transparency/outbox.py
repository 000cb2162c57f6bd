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

from typing import Any

import ckan.model as model
import sqlalchemy as sa

from ckanext.udp import compat
from ckanext.udp.transparency.model import mapping, outbox, utcnow
from ckanext.udp.transparency.portal import configured_url

_SEEN = "udp_transparency_seen"
CHANNEL = "udp_transparency"  # PostgreSQL NOTIFY channel: a change waits in the outbox
_installed = False
active = False  # set by the plugin while it is loaded


def enabled() -> bool:
    return active and bool(configured_url())


def _concerned(session: Any) -> set[str]:
    """The datasets of this flush whose change may concern the portal: those
    public now (after the flush, in this transaction), those that left public
    view in it, and those the portal may hold a copy of. A draft's edits, new
    drafts and everything else stay out of the outbox; a flush that touches no
    dataset costs no query."""
    flushed = compat.flushed_datasets(session)
    candidates = {pid for pid in flushed.touched if not compat.waits_for_commit((_SEEN, pid), session)}
    if not candidates:
        return set()
    conn = session.connection()
    concerned = set(compat.public_dataset_ids(conn, sorted(candidates))) | (flushed.left_view & candidates)
    rest = candidates - concerned
    if rest:
        live = sa.select(mapping.c.package_id).where(mapping.c.live, mapping.c.package_id.in_(sorted(rest)))
        concerned |= set(conn.execute(live).scalars())
    return concerned


def _after_flush(session: Any, _flush_context: Any) -> None:
    if not enabled():
        return
    new = _concerned(session)
    if not new:
        return
    now = utcnow()
    session.connection().execute(
        outbox.insert(),
        [{"package_id": pid, "created": now, "attempts": 0, "next_attempt": now} for pid in sorted(new)],
    )
    # the worker LISTENs: PostgreSQL delivers this at commit (never on rollback)
    session.connection().execute(sa.text(f"NOTIFY {CHANNEL}"))
    for pid in new:  # one row per dataset and transaction (a rolled-back savepoint takes its rows and notes)
        compat.after_commit((_SEEN, pid), session=session)


def install() -> None:
    """Listen on CKAN's session (once per process)."""
    global _installed
    if _installed:
        return
    compat.listen_session("after_flush", _after_flush)
    _installed = True


def enqueue(package_ids: list[str]) -> int:
    """Outbox rows for these datasets (``sync``), committed by the caller."""
    now = utcnow()
    if package_ids:
        model.Session.execute(
            outbox.insert(),
            [{"package_id": pid, "created": now, "attempts": 0, "next_attempt": now} for pid in package_ids],
        )
        model.Session.execute(sa.text(f"NOTIFY {CHANNEL}"))
    return len(package_ids)


def pending() -> int:
    return model.Session.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()


def release(package_id: str) -> None:
    """This dataset's rows are due now (after a sysadmin brought it in step)."""
    now = utcnow()
    model.Session.execute(outbox.update().where(outbox.c.package_id == package_id).values(attempts=0, next_attempt=now))
    model.Session.execute(sa.text(f"NOTIFY {CHANNEL}"))


def next_due() -> float | None:
    """Seconds until the earliest outbox row is due (0: now), None when empty."""
    first = model.Session.execute(sa.select(sa.func.min(outbox.c.next_attempt))).scalar()
    if first is None:
        return None
    return max((first - utcnow()).total_seconds(), 0.0)
