"""Solr after a workflow transition: commit first, index after, repair what failed.

A transition writes the governance row, CKAN's ``private`` flag, the audit
entry and an *index marker* in one transaction. After the commit the dataset
is re-indexed and its marker removed. If Solr is down or refuses, the marker
stays: a background job retries once Solr answers, every later successful
index after a transition repairs a few markers left over, and
``ckan udp governance reindex-pending`` (cron) repairs them all. The database
is the truth; the index follows it, never the other way round.

A marker carries a token: an index run removes the marker only if no newer
transition has marked the dataset again in the meantime (that one's own run,
or the repair, indexes the newer state).
"""

from __future__ import annotations

import logging
import uuid

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from ckanext.udp import compat
from ckanext.udp.governance.model import IndexPending, utcnow

log = logging.getLogger(__name__)

#: markers repaired on the side after a successful index (the rest: job, cron)
PIGGYBACK = 20


def mark(package_id: str) -> None:
    """Record, inside the transition's transaction, that the dataset's index
    entry must follow what this transaction commits."""
    stmt = insert(IndexPending).values(package_id=package_id, token=uuid.uuid4().hex, marked_at=utcnow(), attempts=0)
    model.Session.execute(
        stmt.on_conflict_do_update(
            index_elements=[IndexPending.package_id],
            set_={"token": stmt.excluded.token, "marked_at": stmt.excluded.marked_at},
        )
    )


def pending_ids(limit: int | None = None) -> list[str]:
    query = model.Session.query(IndexPending.package_id).order_by(IndexPending.marked_at)
    if limit:
        query = query.limit(limit)
    return [r[0] for r in query]


def sync(package_id: str) -> bool:
    """Index the dataset as the database has it now and drop its marker.
    Returns False (marker kept, error noted) if Solr failed."""
    model.Session.commit()  # index what is committed, from a fresh transaction
    # One index run of a dataset at a time (a transaction-level advisory lock, held
    # until the marker is dropped): a run reads the dataset only after the previous
    # run has written to Solr, so the last write is always of the newest state.
    # Without it, two transitions at once could index in the wrong order: the run
    # of the older state reading before, and writing after, the run of the newer.
    model.Session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"udp_governance:index:{package_id}")))
    )
    # the session keeps what it loaded across commits (expire_on_commit=False): read anew
    model.Session.expire_all()
    token = model.Session.execute(sa.select(IndexPending.token).where(IndexPending.package_id == package_id)).scalar()
    if token is None:
        model.Session.commit()
        return True
    try:
        compat.index_dataset(package_id)
    except Exception as e:  # SearchIndexError, connection errors: Solr's trouble, not ours
        model.Session.rollback()
        log.warning("udp_governance: index of %s failed, marked for repair: %s", package_id, e)
        model.Session.execute(
            sa.update(IndexPending)
            .where(IndexPending.package_id == package_id)
            .values(attempts=IndexPending.attempts + 1, last_error=str(e)[:1000])
        )
        model.Session.commit()
        return False
    model.Session.execute(
        sa.delete(IndexPending).where(IndexPending.package_id == package_id, IndexPending.token == token)
    )
    model.Session.commit()
    return True


def after_commit(package_id: str) -> bool:
    """The step after a transition's commit: index now; if that fails, queue a
    retry; if it works, repair a few markers other failures left behind."""
    if not sync(package_id):
        _enqueue_retry(package_id)
        return False
    for other in pending_ids(PIGGYBACK):
        if other != package_id and not sync(other):
            break  # Solr is failing again: leave the rest to the job and cron
    return True


def retry(package_id: str) -> None:
    """Background job: index a dataset whose index after a transition failed.
    Raises while Solr still fails, so the job shows as failed and the marker
    waits for ``ckan udp governance reindex-pending``."""
    if not sync(package_id):
        raise RuntimeError(f"index of dataset {package_id} still failing; marker kept for repair")


def repair() -> tuple[int, int]:
    """Index every marked dataset: (repaired, still failing)."""
    done = failed = 0
    for package_id in pending_ids():
        if sync(package_id):
            done += 1
        else:
            failed += 1
    return done, failed


def _enqueue_retry(package_id: str) -> None:
    try:
        tk.enqueue_job(retry, [package_id], title=f"udp governance: re-index {package_id}")
    except Exception as e:  # Redis down as well: the cron repair remains
        log.warning("udp_governance: could not queue the re-index of %s: %s", package_id, e)


__all__ = ["after_commit", "mark", "pending_ids", "repair", "retry", "sync"]
