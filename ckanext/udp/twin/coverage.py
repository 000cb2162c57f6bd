"""The extent of a dataset's 3D and grid distributions as its spatial coverage.

Only when the dataset has none of its own: a steward's districts or drawn rectangle win.
``udp_dcatde`` indexes the coverage for the map search and derives the Stadtteile from it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)
SOURCE = "udp_twin"
LIVE = ("published", "archived")  # udp_governance's live workflow states: changes go through review


def union(resources: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    boxes = []
    for res in resources:
        try:
            ring = json.loads(res.get("udp_twin_extent") or "null")["coordinates"][0]
        except (ValueError, TypeError, KeyError, IndexError):
            continue
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def feed(package_id: str, system: bool = True) -> bool:
    """Give the dataset the union of its distributions' extents, unless it has a coverage
    (or districts) of its own. True when it was written. A steward's upload (``system``
    false) does not change a live (published or archived) dataset's metadata past the
    four-eyes review: the coverage waits for the next reviewed edit."""
    from ckanext.udp.twin.record import polygon

    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context: Any = {"ignore_auth": True, "user": site["name"]}
    pkg = tk.get_action("package_show")(context, {"id": package_id})
    own = [a for a in pkg.get("spatial_coverage") or [] if isinstance(a, dict) and a.get("source") != SOURCE]
    if own or pkg.get("stadtteile"):
        return False
    if not system and pkg.get("udp_workflow_state") in LIVE:
        log.info("spatial coverage of live dataset %s not written past review", package_id)
        return False
    box = union([r for r in pkg.get("resources", []) if r.get("state", "active") == "active"])
    if box is None:
        return False
    area = {"source": SOURCE, "text": "Ausdehnung der 3D- und Rasterdaten", "bbox": polygon(box)}
    current = [a for a in pkg.get("spatial_coverage") or [] if isinstance(a, dict)]
    if current and current[0].get("bbox") and json.loads(current[0]["bbox"]) == json.loads(area["bbox"]):
        return False
    tk.get_action("package_patch")(context, {"id": pkg["id"], "spatial_coverage": [area]})
    return True
