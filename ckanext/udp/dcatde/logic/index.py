"""Search index: the schema's spatial coverage feeds ckanext-spatial's map
search; the city districts are indexed by name for a search facet."""

from __future__ import annotations

import json
import logging
from typing import Any

from ckanext.udp.dcatde import districts

log = logging.getLogger(__name__)


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


def districts_for_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """``vocab_stadtteile``: the names of the dataset's city districts (a
    multi-valued string field of CKAN's Solr schema, ready to be a facet)."""
    numbers = pkg_dict.get("stadtteile")
    if isinstance(numbers, str):
        try:
            numbers = json.loads(numbers)
        except ValueError:
            numbers = []
    if isinstance(numbers, list) and numbers:
        try:
            pkg_dict["vocab_stadtteile"] = districts.names(str(n) for n in numbers)
        except districts.DistrictsNotFound:
            log.warning("city districts not indexed: the districts file is missing", exc_info=True)
    return pkg_dict
