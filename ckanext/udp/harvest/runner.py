"""Run a harvest job in this process, stage by stage, exactly as the gather and
fetch consumers do (ckanext-harvest's own ``gather_stage`` and
``fetch_and_import_stages``), without the Redis queues: for ``ckan
udp harvest run`` (cron, a one-off run by an operator) and the tests."""

from __future__ import annotations

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.harvest.model import HarvestJob
from ckanext.udp import compat


def _site_context() -> Context:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": user["name"], "ignore_auth": True}


def run_source(source_id: str, job_id: str | None = None) -> str:
    """Run a new job of the source (or the given queued one) to its end;
    returns the job's id. Raises ValueError when no harvester handles the
    source's type."""
    if job_id is None:
        job_id = tk.get_action("harvest_job_create")(_site_context(), {"source_id": source_id, "run": False})["id"]
    job = HarvestJob.get(job_id)
    harvester = compat.harvester_for(job.source.type)
    if harvester is None:
        raise ValueError(f"no harvester for source type {job.source.type!r} is loaded")
    job.status = "Running"
    job.save()
    compat.run_harvest_job_stages(harvester, job)
    tk.get_action("harvest_jobs_run")({"ignore_auth": True}, {"source_id": source_id})
    model.Session.remove()
    return job_id
