"""What the map and chart templates get: the city's districts from the
reference data, the tile server (if any), and the URLs the browser loads."""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk

from ckanext.udp.views import logic

log = logging.getLogger(__name__)

DISTRICTS_FILE = "stadtteile.csv"
SHARED_ENV = "UDP_SHARED_DIR"


def districts_dir() -> str:
    configured = tk.config.get("ckanext.udp.views.districts_dir") or ""
    if configured:
        return configured
    shared = os.environ.get(SHARED_ENV, "")
    return os.path.join(shared, "karlsruhe") if shared else ""


@functools.lru_cache(maxsize=4)
def _read_districts(path: str) -> tuple[dict[str, Any], ...]:
    with open(path, encoding="utf-8", newline="") as f:
        return tuple(
            {"number": row["nummer"], "name": row["stadtteil"], "lat": float(row["lat"]), "lon": float(row["lon"])}
            for row in csv.DictReader(f)
        )


def districts() -> list[dict[str, Any]]:
    """The city's districts with approximate centroids; [] when not installed."""
    folder = districts_dir()
    if not folder:
        return []
    path = os.path.join(folder, DISTRICTS_FILE)
    try:
        return list(_read_districts(path))
    except (OSError, KeyError, ValueError) as err:
        log.warning("districts for the maps not readable at %s: %s", path, err)
        return []


def _same_site(url: str) -> bool:
    """A relative URL or one on the portal's own host."""
    parts = urlsplit(url)
    if not parts.netloc:
        return True
    site = urlsplit(tk.config.get("ckan.site_url") or "")
    return parts.netloc == site.netloc


def _trusted_service(url: str) -> bool:
    """A URL on one of the city's own map servers (``ckanext.udp.views.map_service_hosts``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    hosts = tk.aslist(tk.config.get("ckanext.udp.views.map_service_hosts"))
    return parts.netloc.lower() in {h.lower() for h in hosts} or parts.hostname.lower() in {h.lower() for h in hosts}


def _external_allowed() -> bool:
    return tk.asbool(tk.config.get("ckanext.udp.views.external_services"))


def _local_path(url: str) -> str:
    """The portal's own URL as a path, so the browser asks the host it is on."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.netloc else url


def map_config(resource: dict[str, Any]) -> dict[str, Any]:
    url = resource.get("url") or ""
    if resource.get("url_type") == "upload":
        url = _local_path(url)  # a file uploaded to this portal, whatever host name it was stored with
    kind = logic.format_key(resource)
    kind = {"WMS_SRVC": "WMS", "WFS_SRVC": "WFS"}.get(kind, kind)
    loadable = bool(url) and (_same_site(url) or _trusted_service(url) or _external_allowed())
    return {
        "kind": kind,
        "url": (_local_path(url) if _same_site(url) else url) if loadable else "",
        "blocked": bool(url) and not loadable,
        "source_url": url,
        "districts": districts(),
        "tile_url": tk.config.get("ckanext.udp.views.tile_url") or "",
        "tile_attribution": tk.config.get("ckanext.udp.views.tile_attribution") or "",
    }


def chart_config(resource: dict[str, Any]) -> dict[str, Any]:
    """The hourly values as JSON and the latest values of the same series."""
    path = _local_path(resource.get("url") or "")
    hourly = re.sub(r"/hourly\.(?:csv|json)", "/hourly.json", path.split("?", 1)[0])
    return {
        "hourly_url": hourly,
        "latest_url": hourly.replace("/hourly.json", "/latest.json"),
        "fields_url": tk.url_for("api.action", ver=3, logic_function="datastore_search")
        + f"?resource_id={resource.get('id', '')}&limit=0",
    }


def _geometry(value: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry (a dict or its JSON text); None for anything else."""
    try:
        geometry = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    return geometry if isinstance(geometry, dict) and geometry.get("type") and "coordinates" in geometry else None


def _areas(pkg: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset's areas as GeoJSON features: each ``spatial_coverage`` area
    (its geometry, else its bounding box), else a ``spatial`` extra."""
    areas = pkg.get("spatial_coverage")
    if isinstance(areas, str):
        try:
            areas = json.loads(areas)
        except ValueError:
            areas = []
    features = []
    for area in areas if isinstance(areas, list) else []:
        if not isinstance(area, dict):
            continue
        geometry = _geometry(area.get("geom")) or _geometry(area.get("bbox"))
        if geometry:
            name = area.get("text") or area.get("uri") or ""
            features.append({"type": "Feature", "geometry": geometry, "properties": {"name": name} if name else {}})
    if not features:
        raw = pkg.get("spatial") or next(
            (e.get("value") for e in pkg.get("extras") or [] if e.get("key") == "spatial"), None
        )
        geometry = _geometry(raw)
        if geometry:
            features.append({"type": "Feature", "geometry": geometry, "properties": {}})
    return features


def coverage_config(pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's spatial coverage (its ``spatial_coverage`` areas, else the
    GeoJSON of a ``spatial`` extra) for the map; None without one."""
    features = _areas(pkg)
    if not features:
        return None
    return {
        "kind": "INLINE",
        "geojson": {"type": "FeatureCollection", "features": features},
        "url": "",
        "blocked": False,
        "source_url": "",
        "districts": districts(),
        "tile_url": tk.config.get("ckanext.udp.views.tile_url") or "",
        "tile_attribution": tk.config.get("ckanext.udp.views.tile_attribution") or "",
    }
