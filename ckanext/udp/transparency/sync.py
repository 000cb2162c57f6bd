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

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

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


def _hub_dataset(package_id: str) -> dict[str, Any] | None:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    try:
        return tk.get_action("package_show")(
            {"ignore_auth": True, "user": site_user, "use_cache": False, "for_view": False}, {"id": package_id}
        )
    except tk.ObjectNotFound:
        return None


def mapping_row(package_id: str) -> Any | None:
    return model.Session.execute(sa.select(mapping).where(mapping.c.package_id == package_id)).first()


def _save_mapping(package_id: str, **values: Any) -> None:
    stmt = insert(mapping).values(package_id=package_id, portal_id=package_id, **values)
    model.Session.execute(stmt.on_conflict_do_update(index_elements=[mapping.c.package_id], set_=values))
    model.Session.commit()


def _push(portal: Portal, data: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    action = "package_update" if existing else "package_create"
    try:
        return portal.call(action, **data, state="active")
    except PortalError as err:
        # the name is taken on the portal by a dataset that is not this one
        if err.status == 409 and isinstance(err.error, dict) and "name" in err.error:
            data["name"] = f"{data['name'][:90]}-{data['id'][:8]}"
            return portal.call(action, **data, state="active")
        raise


def sync_dataset(portal: Portal, package_id: str, force: bool = False) -> str:
    """Bring the portal in step with the hub for one dataset. Returns what was done."""
    model.Session.expire_all()
    hub = _hub_dataset(package_id)
    row = mapping_row(package_id)
    if hub is not None and may_leave(hub):
        data = pl.to_portal(hub)
        digest = pl.digest(data)
        if row is not None and row.live and row.pushed_hash == digest and not force:
            return "unchanged"
        existing = portal.show(package_id)
        if (
            existing is not None
            and existing.get("state") == "active"
            and row is not None
            and row.pushed
            and not force
            and not hub_wins()
        ):
            changes = pl.differences(row.pushed, existing)
            if changes:
                raise Drift(package_id, changes)
        org = hub.get("organization") or {}
        if org.get("name"):
            data["owner_org"] = portal.organization(
                org["name"], org.get("title") or org["name"], org.get("description") or ""
            )
        # from here on the portal may hold a copy: a crash before the end
        # leaves live=True, so a later withdrawal removes it
        _save_mapping(package_id, live=True)
        result = _push(portal, data, existing)
        data["name"] = result.get("name", data["name"])
        _save_mapping(
            package_id,
            live=True,
            portal_name=data["name"],
            pushed_hash=pl.digest(data),
            pushed=data,
            pushed_at=utcnow(),
        )
        return "pushed"
    if row is None or not row.live:
        return "absent"
    existing = portal.show(row.portal_id)
    if existing is not None and existing.get("state") != "deleted":
        portal.call("package_delete", id=row.portal_id)
    _save_mapping(package_id, live=False, pushed_at=utcnow())
    return "removed"


@dataclasses.dataclass
class Stats:
    pushed: int = 0
    removed: int = 0
    unchanged: int = 0
    absent: int = 0
    failed: int = 0

    def add(self, result: str) -> None:
        setattr(self, result, getattr(self, result) + 1)


def _backoff(attempts: int) -> float:
    base = float(tk.config.get("ckanext.udp.transparency.retry_base") or 2)
    top = float(tk.config.get("ckanext.udp.transparency.retry_max") or 3600)
    return min(base * 2 ** max(attempts - 1, 0), top)


def deliver(portal: Portal, limit: int = 200) -> Stats:
    """One pass over the due outbox rows, oldest change first."""
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
    for package_id, upto, attempts in due:
        mine = sa.and_(outbox.c.package_id == package_id, outbox.c.seq <= upto)
        try:
            stats.add(sync_dataset(portal, package_id))
        except (PortalError, Drift) as err:
            model.Session.rollback()
            attempts += 1
            delay = _backoff(attempts)
            log.warning(
                "transparency: %s not delivered (attempt %d, next in %.0f s): %s", package_id, attempts, delay, err
            )
            model.Session.execute(
                outbox.update()
                .where(mine)
                .values(
                    attempts=attempts, next_attempt=utcnow() + dt.timedelta(seconds=delay), last_error=str(err)[:1000]
                )
            )
            model.Session.commit()
            stats.failed += 1
            if isinstance(err, PortalError) and err.status in (0, 502, 503, 504):
                break  # the portal is down: the others wait for the next pass
            continue
        model.Session.execute(outbox.delete().where(mine))
        model.Session.commit()
    return stats


def run_worker(portal: Portal, interval: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
    """Deliver until stopped; idle passes sleep ``interval`` seconds."""
    while not stop():
        try:
            stats = deliver(portal)
        except sa.exc.OperationalError:
            model.Session.rollback()
            log.exception("transparency worker: database unavailable")
            stats = Stats(failed=1)
        busy = stats.pushed + stats.removed + stats.unchanged + stats.absent
        if not busy:
            time.sleep(interval)
        model.Session.remove()


# --- reconcile and drift report ------------------------------------------------


def hub_public_ids() -> list[str]:
    """Every dataset that may leave, by CKAN's and the workflow's rules (what
    the public sees: active, not private; the governance plugin keeps ``private``
    true for everything not published + open)."""
    rows = (
        model.Session.execute(
            sa.select(model.package_table.c.id)
            .where(model.package_table.c.state == "active", model.package_table.c.private.is_(False))
            .order_by(model.package_table.c.metadata_created)
        )
        .scalars()
        .all()
    )
    return list(rows)


def report(portal: Portal) -> list[dict[str, Any]]:
    """What is missing, extra or different on the portal, in German, field by field."""
    found: list[dict[str, Any]] = []
    public = set()
    for package_id in hub_public_ids():
        hub = _hub_dataset(package_id)
        if hub is None or not may_leave(hub):
            continue
        public.add(package_id)
        row = mapping_row(package_id)
        copy = portal.show(row.portal_id if row else package_id)
        if copy is None or copy.get("state") != "active":
            found.append(
                {"dataset": hub["name"], "kind": "fehlt", "text": f"{hub['name']}: fehlt im Transparenzportal"}
            )
            continue
        name = hub["name"]
        if row is None or not row.pushed:
            for field, want, now in pl.differences(pl.to_portal(hub), copy):
                found.append(
                    {
                        "dataset": name,
                        "kind": "abweichend",
                        "field": field,
                        "text": f"{name}: {field} weicht ab (Hub: {want!r}, Portal: {now!r})",
                    }
                )
            continue
        for field, was, now in pl.differences(row.pushed, copy):
            found.append(
                {
                    "dataset": name,
                    "kind": "manuell geändert",
                    "field": field,
                    "text": f"{name}: {field} im Portal manuell geändert (übertragen: {was!r}, jetzt: {now!r})",
                }
            )
        for field, _want, _was in pl.differences(pl.to_portal(hub), row.pushed):
            found.append(
                {
                    "dataset": name,
                    "kind": "nicht übertragen",
                    "field": field,
                    "text": f"{name}: {field} auf dem Hub geändert, noch nicht übertragen",
                }
            )
    live = model.Session.execute(sa.select(mapping.c.package_id, mapping.c.portal_id).where(mapping.c.live)).all()
    for package_id, portal_id in live:
        if package_id not in public:
            copy = portal.show(portal_id)
            if copy is not None and copy.get("state") == "active":
                found.append(
                    {
                        "dataset": copy.get("name"),
                        "kind": "überzählig",
                        "text": f"{copy.get('name')}: im Transparenzportal, aber nicht öffentlich im Hub",
                    }
                )
    return found


def live_ids() -> list[str]:
    """Datasets the portal may hold a copy of."""
    return list(model.Session.execute(sa.select(mapping.c.package_id).where(mapping.c.live)).scalars())
