"""The 27 Stadtteile (number, name, approximate centroid) from ``stadtteile.csv``
in ``ckanext.udp.sozialatlas.districts_dir`` (empty: the ``karlsruhe/`` folder
of ``UDP_SHARED_DIR``), and recognising a district by number or name."""

from __future__ import annotations

import csv
import functools
import os
import pathlib
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk

FILE = "stadtteile.csv"
SHARED_ENV = "UDP_SHARED_DIR"


class DistrictsMissing(RuntimeError):
    """The districts file is not configured or not readable."""


@dataclass(frozen=True)
class District:
    number: str
    name: str
    lat: float
    lon: float


def path() -> pathlib.Path:
    folder = tk.config.get("ckanext.udp.sozialatlas.districts_dir") or ""
    if not folder:
        shared = os.environ.get(SHARED_ENV, "")
        if not shared:
            raise DistrictsMissing("set ckanext.udp.sozialatlas.districts_dir or UDP_SHARED_DIR")
        folder = os.path.join(shared, "karlsruhe")
    return pathlib.Path(folder) / FILE


@functools.lru_cache(maxsize=4)
def _read(file: pathlib.Path, mtime: float) -> tuple[District, ...]:
    with file.open(encoding="utf-8", newline="") as f:
        out = [
            District(str(r["nummer"]).strip().zfill(2), r["stadtteil"].strip(), float(r["lat"]), float(r["lon"]))
            for r in csv.DictReader(f)
        ]
    return tuple(sorted(out, key=lambda d: d.number))


def all_districts() -> tuple[District, ...]:
    file = path()
    try:
        return _read(file, file.stat().st_mtime)
    except (OSError, KeyError, ValueError) as err:
        raise DistrictsMissing(f"{file}: {err}") from err


@functools.lru_cache(maxsize=4)
def _lookup(districts: tuple[District, ...]) -> dict[str, str]:
    table = {}
    for d in districts:
        table[d.number] = d.number
        table[d.number.lstrip("0")] = d.number
        table[d.name.casefold()] = d.number
    return table


def number_of(value: Any) -> str | None:
    """The district number for a number (1, "01", 1.0) or a name ("Durlach"); None if none."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return _lookup(all_districts()).get(text.lstrip("0") if text.isdigit() else text.casefold())
