"""Delivery: the worker that empties the outbox, and the reconcile/drift report.

Each dataset with outbox rows is synced as a whole to what it is *now* on the
hub, oldest change first; its rows up to the newest one read are deleted only
after the portal confirmed, in one commit. A failure backs the dataset off
exponentially (``retry_base`` * 2^attempts, at most ``retry_max`` seconds);
a process killed anywhere in between leaves the rows in place, and the next
run repeats an idempotent push (the portal copy has the hub dataset's id, so a
repeated create is an update, never a second copy).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging
import os
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from ckanext.udp import compat
from ckanext.udp.transparency import outbox as ob
from ckanext.udp.transparency import payload as pl
from ckanext.udp.transparency.model import mapping, outbox, utcnow
from ckanext.udp.transparency.portal import Portal, PortalError

log = logging.getLogger(__name__)

# the governance plugin's dataset fields (ckanext/udp/governance/workflow.py);
# without that plugin, CKAN's own "active and not private" decides
STATE_KEY = "udp_workflow_state"
ACCESS_KEY = "udp_access_class"


class Drift(Exception):
    """The portal's copy was edited by hand since the last push."""

    def __init__(self, package_id: str, changes: list[tuple[str, Any, Any]]) -> None:
        fields = ", ".join(c[0] for c in changes[:5])
        super().__init__(f"Manuelle Änderung im Transparenzportal ({fields}); nicht überschrieben")
        self.changes = changes


class Unexpected(Exception):
    """Any other exception from one dataset's planning or push (a bug, a broken
    answer the HTTP client does not wrap, a payload the JSON encoder refuses):
    recorded as that dataset's failure with backoff, the worker goes on. The
    message has the portal's token blanked out."""


def _unexpected(portal: Portal, package_id: str, err: BaseException) -> Unexpected:
    trace = portal.redact("".join(traceback.format_exception(err)))
    log.error("transparency: %s: unexpected error, the other datasets go on:\n%s", package_id, trace)
    return Unexpected(portal.redact(f"{type(err).__name__}: {err}"))


FAILURES = (PortalError, Drift, Unexpected)


def _outcome(portal: Portal, package_id: str, step: Callable[..., Any], *args: Any) -> Any:
    """One dataset's step (its planning, the portal's lookup, its push): what the
    step returns, or the failure to record for this dataset alone. A
    ``PortalError`` or ``Drift`` is returned as it is; any other exception as
    ``Unexpected`` (logged with its traceback, the token blanked out), so an
    unexpected exception fails only this dataset and the pass goes on. A broken
    database transaction (``DBAPIError``) ends the pass: the worker retries it."""
    try:
        return step(*args)
    except sa.exc.DBAPIError:
        raise
    except (PortalError, Drift) as err:
        return err
    except Exception as err:  # noqa: BLE001 (this dataset fails, the pass goes on)
        return _unexpected(portal, package_id, err)


def may_leave(pkg: dict[str, Any]) -> bool:
    """Published + open, active, not private, of a synced type: nothing else leaves."""
    types = tk.aslist(tk.config.get("ckanext.udp.transparency.dataset_types") or "dataset")
    return (
        pkg.get("state") == "active"
        and pkg.get("private") is False
        and pkg.get("type", "dataset") in types
        and pkg.get(STATE_KEY, "published") == "published"
        and pkg.get(ACCESS_KEY, "open") == "open"
    )


def hub_wins() -> bool:
    return tk.asbool(tk.config.get("ckanext.udp.transparency.hub_wins"))


def _site_user() -> str:
    return tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]


def _hub_dataset(package_id: str, site_user: str | None = None) -> dict[str, Any] | None:
    try:
        return tk.get_action("package_show")(
            {"ignore_auth": True, "user": site_user or _site_user(), "use_cache": False, "for_view": False},
            {"id": package_id},
        )
    except tk.ObjectNotFound:
        return None


def mapping_row(package_id: str) -> Any | None:
    return model.Session.execute(sa.select(mapping).where(mapping.c.package_id == package_id)).first()


def _save_mapping(package_id: str, commit: bool = True, **values: Any) -> None:
    stmt = insert(mapping).values(package_id=package_id, portal_id=package_id, **values)
    model.Session.execute(stmt.on_conflict_do_update(index_elements=[mapping.c.package_id], set_=values))
    if commit:
        model.Session.commit()


@dataclasses.dataclass
class Job:
    """One dataset's delivery: planned from the hub's database (``plan``), carried
    out over HTTP (``transfer``, any thread: no database, no CKAN context) and
    recorded (``record``)."""

    package_id: str
    action: str  # push, remove, unchanged, absent
    data: dict[str, Any] | None = None
    row: Any = None
    force: bool = False
    org: dict[str, Any] | None = None
    # the portal's copy, when read beforehand in bulk (``lookup``): None is
    # "no active copy" (absent, or deleted: a create then meets its id)
    existing: dict[str, Any] | None = None
    looked_up: bool = False


def plan(package_id: str, force: bool = False, site_user: str | None = None) -> Job:
    hub = _hub_dataset(package_id, site_user)
    row = mapping_row(package_id)
    if hub is not None and may_leave(hub):
        data = pl.to_portal(hub)
        if row is not None and row.live and row.pushed_hash == pl.digest(data) and not force:
            return Job(package_id, "unchanged")
        return Job(package_id, "push", data, row, force, hub.get("organization") or None)
    if row is None or not row.live:
        return Job(package_id, "absent")
    return Job(package_id, "remove", row=row)


def _name_taken(err: PortalError) -> bool:
    return err.status == 409 and isinstance(err.error, dict) and "name" in err.error and "id" not in err.error


def _id_taken(err: PortalError) -> bool:
    return err.status == 409 and isinstance(err.error, dict) and "id" in err.error


def lookup(portal: Portal, jobs: list[Job]) -> None:
    """One ``package_search`` per 500 datasets instead of a ``package_show``
    per dataset: the copies of the jobs that have one on record."""
    wanted = [j for j in jobs if j.row is not None]
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        found = portal.find([j.row.portal_id for j in chunk])
        for job in chunk:
            job.existing = found.get(job.row.portal_id)
            job.looked_up = True


def _org_refused(err: PortalError) -> bool:
    return err.status == 409 and isinstance(err.error, dict) and "owner_org" in err.error


def transfer(portal: Portal, job: Job) -> str | None:
    """The HTTP part: the copy's name on the portal after a push, else None.
    A push the portal refuses for its organization (deleted or purged there
    since the worker cached it) is retried once with the organization looked
    up (and created) again."""
    try:
        return _transfer(portal, job)
    except PortalError as err:
        if job.action != "push" or not (job.org and job.org.get("name")) or not _org_refused(err):
            raise
        portal.forget_organization(job.org["name"])
        return _transfer(portal, job)


def _transfer(portal: Portal, job: Job) -> str | None:
    if job.action == "remove":
        existing = job.existing if job.looked_up else None
        if existing is None:
            # not found by the portal's search index (it may lag or be rebuilt): its database decides
            existing = portal.show(job.row.portal_id)
        if existing is not None and existing.get("state") != "deleted":
            portal.call("package_delete", id=job.row.portal_id)
        return None
    if job.action != "push":
        return None
    assert job.data is not None
    data = dict(job.data)
    if job.org and job.org.get("name"):
        org = job.org
        data["owner_org"] = portal.organization(
            org["name"], org.get("title") or org["name"], org.get("description") or ""
        )
    # never pushed, or no active copy: create at once (one call); the portal
    # refuses a known id (a deleted copy), then as an update
    if job.looked_up:
        existing = job.existing
    else:
        existing = None if job.row is None else portal.show(job.package_id)
    if existing is None:
        try:
            return _create_or_update(portal, "package_create", data)
        except PortalError as err:
            if not _id_taken(err):
                raise
        existing = portal.show(job.package_id)
    if (
        existing is not None
        and existing.get("state") == "active"
        and job.row is not None
        and job.row.pushed
        and not job.force
        and not hub_wins()
    ):
        changes = pl.differences(job.row.pushed, existing)
        if changes:
            raise Drift(job.package_id, changes)
    return _create_or_update(portal, "package_update" if existing else "package_create", data)


def _create_or_update(portal: Portal, action: str, data: dict[str, Any]) -> str:
    try:
        result = portal.call(action, **data, state="active")
    except PortalError as err:
        # the name is taken on the portal by a dataset that is not this one
        if not _name_taken(err):
            raise
        data["name"] = f"{data['name'][:90]}-{data['id'][:8]}"
        result = portal.call(action, **data, state="active")
    if data.get("owner_org") and result.get("owner_org") and not result.get("organization"):
        # CKAN accepts a deleted (not purged) organization as the owner and then
        # shows the copy without one: the organization was deleted on the portal
        # since this worker cached it. It is made active again (or the push fails
        # and is retried), so no copy stays in a deleted organization; the copy
        # is written once more, as CKAN's index keeps it without its organization.
        portal.undelete_organization(data["owner_org"], result["owner_org"])
        result = portal.call("package_update", **data, state="active")
        if not result.get("organization"):
            raise PortalError("package_update", 409, {"owner_org": ["organization not active on the portal"]})
    return result.get("name", data["name"])


def mark_live(job: Job) -> None:
    """Before a push: from here on the portal may hold a copy, so a crash before
    ``record`` leaves live=True and a later withdrawal removes it (not committed)."""
    if job.action == "push":
        _save_mapping(job.package_id, commit=False, live=True)


def record(job: Job, name: str | None) -> None:
    """After the portal confirmed (not committed)."""
    if job.action == "push":
        assert job.data is not None
        data = dict(job.data, name=name or job.data["name"])
        _save_mapping(
            job.package_id,
            commit=False,
            live=True,
            portal_name=data["name"],
            pushed_hash=pl.digest(data),
            pushed=data,
            pushed_at=utcnow(),
        )
    elif job.action == "remove":
        _save_mapping(job.package_id, commit=False, live=False, pushed_at=utcnow())


class Claims:
    """The datasets one deliverer works on: a PostgreSQL advisory lock per dataset
    (session level, on a connection of its own in autocommit), taken before the
    dataset is planned and held until its result is recorded. Another deliverer
    (a second worker process, ``worker --once``, the drift page's button) skips a
    claimed dataset and leaves its outbox rows for a later pass, so two never
    work on one dataset at once: a push planned before a withdrawal cannot land
    after the withdrawal's removal (a leak with an empty outbox), and no copy is
    written twice. The locks of a killed process end with its connection."""

    def __init__(self) -> None:
        self._conn: Any = None
        self.held: set[str] = set()

    @staticmethod
    def _key(package_id: str) -> tuple[Any, Any]:
        # the two-key form: a key space apart from the single-key locks of other plugins
        return sa.func.hashtext(CLAIM_SPACE), sa.func.hashtext(package_id)

    def take(self, package_id: str) -> bool:
        """Claim a dataset now; False when another deliverer holds it."""
        if package_id in self.held:
            return True
        if self._conn is None:
            self._conn = model.Session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT")
        taken = bool(self._conn.execute(sa.select(sa.func.pg_try_advisory_lock(*self._key(package_id)))).scalar())
        if taken:
            self.held.add(package_id)
        return taken

    def wait_for(self, package_id: str, timeout: float) -> bool:
        """Claim a dataset, waiting up to ``timeout`` seconds for another deliverer to finish it."""
        deadline = time.monotonic() + timeout
        while not self.take(package_id):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def give_up(self, package_id: str) -> None:
        """Give one claim up (its result is recorded). Should the unlock fail, the
        claim stays held (and is given up with the others by ``release``)."""
        if package_id not in self.held or self._conn is None:
            return
        try:
            self._conn.execute(sa.select(sa.func.pg_advisory_unlock(*self._key(package_id))))
        except Exception:  # noqa: BLE001 (kept until release, which drops the connection if need be)
            log.warning("transparency: claim on %s not given up yet", package_id, exc_info=True)
            return
        self.held.discard(package_id)

    def release(self) -> None:
        """Give every claim up (the connection goes back to the pool without locks)."""
        conn, self._conn = self._conn, None
        self.held.clear()
        if conn is None:
            return
        try:
            conn.execute(sa.select(sa.func.pg_advisory_unlock_all()))
        except Exception:  # noqa: BLE001 (the connection is discarded, so no lock outlives it)
            log.warning("transparency: claims not given up; dropping their connection", exc_info=True)
            conn.invalidate()
        finally:
            conn.close()


CLAIM_SPACE = "udp_transparency:delivery"


def sync_dataset(portal: Portal, package_id: str, force: bool = False, wait: float = 60.0) -> str:
    """Bring the portal in step with the hub for one dataset. Returns what was
    done. Waits up to ``wait`` seconds while a worker delivers the same dataset
    (then a ``PortalError`` with status 409: the outbox keeps the change)."""
    claims = Claims()
    try:
        if not claims.wait_for(package_id, wait):
            raise PortalError("sync", 409, "der Datensatz wird gerade von einem anderen Dienst übertragen")
        model.Session.expire_all()
        job = plan(package_id, force)
        mark_live(job)
        model.Session.commit()
        name = transfer(portal, job)
        record(job, name)
        model.Session.commit()
    finally:
        claims.release()
    return {"push": "pushed", "remove": "removed"}.get(job.action, job.action)


@dataclasses.dataclass
class Stats:
    pushed: int = 0
    removed: int = 0
    unchanged: int = 0
    absent: int = 0
    failed: int = 0
    skipped: int = 0  # due, but claimed by another deliverer (left for a later pass)

    def add(self, result: str) -> None:
        setattr(self, result, getattr(self, result) + 1)


def _backoff(attempts: int) -> float:
    base = float(tk.config.get("ckanext.udp.transparency.retry_base") or 2)
    top = float(tk.config.get("ckanext.udp.transparency.retry_max") or 3600)
    return min(base * 2 ** max(attempts - 1, 0), top)


def concurrency() -> int:
    return max(1, int(tk.config.get("ckanext.udp.transparency.concurrency") or 4))


_pool: concurrent.futures.ThreadPoolExecutor | None = None
PLAN_CHUNK = 50  # datasets planned (and committed) before their pushes start, at most


def _chunks(n: int, first: int) -> list[tuple[int, int]]:
    """Slices of ``n`` planned items: the first ``first`` long, each next one
    twice as long up to ``PLAN_CHUNK``, so the first pushes of a pass start after
    a few datasets are planned (latency), a long pass still reads the portal in
    few searches (throughput)."""
    out, start, size = [], 0, max(1, min(first, PLAN_CHUNK))
    while start < n:
        out.append((start, min(start + size, n)))
        start += size
        size = min(size * 2, PLAN_CHUNK)
    return out


def _executor(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool._max_workers != workers:  # noqa: SLF001
        _pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="udp-transparency")
    return _pool


def deliver(portal: Portal, limit: int = 200) -> Stats:
    """One pass over the due outbox rows (at most ``limit`` datasets, oldest
    change first): each dataset claimed (``Claims``: skipped when another
    deliverer has it), planned from the database in this thread (in chunks
    growing from ``concurrency`` to ``PLAN_CHUNK``, ``_chunks``), the portal's
    copies of a chunk read with one search, the
    pushes made by at most ``concurrency`` threads while the next chunk is
    planned (one dataset per thread: its order is kept), the results recorded
    in one commit, then the claims given up."""
    stats = Stats()
    now = utcnow()
    due = model.Session.execute(
        sa.select(outbox.c.package_id, sa.func.max(outbox.c.seq), sa.func.max(outbox.c.attempts))
        .where(outbox.c.next_attempt <= now)
        .group_by(outbox.c.package_id)
        .order_by(sa.func.min(outbox.c.seq))
        .limit(limit)
    ).all()
    model.Session.commit()
    if not due:
        return stats
    claims = Claims()
    try:
        _deliver(portal, due, claims, stats)
    finally:
        claims.release()
    return stats


def _deliver(portal: Portal, due: list[Any], claims: Claims, stats: Stats) -> None:
    model.Session.expire_all()
    jobs: list[tuple[Job, int, int]] = []
    outcomes: dict[str, Any] = {}
    futures: dict[str, concurrent.futures.Future[str | None]] = {}
    try:
        _plan_and_push(portal, due, claims, stats, jobs, outcomes, futures)
    finally:
        # every push has ended before anything is recorded or a claim given up
        concurrent.futures.wait(list(futures.values()))
    for package_id, future in futures.items():
        outcomes[package_id] = future.result()
    _record_all(jobs, outcomes, stats)


def _plan_and_push(
    portal: Portal,
    due: list[Any],
    claims: Claims,
    stats: Stats,
    jobs: list[tuple[Job, int, int]],
    outcomes: dict[str, Any],
    futures: dict[str, concurrent.futures.Future[str | None]],
) -> None:
    site_user = _site_user()
    workers = concurrency()
    down: PortalError | None = None
    # planned in chunks, each committed (the mapping marked live) before its
    # pushes start, so the portal's calls of one chunk overlap the planning
    # of the next
    for begin, end in _chunks(len(due), workers):
        chunk: list[Job] = []
        for package_id, upto, attempts in due[begin:end]:
            # claimed before it is planned: what is planned is then the newest
            # state no other deliverer is pushing or removing
            if not claims.take(package_id):
                stats.skipped += 1
                continue
            job = _outcome(portal, package_id, plan, package_id, False, site_user)
            if not isinstance(job, Job):
                jobs.append((Job(package_id, "failed"), upto, attempts))
                outcomes[package_id] = job
                continue
            mark_live(job)
            jobs.append((job, upto, attempts))
            chunk.append(job)
        model.Session.commit()
        moving = [j for j in chunk if j.action in ("push", "remove")]
        if down is None:
            looked = _outcome(portal, "package_search", lookup, portal, moving)
            if isinstance(looked, PortalError):  # the portal is not reached: every job of this pass waits
                down = looked
            elif isinstance(looked, FAILURES):  # this chunk's datasets fail, the pass goes on
                outcomes.update({job.package_id: looked for job in moving})
                continue
        if down is not None:
            outcomes.update({job.package_id: down for job in moving})
            continue
        for job in moving:
            if workers == 1:
                outcomes[job.package_id] = _outcome(portal, job.package_id, transfer, portal, job)
            else:
                futures[job.package_id] = _executor(workers).submit(
                    _outcome, portal, job.package_id, transfer, portal, job
                )


def _record_all(jobs: list[tuple[Job, int, int]], outcomes: dict[str, Any], stats: Stats) -> None:
    for job, upto, attempts in jobs:
        mine = sa.and_(outbox.c.package_id == job.package_id, outbox.c.seq <= upto)
        outcome = outcomes.get(job.package_id)
        if isinstance(outcome, FAILURES):
            attempts += 1
            delay = _backoff(attempts)
            log.warning(
                "transparency: %s not delivered (attempt %d, next in %.0f s): %s",
                job.package_id,
                attempts,
                delay,
                outcome,
            )
            model.Session.execute(
                outbox.update()
                .where(mine)
                .values(
                    attempts=attempts,
                    next_attempt=utcnow() + dt.timedelta(seconds=delay),
                    last_error=str(outcome)[:1000],
                )
            )
            stats.failed += 1
            continue
        record(job, outcome)
        model.Session.execute(outbox.delete().where(mine))
        stats.add({"push": "pushed", "remove": "removed"}.get(job.action, job.action))
    model.Session.commit()


class Wakeup:
    """The worker's wait for new outbox rows: a PostgreSQL ``LISTEN`` on its own
    connection (autocommit), so a committed change wakes it within milliseconds;
    it sleeps in ``select`` (no busy loop) until a notification, the next due
    retry or ``idle`` seconds, whatever comes first (the timeout is the safety
    net should a notification ever be missed, e.g. over a reconnect)."""

    def __init__(self) -> None:
        self._raw: Any = None
        # a self-pipe: ``interrupt`` (safe in a signal handler) ends a wait at once
        self._stop_r, self._stop_w = os.pipe()
        os.set_blocking(self._stop_r, False)
        os.set_blocking(self._stop_w, False)

    def interrupt(self) -> None:
        """End the current (or next) ``wait`` now: the worker's SIGTERM handler calls it."""
        try:
            os.write(self._stop_w, b"x")
        except OSError:  # the pipe is full or closed: a wait ends anyway
            pass

    def _connect(self) -> Any:
        if self._raw is None:
            raw = model.Session.get_bind().raw_connection()
            conn = raw.driver_connection
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {ob.CHANNEL}")
            self._raw = raw
        return self._raw.driver_connection

    def on_signals(self) -> None:
        """Any signal with a Python handler ends a wait at once: the signal may
        reach another thread (the pushes' pool) than the one in ``select``, so
        the interpreter writes it to the pipe itself (``signal.set_wakeup_fd``).
        Main thread only."""
        signal.set_wakeup_fd(self._stop_w, warn_on_full_buffer=False)

    def wait_for_stop(self, timeout: float) -> None:
        """Sleep until ``interrupt`` or ``timeout`` (no database)."""
        select.select([self._stop_r], [], [], timeout)

    def wait(self, timeout: float) -> bool:
        """True when woken by a notification."""
        try:
            conn = self._connect()
            if not conn.notifies:
                ready, _, _ = select.select([conn, self._stop_r], [], [], timeout)
                if conn in ready:
                    conn.poll()
            woken = bool(conn.notifies)
            conn.notifies.clear()
            return woken
        except Exception:  # noqa: BLE001 (a lost connection: sleep, reconnect next time)
            log.warning("transparency worker: LISTEN connection lost; polling until it is back", exc_info=True)
            self._close_connection()
            time.sleep(min(timeout, 1.0))
            return False

    def close(self) -> None:
        self._close_connection()
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _close_connection(self) -> None:
        if self._raw is not None:
            try:
                self._raw.close()
            except Exception:  # noqa: BLE001
                pass
            self._raw = None


class Pipeline:
    """The worker's deliveries without a barrier between passes: up to
    ``concurrency`` datasets in flight, each claimed, planned and pushed as in
    ``deliver``; a dataset's result is recorded (and its claim given up) as soon
    as its push ends, and a free slot takes the next due dataset at once, so a
    change waits for at most the push of its own dataset that is in flight, not
    for the slowest push of a whole pass. Per dataset the order is kept: a dataset
    in flight is not planned again until its result is recorded."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.claims = Claims()
        self.flying: dict[str, tuple[Job, int, int, concurrent.futures.Future[Any]]] = {}

    def free(self) -> int:
        return concurrency() - len(self.flying)

    def top_up(self, stats: Stats) -> None:
        """Plan and start due datasets that are not in flight, as many as there are free slots."""
        free = self.free()
        if free <= 0:
            return
        query = (
            sa.select(outbox.c.package_id, sa.func.max(outbox.c.seq), sa.func.max(outbox.c.attempts))
            .where(outbox.c.next_attempt <= utcnow())
            .group_by(outbox.c.package_id)
            .order_by(sa.func.min(outbox.c.seq))
            .limit(free + 20)  # a few more than free: some may be claimed by another deliverer
        )
        if self.flying:
            query = query.where(outbox.c.package_id.notin_(list(self.flying)))
        due = model.Session.execute(query).all()
        model.Session.expire_all()
        site_user = _site_user() if due else None
        started: list[tuple[Job, int, int]] = []
        done: list[tuple[Job, int, int]] = []
        outcomes: dict[str, Any] = {}
        for package_id, upto, attempts in due:
            if len(started) >= free:
                break
            if not self.claims.take(package_id):
                stats.skipped += 1
                continue
            job = _outcome(self.portal, package_id, plan, package_id, False, site_user)
            if not isinstance(job, Job):
                outcomes[package_id] = job
                done.append((Job(package_id, "failed"), upto, attempts))
                continue
            mark_live(job)
            (started if job.action in ("push", "remove") else done).append((job, upto, attempts))
        model.Session.commit()
        looked = _outcome(self.portal, "package_search", lookup, self.portal, [j for j, _u, _a in started])
        for job, upto, attempts in started:
            if isinstance(looked, FAILURES):  # the portal not reached (or its answer broken): these wait
                outcomes[job.package_id] = looked
                done.append((job, upto, attempts))
                continue
            future = _executor(concurrency()).submit(_outcome, self.portal, job.package_id, transfer, self.portal, job)
            self.flying[job.package_id] = (job, upto, attempts, future)
        self._record(done, outcomes, stats)

    def collect(self, stats: Stats, timeout: float = 0.0) -> None:
        """Record the pushes that ended (waiting up to ``timeout`` for the first one)."""
        if not self.flying:
            return
        futures = [entry[3] for entry in self.flying.values()]
        if timeout > 0:
            concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        done = [pid for pid, entry in self.flying.items() if entry[3].done()]
        outcomes = {pid: self.flying[pid][3].result() for pid in done}
        jobs = [self.flying.pop(pid)[:3] for pid in done]
        self._record(jobs, outcomes, stats)

    def _record(self, jobs: list[tuple[Job, int, int]], outcomes: dict[str, Any], stats: Stats) -> None:
        if not jobs:
            return
        try:
            _record_all(jobs, outcomes, stats)
        finally:
            for job, _upto, _attempts in jobs:
                self.claims.give_up(job.package_id)

    def close(self, stats: Stats) -> None:
        """Every push in flight ended and recorded, every claim given up."""
        try:
            if self.flying:
                concurrent.futures.wait([entry[3] for entry in self.flying.values()])
                self.collect(stats)
        finally:
            self.flying.clear()
            self.claims.release()


def run_worker(
    portal: Portal,
    interval: float = 5.0,
    stop: Callable[[], bool] = lambda: False,
    wakeup: Wakeup | None = None,
) -> None:
    """Deliver until stopped, through a ``Pipeline`` (no barrier between
    passes). While pushes are in flight it waits for the first to end or, with a
    slot free, for a NOTIFY from a committed change (0.05 s at most); when
    nothing is in flight, for a NOTIFY or the next retry, at most ``interval``
    seconds. A stop signal ends a wait at once through ``wakeup.interrupt()``;
    the pushes in flight end and are recorded before it returns."""
    wakeup = wakeup or Wakeup()
    pipe = Pipeline(portal)
    try:
        while not stop():
            stats = Stats()
            try:
                pipe.collect(stats)
                pipe.top_up(stats)
                due = None if pipe.flying else ob.next_due()
                model.Session.commit()
            except sa.exc.OperationalError:
                model.Session.rollback()
                log.exception("transparency worker: database unavailable")
                stats.failed += 1
                due = None
            if stop():
                break
            if pipe.flying:
                if pipe.free() > 0:
                    wakeup.wait(0.05)
                else:
                    pipe.collect(stats, timeout=0.2)
                continue
            model.Session.remove()
            busy = stats.pushed + stats.removed + stats.unchanged + stats.absent
            if busy and due == 0:
                continue
            # after a failure never spin on the next due row; a row another
            # deliverer holds is due again as soon as that one has recorded it
            floor = 0.5 if stats.failed else 0.2 if stats.skipped else 0.05
            wakeup.wait(interval if due is None else min(max(due, floor), interval))
    finally:
        try:
            pipe.close(Stats())
        except Exception:  # noqa: BLE001 (unrecorded rows stay in the outbox and are delivered again)
            model.Session.rollback()
            log.exception("transparency worker: the last results were not recorded")
        finally:
            wakeup.close()


# --- reconcile and drift report ------------------------------------------------


def hub_public_ids() -> list[str]:
    """Every dataset that may leave, by CKAN's and the workflow's rules (what
    the public sees: active, not private; the governance plugin keeps ``private``
    true for everything not published + open)."""
    return compat.public_dataset_ids(model.Session)


def _item(hub: dict[str, Any] | None, kind: str, text: str, **more: Any) -> dict[str, Any]:
    hub = hub or {}
    return {
        "package_id": more.pop("package_id", hub.get("id")),
        "dataset": more.pop("dataset", hub.get("name")),
        "title": more.pop("title", hub.get("title") or hub.get("name")),
        "kind": kind,
        "field": more.pop("field", None),
        "hub": more.pop("hub_value", None),
        "portal": more.pop("portal_value", None),
        "text": text,
    }


def _tag_items(hub: dict[str, Any]) -> list[dict[str, Any]]:
    name = hub["name"]
    out = []
    for tag, sent in pl.portal_tags(hub)[1]:
        if sent is None:
            text = f"{name}: Schlagwort {tag!r} weggelassen (vom Portal nicht angenommen)"
        else:
            text = f"{name}: Schlagwort {tag!r} als {sent!r} übertragen (vom Portal so nicht angenommen)"
        out.append(_item(hub, "tag", text, field="tags", hub_value=tag, portal_value=sent))
    return out


def _waiting() -> list[dict[str, Any]]:
    """Outbox rows that failed at least once, per dataset: attempts and the last error."""
    rows = model.Session.execute(
        sa.select(
            outbox.c.package_id,
            sa.func.count(),
            sa.func.max(outbox.c.attempts),
            sa.func.max(outbox.c.next_attempt),
            sa.func.max(outbox.c.last_error),
        )
        .where(outbox.c.attempts > 0)
        .group_by(outbox.c.package_id)
    ).all()
    out = []
    for package_id, count, attempts, next_attempt, error in rows:
        hub = _hub_dataset(package_id)
        label = (hub or {}).get("name") or package_id
        out.append(
            _item(
                hub,
                "waiting",
                f"{label}: {count} Änderung(en) warten, {attempts} Fehlversuch(e), nächster Versuch "
                f"{next_attempt:%Y-%m-%d %H:%M:%S} UTC: {error}",
                package_id=package_id,
                dataset=label,
                hub_value=attempts,
                portal_value=error,
            )
        )
    return out


def report(portal: Portal) -> list[dict[str, Any]]:
    """What is missing, extra or different on the portal, in German, field by
    field; hand edits; changes not yet pushed; tags the portal would refuse;
    changes waiting after a failed delivery. Each item: ``package_id``,
    ``dataset`` (name), ``title``, ``kind`` (missing, extra, edited, unpushed,
    different, tag, waiting), ``field``, ``hub``, ``portal`` and ``text``."""
    found: list[dict[str, Any]] = []
    public = set()
    # the portal read in bulk (pages of 1,000): every active copy carrying the
    # hub's identity extra; a copy whose extra was removed by hand is asked for
    # on its own, when the mapping says it is there
    copies = portal.search_all(f"extras_{pl.SOURCE_URI_KEY}:*")

    def copy_of(portal_id: str, live: bool) -> dict[str, Any] | None:
        if portal_id in copies:
            return copies[portal_id]
        return portal.show(portal_id) if live else None

    for package_id in hub_public_ids():
        hub = _hub_dataset(package_id)
        if hub is None or not may_leave(hub):
            continue
        public.add(package_id)
        name = hub["name"]
        found.extend(_tag_items(hub))
        row = mapping_row(package_id)
        copy = copy_of(row.portal_id, row.live) if row else copy_of(package_id, False)
        if copy is None or copy.get("state") != "active":
            found.append(_item(hub, "missing", f"{name}: fehlt im Transparenzportal"))
            continue
        if row is None or not row.pushed:
            for field, want, now in pl.differences(pl.to_portal(hub), copy):
                found.append(
                    _item(
                        hub,
                        "different",
                        f"{name}: {field} weicht ab (Hub: {want!r}, Portal: {now!r})",
                        field=field,
                        hub_value=want,
                        portal_value=now,
                    )
                )
            continue
        for field, was, now in pl.differences(row.pushed, copy):
            found.append(
                _item(
                    hub,
                    "edited",
                    f"{name}: {field} im Portal manuell geändert (übertragen: {was!r}, jetzt: {now!r})",
                    field=field,
                    hub_value=was,
                    portal_value=now,
                )
            )
        for field, want, was in pl.differences(pl.to_portal(hub), row.pushed):
            found.append(
                _item(
                    hub,
                    "unpushed",
                    f"{name}: {field} auf dem Hub geändert, noch nicht übertragen",
                    field=field,
                    hub_value=want,
                    portal_value=was,
                )
            )
    live = model.Session.execute(sa.select(mapping.c.package_id, mapping.c.portal_id).where(mapping.c.live)).all()
    for package_id, portal_id in live:
        if package_id not in public:
            copy = copy_of(portal_id, True)
            if copy is not None and copy.get("state") == "active":
                found.append(
                    _item(
                        None,
                        "extra",
                        f"{copy.get('name')}: im Transparenzportal, aber nicht öffentlich im Hub",
                        package_id=package_id,
                        dataset=copy.get("name"),
                        title=copy.get("title") or copy.get("name"),
                    )
                )
    found.extend(_waiting())
    return found


def live_ids() -> list[str]:
    """Datasets the portal may hold a copy of."""
    return list(model.Session.execute(sa.select(mapping.c.package_id).where(mapping.c.live)).scalars())


def commit() -> None:
    model.Session.commit()


def rollback() -> None:
    model.Session.rollback()
