"""Harvested datasets enter the workflow state their harvest source is
configured for: the source's JSON config may name ``udp_workflow_state``
(draft, in_review, published; default draft) and ``udp_access_class``."""
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
    if not isinstance(data, dict):
        data = {}
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
    state, access = source_settings(getattr(source, "config", None))
    dataset_dict[wf.STATE_KEY] = state
    if access:
        dataset_dict[wf.ACCESS_KEY] = access
