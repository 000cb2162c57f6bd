"""Harvested datasets enter the workflow state their harvest source is
configured for: the source's JSON config may name ``udp_workflow_state``
(draft, in_review, published; default draft) and ``udp_access_class``.
ckanext-dcat's harvester reaches this through ``IDCATRDFHarvester``,
ckanext-udp's harvesters through ``IUdpHarvest`` (``ckanext.udp.harvest.interfaces``)."""
from __future__ import annotations

import json
import logging
from typing import Any

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import ACCESS_CLASSES, DRAFT, IN_REVIEW, PUBLISHED

log = logging.getLogger(__name__)

HARVEST_STATES = (DRAFT, IN_REVIEW, PUBLISHED)


def source_settings(config: str | None) -> tuple[str, str | None]:
    """(initial state, access class or None) from a harvest source's config;
    anything unreadable or unknown falls back to draft, which hides the dataset."""
    try:
        data = json.loads(config) if config else {}
    except ValueError:
        data = {}
    return settings_of(data if isinstance(data, dict) else {})


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


def apply_source_state(harvest_object: Any, dataset_dict: dict[str, Any]) -> None:
    source = getattr(getattr(harvest_object, "job", None), "source", None) or getattr(
        harvest_object, "source", None)
    apply_settings(source_settings(getattr(source, "config", None)), dataset_dict)


def apply_settings(settings: tuple[str, str | None], dataset_dict: dict[str, Any]) -> None:
    state, access = settings
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
