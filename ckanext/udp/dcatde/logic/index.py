"""Search index: the schema's spatial coverage feeds ckanext-spatial's map search."""
from __future__ import annotations

import json
from typing import Any


def spatial_for_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Give ckanext-spatial (which indexes the ``spatial`` extra) the first
    bounding box (else geometry) of ``spatial_coverage`` unless the dataset has
    a ``spatial`` extra of its own. The bounding box comes first because the
    solr-bbox backend indexes only an extent: a Point geometry has none and
    ``ext_bbox`` would never find it. Runs before ckanext-spatial's hook
    because ``udp_dcatde`` comes first in ``ckan.plugins``."""
    if pkg_dict.get("extras_spatial") or pkg_dict.get("spatial"):
        return pkg_dict
    coverage = pkg_dict.get("spatial_coverage")
    if isinstance(coverage, str):
        try:
            coverage = json.loads(coverage)
        except ValueError:
            return pkg_dict
    for area in coverage or []:
        if not isinstance(area, dict):
            continue
        geometry = area.get("bbox") or area.get("geom")
        if geometry:
            pkg_dict["extras_spatial"] = pkg_dict["spatial"] = geometry
            break
    return pkg_dict
