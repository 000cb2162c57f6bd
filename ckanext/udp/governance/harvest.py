"""Harvested datasets enter the workflow state their harvest source is
configured for: the source's JSON config may name ``udp_workflow_state``
(draft, in_review, published; default draft) and ``udp_access_class``.

A source that *publishes* (``udp_workflow_state: published``) puts datasets
live without a second look, so its configuration is the review: only a
reviewer of the source's organization (or a sysadmin, or the system) may
create or change such a source, and that approval is recorded in the source's
audit trail with a fingerprint of its URL and config. At harvest time the
state is honoured only while the latest approval matches the source as it is
and its approver is still a reviewer; otherwise harvested datasets start as
drafts. The audit entry of each harvested dataset names the source and the
approver. These rules hold for every harvest source type: they are applied
when a dataset of type ``harvest`` is written, and by ``apply_source_state``,
which every harvester of the portal calls (ckanext-dcat's RDF harvester
through the plugin's IDCATRDFHarvester hook, ckanext-udp's harvesters through
``IUdpHarvest`` in ``ckanext.udp.harvest.interfaces``)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance import trail
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import ACCESS_CLASSES, DRAFT, IN_REVIEW, PUBLISHED, AuditEntry

log = logging.getLogger(__name__)

HARVEST_STATES = (DRAFT, IN_REVIEW, PUBLISHED)
# the dataset type of ckanext-harvest's sources
SOURCE_TYPE = "harvest"
APPROVAL = "approve_source_publishing"
# dataset dict key by which apply_source_state hands the approval to package_create
APPROVAL_KEY = "udp_harvest_approval"


def _config_dict(config: Any) -> dict[str, Any]:
    if isinstance(config, dict):
        return config
    try:
        data = json.loads(config) if config else {}
    except (TypeError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def source_settings(config: str | None) -> tuple[str, str | None]:
    """(initial state, access class or None) from a harvest source's config;
    anything unreadable or unknown falls back to draft, which hides the dataset."""
    return settings_of(_config_dict(config))


def settings_of(data: dict[str, Any]) -> tuple[str, str | None]:
    """(initial state, access class or None) from a parsed source config."""
    state = data.get(wf.STATE_KEY, DRAFT)
    access = data.get(wf.ACCESS_KEY)
    if state not in HARVEST_STATES:
        log.warning("harvest source config: unknown %s %r, using draft", wf.STATE_KEY, state)
        state = DRAFT
    if access is not None and access not in ACCESS_CLASSES:
        log.warning("harvest source config: unknown %s %r, using restricted", wf.ACCESS_KEY, access)
        access = "restricted"
    return state, access


def fingerprint(url: str | None, config: Any) -> str:
    canonical = json.dumps({"url": url or "", "config": _config_dict(config)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _publishes(config: Any) -> bool:
    return source_settings(config if isinstance(config, str) else json.dumps(_config_dict(config)))[0] == PUBLISHED


def _may_approve(user: model.User | None, org_id: str | None) -> bool:
    return user is not None and bool(org_id) and wf.is_reviewer(user, org_id)  # type: ignore[arg-type]


def check_source(context: Context, data_dict: dict[str, Any], pkg: model.Package | None) -> None:
    """Before a harvest source is written: a source that publishes is the
    reviewers' to configure."""
    if context.get("ignore_auth") or not _publishes(data_dict.get("config")):
        return
    org_id = data_dict.get("owner_org") or (pkg.owner_org if pkg is not None else None)
    group = model.Group.get(org_id) if org_id else None
    if not _may_approve(wf.user_obj_of(context), group.id if group is not None else None):
        raise tk.ValidationError(
            {
                "config": [
                    tk._(
                        "Only reviewers of the organization may configure a harvest source that publishes without "
                        "review (udp_workflow_state: published), or change such a source. Use draft or in_review."
                    )
                ]
            }
        )


def record_approval(context: Context, pkg: model.Package | None) -> None:
    """After a harvest source was written: a publishing configuration is
    recorded as approved by whoever wrote it (check_source let them)."""
    if pkg is None or pkg.type != SOURCE_TYPE:
        return
    source = _source_row(pkg.id)
    if source is None or not _publishes(source.config):
        return
    trail.record(
        pkg.id,
        wf.user_obj_of(context),
        APPROVAL,
        None,
        None,
        None,
        {
            "fingerprint": fingerprint(source.url, source.config),
            "url": source.url,
            "config": _config_dict(source.config),
        },
    )
    model.repo.commit()


def _source_row(source_id: str) -> Any:
    try:
        from ckanext.harvest.model import HarvestSource
    except ImportError:  # ckanext-harvest not installed
        return None
    return HarvestSource.get(source_id)


def approval(source: Any) -> AuditEntry | None:
    """The approval that covers the source as it is now, if any."""
    org_id = None
    pkg = model.Package.get(source.id)
    if pkg is not None:
        org_id = pkg.owner_org
    entry = (
        model.Session.query(AuditEntry)
        .filter(AuditEntry.package_id == source.id, AuditEntry.action == APPROVAL)
        .order_by(AuditEntry.created.desc(), AuditEntry.id.desc())
        .first()
    )
    if entry is None:
        return None
    details = json.loads(entry.details) if entry.details else {}
    if details.get("fingerprint") != fingerprint(source.url, source.config):
        return None
    approver = model.User.get(entry.actor_id) if entry.actor_id else None
    if entry.actor_id and not _may_approve(approver, org_id):
        return None
    return entry


def apply_source_state(harvest_object: Any, dataset_dict: dict[str, Any]) -> None:
    source = getattr(getattr(harvest_object, "job", None), "source", None) or getattr(harvest_object, "source", None)
    apply_settings(source, source_settings(getattr(source, "config", None)), dataset_dict)


def apply_settings(source: Any, settings: tuple[str, str | None], dataset_dict: dict[str, Any]) -> None:
    """Set a new harvested dataset's state and access class; "published" only
    under a current reviewer's approval of the source, else draft."""
    state, access = settings
    if state == PUBLISHED:
        entry = approval(source) if source is not None else None
        if entry is None:
            log.warning(
                "harvest source %s publishes without a current reviewer's approval: drafts instead",
                getattr(source, "id", None),
            )
            state = DRAFT
        else:
            dataset_dict[APPROVAL_KEY] = {
                "harvest_source": source.id,
                "approved_by": entry.actor_name,
                "approved_at": entry.created.isoformat(),
            }
    dataset_dict[wf.STATE_KEY] = state
    if access:
        dataset_dict[wf.ACCESS_KEY] = access


def validate_config(config: dict[str, Any]) -> dict[str, str]:
    """Errors in a source configuration's workflow keys (shown when the source is saved)."""
    errors = {}
    state = config.get(wf.STATE_KEY)
    if state is not None and state not in HARVEST_STATES:
        errors[wf.STATE_KEY] = "must be one of " + ", ".join(HARVEST_STATES)
    access = config.get(wf.ACCESS_KEY)
    if access is not None and access not in ACCESS_CLASSES:
        errors[wf.ACCESS_KEY] = "must be one of " + ", ".join(ACCESS_CLASSES)
    return errors
