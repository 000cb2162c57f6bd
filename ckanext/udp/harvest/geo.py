"""Spatial coverage for harvested datasets: a GeoJSON geometry or a bounding
box as a ``spatial_coverage`` area (``geom`` + ``bbox``, as the map search
indexes it), and the city districts (Stadtteile) a box lies on.

The districts come from a CSV (``nummer,stadtteil,lat,lon``: a point per
district) named by ``ckanext.udp.harvest.districts``, an absolute path checked
when the harvesters start (:func:`check_districts_path`; the project's ini files
point it at the approximate centroids in ``../shared/karlsruhe/stadtteile.csv``,
production at the city's official data). A box is "in
the city" when it lies within the districts' extent (plus a margin of
``DISTRICT_MARGIN`` degrees); it then lists the districts whose point lies in
the box, or the nearest one for a box smaller than a district.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import math
import os
from typing import Any

from shapely.geometry import box, mapping, shape

log = logging.getLogger(__name__)

DISTRICTS = "ckanext.udp.harvest.districts"
DISTRICT_MARGIN = 0.03  # degrees (~2-3 km): the centroids are approximate, the city reaches beyond them


def _rounded(value: float) -> float:
    return round(value, 7)


def bbox_polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    w, s, e, n = map(_rounded, (west, south, east, north))
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def valid_box(west: float, south: float, east: float, north: float) -> bool:
    values = (west, south, east, north)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        return False
    return -180 <= west <= east <= 180 and -90 <= south <= north <= 90


def area_from_bbox(west: float, south: float, east: float, north: float, text: str = "") -> dict[str, str] | None:
    if not valid_box(west, south, east, north):
        return None
    polygon = json.dumps(bbox_polygon(west, south, east, north))
    area = {"bbox": polygon, "geom": polygon}
    if text:
        area["text"] = text[:500]
    return area


def area_from_geojson(value: Any, text: str = "") -> dict[str, str] | None:
    """An area from a GeoJSON geometry (dict or JSON text); None if it is not
    a valid geometry in longitude/latitude."""
    try:
        geometry = json.loads(value) if isinstance(value, str) else value
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        shp = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError, IndexError) as err:
        log.info("not a usable GeoJSON geometry: %s", err)
        return None
    if shp.is_empty:
        return None
    west, south, east, north = shp.bounds
    if not valid_box(west, south, east, north):
        return None
    area = {"geom": json.dumps(mapping(shp)), "bbox": json.dumps(bbox_polygon(west, south, east, north))}
    if text:
        area["text"] = text[:500]
    return area


class DistrictsConfigError(ValueError):
    """``ckanext.udp.harvest.districts`` is not an absolute path to a readable district list."""


def declare_options(declaration: Any, key: Any) -> None:
    """The district list's config option (declared by every udp harvester, once)."""
    if DISTRICTS in declaration:
        return
    declaration.declare(DISTRICTS, "").set_description(
        "Absolute path of the city districts' CSV (columns nummer,stadtteil,lat,lon: a point per district) "
        "that harvested bounding boxes are matched against; required by the udp harvesters."
    )


def check_districts_path(value: Any) -> str:
    """The configured district list's path; raises :class:`DistrictsConfigError` saying what is wrong when it is
    unset, relative, not a readable file or not a district list."""
    text = str(value or "").strip()
    if not text:
        raise DistrictsConfigError(
            f"{DISTRICTS} is not set: give the absolute path of the districts' CSV "
            "(nummer,stadtteil,lat,lon), e.g. .../shared/karlsruhe/stadtteile.csv"
        )
    if not os.path.isabs(text):
        raise DistrictsConfigError(f"{DISTRICTS} must be an absolute path, not {text!r}")
    if not os.path.isfile(text):
        raise DistrictsConfigError(f"{DISTRICTS}: no such file: {text}")
    if not _districts(text):
        raise DistrictsConfigError(f"{DISTRICTS}: {text} is not a district list (CSV with nummer,stadtteil,lat,lon)")
    return text


@functools.lru_cache(maxsize=4)
def _districts(path: str) -> tuple[tuple[str, str, float, float], ...]:
    try:
        with open(path, encoding="utf-8") as handle:
            return tuple(
                (row["nummer"], row["stadtteil"], float(row["lon"]), float(row["lat"]))
                for row in csv.DictReader(handle)
            )
    except (OSError, KeyError, ValueError, TypeError) as err:
        log.warning("district list %s not usable: %s", path, err)
        return ()


def districts_path() -> str:
    """The configured district list (checked, see :func:`check_districts_path`)."""
    import ckan.plugins.toolkit as tk

    return check_districts_path(tk.config.get(DISTRICTS))


def districts_in(west: float, south: float, east: float, north: float) -> list[tuple[str, str]]:
    """(number, name) of the districts a box inside the city lies on; [] for a
    box that reaches beyond the city (a state's or the country's data)."""
    districts = _districts(districts_path())
    if not districts or not valid_box(west, south, east, north):
        return []
    lons = [d[2] for d in districts]
    lats = [d[3] for d in districts]
    city = box(
        min(lons) - DISTRICT_MARGIN,
        min(lats) - DISTRICT_MARGIN,
        max(lons) + DISTRICT_MARGIN,
        max(lats) + DISTRICT_MARGIN,
    )
    area = box(west, south, east, north)
    if not city.contains(area):
        return []
    inside = [(n, name) for n, name, lon, lat in districts if west <= lon <= east and south <= lat <= north]
    if inside:
        return inside
    cx, cy = (west + east) / 2, (south + north) / 2
    nearest = min(districts, key=lambda d: (d[2] - cx) ** 2 + (d[3] - cy) ** 2)
    return [(nearest[0], nearest[1])]
