"""Actions of the harvest dashboard (read through the Action API too):

- ``udp_harvest_sources``: the harvest sources the caller may manage, each with
  its last runs (created / updated / unchanged / archived / errors) and the
  state its new datasets enter;
- ``udp_harvest_source_runs``: one source's last runs with every error, the
  record it concerns and the reason;
- ``udp_harvest_run_now``: queue a run of a source (ckanext-harvest's
  ``harvest_job_create``).
"""

from __future__ import annotations

import json
from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan.types import Context

from ckanext.harvest.model import (
    HarvestGatherError,
    HarvestJob,
    HarvestObject,
    HarvestObjectError,
    HarvestSource,
)
from ckanext.udp.harvest.interfaces import ACCESS_KEY, STATE_KEY, IUdpHarvest

RUNS = 5
MAX_RUNS = 50
MAX_ERRORS = 200


def _int(value: Any, default: int, top: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise tk.ValidationError({"limit": [tk._("Must be a whole number")]}) from None
    return max(1, min(number, top))


def _config(source: HarvestSource) -> dict[str, Any]:
    try:
        doc = json.loads(source.config or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _new_state(config: dict[str, Any]) -> str | None:
    for plugin in p.PluginImplementations(IUdpHarvest):
        state = plugin.udp_harvest_new_dataset_state(config)
        if state:
            return state
    return None


def _stats(job_ids: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {jid: {} for jid in job_ids}
    if not job_ids:
        return out
    rows = (
        model.Session.query(HarvestObject.harvest_job_id, HarvestObject.report_status, sa.func.count(HarvestObject.id))
        .filter(HarvestObject.harvest_job_id.in_(job_ids))
        .group_by(HarvestObject.harvest_job_id, HarvestObject.report_status)
    )
    for job_id, status, count in rows:
        out[job_id][status or "pending"] = count
    errors = (
        model.Session.query(HarvestObject.harvest_job_id, sa.func.count(sa.distinct(HarvestObject.id)))
        .join(HarvestObjectError, HarvestObjectError.harvest_object_id == HarvestObject.id)
        .filter(HarvestObject.harvest_job_id.in_(job_ids))
        .group_by(HarvestObject.harvest_job_id)
    )
    for job_id, count in errors:
        out[job_id]["errored"] = count
    gather = (
        model.Session.query(HarvestGatherError.harvest_job_id, sa.func.count(HarvestGatherError.id))
        .filter(HarvestGatherError.harvest_job_id.in_(job_ids))
        .group_by(HarvestGatherError.harvest_job_id)
    )
    for job_id, count in gather:
        out[job_id]["gather_errors"] = count
    return out


def _run_dict(job: HarvestJob, stats: dict[str, int]) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "created": job.created.isoformat() if job.created else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "added": stats.get("added", 0),
        "updated": stats.get("updated", 0),
        "not_modified": stats.get("not modified", 0),
        "archived": stats.get("archived", 0) + stats.get("deleted", 0),
        "errors": stats.get("errored", 0) + stats.get("gather_errors", 0),
    }


def _runs(source_id: str, limit: int) -> list[tuple[HarvestJob, dict[str, Any]]]:
    jobs = (
        model.Session.query(HarvestJob)
        .filter(HarvestJob.source_id == source_id)
        .order_by(HarvestJob.created.desc())
        .limit(limit)
        .all()
    )
    stats = _stats([j.id for j in jobs])
    return [(job, _run_dict(job, stats[job.id])) for job in jobs]


def _source_dict(source: HarvestSource, pkg: model.Package) -> dict[str, Any]:
    config = _config(source)
    org = model.Group.get(pkg.owner_org) if pkg.owner_org else None
    return {
        "id": source.id,
        "name": pkg.name,
        "title": source.title or pkg.title or pkg.name,
        "type": source.type,
        "url": source.url,
        "frequency": source.frequency,
        "active": bool(source.active),
        "organization": {"id": org.id, "name": org.name, "title": org.title} if org else None,
        "new_dataset_state": _new_state(config),
        "access_class": config.get(ACCESS_KEY),
        "config": config,
    }


def _manageable(context: Context) -> list[tuple[HarvestSource, model.Package]]:
    rows = (
        model.Session.query(HarvestSource, model.Package)
        .join(model.Package, model.Package.id == HarvestSource.id)
        .filter(model.Package.state == "active")
        .order_by(HarvestSource.title, HarvestSource.id)
        .all()
    )
    out = []
    for source, pkg in rows:
        try:
            tk.check_access("harvest_source_update", dict(context), {"id": source.id})
        except (tk.NotAuthorized, tk.ObjectNotFound):
            continue
        out.append((source, pkg))
    return out


@tk.side_effect_free
def udp_harvest_sources(context: Context, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The harvest sources the caller may manage, with their last ``runs`` (default 5)."""
    tk.check_access("udp_harvest_sources", context, data_dict)
    limit = _int(data_dict.get("runs"), RUNS, MAX_RUNS)
    out = []
    for source, pkg in _manageable(context):
        item = _source_dict(source, pkg)
        item["runs"] = [run for _job, run in _runs(source.id, limit)]
        out.append(item)
    return out


def _errors(job: HarvestJob) -> list[dict[str, Any]]:
    out = [
        {"record": None, "label": None, "stage": "Gather", "message": e.message}
        for e in model.Session.query(HarvestGatherError)
        .filter(HarvestGatherError.harvest_job_id == job.id)
        .order_by(HarvestGatherError.created)
    ]
    rows = (
        model.Session.query(
            HarvestObject.guid, HarvestObject.content, HarvestObjectError.stage, HarvestObjectError.message
        )
        .join(HarvestObjectError, HarvestObjectError.harvest_object_id == HarvestObject.id)
        .filter(HarvestObject.harvest_job_id == job.id)
        .order_by(HarvestObjectError.created)
        .limit(MAX_ERRORS)
    )
    for guid, content, stage, message in rows:
        label = None
        if content:
            try:
                label = json.loads(content).get("label")
            except (ValueError, AttributeError):
                label = None
        out.append({"record": guid, "label": label, "stage": stage, "message": message})
    return out


@tk.side_effect_free
def udp_harvest_source_runs(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """One source (``id``) with its last ``limit`` runs (default 10), each with
    its errors: the record, the stage and the reason."""
    source_id = tk.get_or_bust(data_dict, "id")
    source = HarvestSource.get(source_id)
    pkg = model.Package.get(source_id)
    if source is None or pkg is None or pkg.state != "active":
        raise tk.ObjectNotFound(tk._("Harvest source not found"))
    tk.check_access("udp_harvest_source_runs", context, {"id": source.id})
    out = _source_dict(source, pkg)
    out["runs"] = []
    for job, run in _runs(source.id, _int(data_dict.get("limit"), 10, MAX_RUNS)):
        run["error_list"] = _errors(job)
        out["runs"].append(run)
    return out


def udp_harvest_run_now(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Queue a run of the source ``id`` (refused while one waits or runs)."""
    source_id = tk.get_or_bust(data_dict, "id")
    tk.check_access("udp_harvest_run_now", context, {"id": source_id})
    try:
        job = tk.get_action("harvest_job_create")(dict(context), {"source_id": source_id, "run": True})
    except tk.ObjectNotFound:
        raise
    except Exception as err:  # ckanext-harvest's HarvestJobExists / HarvestSourceInactiveError
        name = type(err).__name__
        if name == "HarvestJobExists":
            raise tk.ValidationError({"id": [tk._("A run of this source is already waiting or running.")]}) from None
        if name == "HarvestSourceInactiveError":
            raise tk.ValidationError({"id": [tk._("The source is inactive.")]}) from None
        raise
    return {"id": job["id"], "status": job["status"]}


def get_actions() -> dict[str, Any]:
    return {
        "udp_harvest_sources": udp_harvest_sources,
        "udp_harvest_source_runs": udp_harvest_source_runs,
        "udp_harvest_run_now": udp_harvest_run_now,
    }


__all__ = ["get_actions", "STATE_KEY", "ACCESS_KEY"]
