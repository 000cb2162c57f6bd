"""Karlsruhe's 27 city districts (Stadtteile) for the dataset form.

Stewards choose the districts a dataset covers instead of typing geometry.
The choice is stored twice on the dataset:

- ``stadtteile``: the official two-digit district numbers (``["19", "27"]``),
  indexed by name as ``vocab_stadtteile`` so a search facet can use them;
- one ``spatial_coverage`` entry with ``source: stadtteile`` whose bounding box
  spans the chosen districts (schematic: built from approximate centroids, see
  below) and whose ``centroid`` is their mean, so map search and the DCAT
  ``dct:spatial`` see the area. It is recomputed on every save.

The district list is read from ``stadtteile.csv`` (``nummer,stadtteil,lat,lon``)
in ``ckanext.udp.dcatde.districts_dir`` (an absolute path; empty: the
``karlsruhe/`` folder of ``UDP_SHARED_DIR``), once per process and file version. The centroids are
approximate (about 1 km), so every geometry derived here is schematic; the
city's official district boundaries can replace the file in production.
"""

from __future__ import annotations

import csv
import functools
import json
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
from shapely.geometry import MultiPoint

from ckanext.udp.dcatde import reference

SOURCE = "stadtteile"
# half the extent given to one district around its centroid (about 1.1 km)
MARGIN_LAT = 0.01
MARGIN_LON = 0.015


class DistrictsNotFound(RuntimeError):
    """The configured districts file is missing or unreadable."""


@dataclass(frozen=True)
class District:
    number: str
    name: str
    lat: float
    lon: float

    @property
    def label(self) -> str:
        return f"{self.name} ({self.number})"


def districts_file() -> pathlib.Path:
    """``stadtteile.csv`` in the configured directory (see :mod:`.reference`)."""
    try:
        return reference.directory(reference.DISTRICTS) / reference.DISTRICTS_FILE
    except reference.ReferenceDataError as e:
        raise DistrictsNotFound(str(e)) from None


@functools.lru_cache(maxsize=4)
def _read(path: pathlib.Path, mtime: float) -> tuple[District, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        number = str(row["nummer"]).strip().zfill(2)
        out.append(District(number, row["stadtteil"].strip(), float(row["lat"]), float(row["lon"])))
    return tuple(sorted(out, key=lambda d: d.number))


def all_districts() -> tuple[District, ...]:
    path = districts_file()
    try:
        return _read(path, path.stat().st_mtime)
    except (OSError, KeyError, ValueError) as e:
        raise DistrictsNotFound(f"{path} (config ckanext.udp.dcatde.districts_dir): {e}") from e


def by_number() -> dict[str, District]:
    return {d.number: d for d in all_districts()}


def normalise(value: Any) -> str | None:
    """A district number from a number (19, "19", "019"), a name ("Durlach")
    or a label ("Durlach (19)"); None if there is no such district."""
    text = str(value).strip()
    known = by_number()
    if text.isdigit():
        number = text.lstrip("0").zfill(2)
        return number if number in known else None
    if text.endswith(")") and "(" in text:
        return normalise(text[text.rindex("(") + 1 : -1])
    folded = text.casefold()
    for d in known.values():
        if d.name.casefold() == folded:
            return d.number
    return None


def names(numbers: Iterable[str]) -> list[str]:
    known = by_number()
    return [known[n].name for n in numbers if n in known]


def coverage(numbers: list[str]) -> dict[str, Any] | None:
    """The schematic ``spatial_coverage`` entry for the chosen districts."""
    known = by_number()
    chosen = [known[n] for n in numbers if n in known]
    if not chosen:
        return None
    west = min(d.lon for d in chosen) - MARGIN_LON
    east = max(d.lon for d in chosen) + MARGIN_LON
    south = min(d.lat for d in chosen) - MARGIN_LAT
    north = max(d.lat for d in chosen) + MARGIN_LAT
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    lon = sum(d.lon for d in chosen) / len(chosen)
    lat = sum(d.lat for d in chosen) / len(chosen)
    return {
        "source": SOURCE,
        # stored data, in German whatever the steward's interface language
        "text": "{city}, Stadtteile: {names} (schematische Ausdehnung)".format(
            city=tk.config.get("ckanext.udp.city_name") or "Karlsruhe", names=", ".join(d.name for d in chosen)
        ),
        "bbox": _json({"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}),
        "centroid": _json({"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}),
    }


def map_data() -> dict[str, Any]:
    """What the form's map draws: district points and a schematic city outline
    (the convex hull of the centroids, widened by about one district)."""
    points = all_districts()
    hull = MultiPoint([(d.lon, d.lat) for d in points]).convex_hull.buffer(MARGIN_LON, quad_segs=2)
    return {
        "districts": [{"number": d.number, "name": d.name, "lat": d.lat, "lon": d.lon} for d in points],
        "outline": {"type": "Polygon", "coordinates": [[[round(x, 4), round(y, 4)] for x, y in hull.exterior.coords]]},
    }


def _json(geometry: dict[str, Any]) -> str:
    return json.dumps(geometry, separators=(", ", ": "))
