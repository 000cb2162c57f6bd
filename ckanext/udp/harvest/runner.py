"""Run a harvest job in this process, stage by stage, exactly as the gather and
fetch consumers do (ckanext-harvest's own ``gather_stage`` and
``fetch_and_import_stages``), without the Redis queues: for ``ckan
udp-harvest run`` (cron, a one-off run by an operator) and the tests."""
from __future__ import annotations

from typing import Any, Optional

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestJob, HarvestObject


def _site_context() -> dict[str, Any]:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": user["name"], "ignore_auth": True}


def run_source(source_id: str, job_id: Optional[str] = None) -> str:
    """Run a new job of the source (or the given queued one) to its end;
    returns the job's id. Raises ValueError when no harvester handles the
    source's type."""
    if job_id is None:
        job_id = tk.get_action("harvest_job_create")(_site_context(), {"source_id": source_id, "run": False})["id"]
    job = HarvestJob.get(job_id)
    harvester = queue.get_harvester(job.source.type)
    if harvester is None:
        raise ValueError(f"no harvester for source type {job.source.type!r} is loaded")
    job.status = "Running"
    job.save()
    ids = queue.gather_stage(harvester, job)
    for obj_id in ids if isinstance(ids, list) else []:
        obj = HarvestObject.get(obj_id)
        if obj is not None:
            queue.fetch_and_import_stages(harvester, obj)
    tk.get_action("harvest_jobs_run")({"ignore_auth": True}, {"source_id": source_id})
    model.Session.remove()
    return job_id
