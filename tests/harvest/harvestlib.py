"""Helpers of the harvester tests: create sources through the action API and
run a harvest job the way the gather and fetch consumers do (ckanext-harvest's
own stage functions, without the Redis queues)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
from ckanext.harvest.model import HarvestGatherError, HarvestObject, HarvestObjectError

from ckanext.udp.harvest import runner


def sysadmin_context() -> dict[str, Any]:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": user["name"], "ignore_auth": True}


def make_source(url: str, source_type: str, org: dict, config: dict | None = None, **kwargs: Any) -> dict:
    """A harvest source created through the action API (as the form does)."""
    data = dict(
        name=f"quelle-{uuid.uuid4().hex[:10]}",
        title="Testquelle",
        url=url,
        source_type=source_type,
        owner_org=org["id"],
        config=json.dumps(config or {}),
        frequency="MANUAL",
        **kwargs,
    )
    return tk.get_action("harvest_source_create")(sysadmin_context(), data)


@dataclass
class Run:
    job_id: str
    stats: dict[str, int]
    gather_errors: list[str]
    object_errors: list[tuple[str, str]]  # (guid, message)

    @property
    def errors(self) -> list[str]:
        return self.gather_errors + [m for _, m in self.object_errors]


def run_job(source: dict, harvester: Any = None) -> Run:
    """Create a job and run gather, fetch and import like the consumers do
    (``ckanext.udp.harvest.runner``, also behind ``ckan udp harvest run``)."""
    job_id = runner.run_source(source["id"])
    shown = tk.get_action("harvest_job_show")(sysadmin_context(), {"id": job_id})
    gather = [e.message for e in HarvestGatherError.filter(harvest_job_id=job_id).all()]
    objects = [
        (o.guid, e.message)
        for o in HarvestObject.filter(harvest_job_id=job_id).all()
        for e in HarvestObjectError.filter(harvest_object_id=o.id).all()
    ]
    return Run(job_id, shown.get("stats") or {}, gather, objects)


def harvested(source: dict) -> list[dict]:
    """The source's datasets (current harvest objects), as the site user sees them, by title."""
    ids = {
        o.package_id for o in HarvestObject.filter(harvest_source_id=source["id"], current=True).all() if o.package_id
    }
    out = [tk.get_action("package_show")(sysadmin_context(), {"id": i}) for i in ids]
    return sorted(out, key=lambda d: d["title"])
