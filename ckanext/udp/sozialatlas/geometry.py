"""District shapes for the choropleth, as SVG paths.

Without ``ckanext.udp.sozialatlas.boundaries`` the shapes are **schematic**:
Voronoi cells of the approximate centroids, clipped to the convex hull of the
centroids widened by about 1.5 km (shapely). With the option naming a GeoJSON
FeatureCollection (WGS84, a property with the district number or name) the
official boundaries are drawn instead."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
from shapely import voronoi_polygons
from shapely.geometry import MultiPoint, Point, shape
from shapely.geometry.base import BaseGeometry

from ckanext.udp.sozialatlas import districts

WIDTH = 600
PADDING = 10
NUMBER_KEYS = ("stadtteil_nr", "nummer", "nr", "stadtteilnummer", "STT_NR", "id")
NAME_KEYS = ("stadtteil", "name", "STT_NAME")


@dataclass(frozen=True)
class Shapes:
    paths: dict[str, str]  # district number -> SVG path data
    labels: dict[str, tuple[float, float]]  # district number -> label point (SVG coordinates)
    width: int
    height: int
    schematic: bool


def _project(lon: float, lat: float) -> tuple[float, float]:
    # equirectangular around Karlsruhe's latitude: good enough for a city
    return lon * math.cos(math.radians(49.0)), lat


def _schematic() -> dict[str, BaseGeometry]:
    known = districts.all_districts()
    points = [Point(*_project(d.lon, d.lat)) for d in known]
    hull = MultiPoint(points).convex_hull.buffer(0.014, join_style="round")
    cells = voronoi_polygons(MultiPoint(points), extend_to=hull)
    out: dict[str, BaseGeometry] = {}
    for d, p in zip(known, points, strict=True):
        cell = next(c for c in cells.geoms if c.contains(p))
        out[d.number] = cell.intersection(hull)
    return out


def _official(file: str) -> dict[str, BaseGeometry]:
    with open(file, encoding="utf-8") as f:
        data = json.load(f)
    out: dict[str, BaseGeometry] = {}
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        number = None
        for key in (*NUMBER_KEYS, *NAME_KEYS):
            if key in props:
                number = districts.number_of(props[key])
                if number:
                    break
        if number is None or not feature.get("geometry"):
            continue
        geom = shape(feature["geometry"])
        from shapely.ops import transform

        out[number] = transform(lambda x, y, z=None: _project(x, y), geom)
    return out


def _path(geom: BaseGeometry, to_svg: Any) -> str:
    polys = getattr(geom, "geoms", [geom])
    parts = []
    for poly in polys:
        for ring in [poly.exterior, *poly.interiors]:
            pts = [to_svg(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return "".join(parts)


@functools.lru_cache(maxsize=4)
def _build(boundaries: str, districts_file: str, mtime: float) -> Shapes:
    geoms = _official(boundaries) if boundaries else _schematic()
    minx = min(g.bounds[0] for g in geoms.values())
    miny = min(g.bounds[1] for g in geoms.values())
    maxx = max(g.bounds[2] for g in geoms.values())
    maxy = max(g.bounds[3] for g in geoms.values())
    scale = (WIDTH - 2 * PADDING) / (maxx - minx)
    height = int((maxy - miny) * scale + 2 * PADDING)

    def to_svg(x: float, y: float) -> tuple[float, float]:
        return PADDING + (x - minx) * scale, PADDING + (maxy - y) * scale

    paths = {n: _path(g, to_svg) for n, g in geoms.items()}
    labels = {n: to_svg(*g.representative_point().coords[0]) for n, g in geoms.items()}
    return Shapes(paths, labels, WIDTH, height, schematic=not boundaries)


def shapes() -> Shapes:
    boundaries = tk.config.get("ckanext.udp.sozialatlas.boundaries") or ""
    file = districts.path()
    return _build(boundaries, str(file), file.stat().st_mtime if file.exists() else 0.0)


__all__ = ["Shapes", "shapes"]
