"""Search index: the schema's spatial coverage feeds ckanext-spatial's map
search; formats, themes, districts and update frequency are indexed the way
people search and filter (``res_format:CSV``, ``?theme=<URI or label>``,
``vocab_stadtteile:Durlach``). The stored dataset (``validated_data_dict``)
keeps the vocabulary URIs: CKAN serialises it before this hook runs."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.dcatde import districts, geo, vocab

log = logging.getLogger(__name__)

#: the facet value of a dataset about the whole city (label: helpers)
CITYWIDE = "citywide"
THEME_FIELD = "vocab_theme"
DISTRICT_FIELD = "vocab_stadtteile"
FREQUENCY_FIELD = "vocab_frequency"


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return [text]
        else:
            return [text]
    return list(value) if isinstance(value, (list, tuple)) else []


def spatial_for_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Give ckanext-spatial (which indexes the ``spatial`` extra) the first
    bounding box (else geometry) of ``spatial_coverage`` unless the dataset has
    a ``spatial`` extra of its own. The bounding box comes first because the
    solr-bbox backend indexes only an extent: a Point geometry has none and
    ``ext_bbox`` would never find it. Runs before ckanext-spatial's hook
    because ``udp_dcatde`` comes first in ``ckan.plugins``."""
    if pkg_dict.get("extras_spatial") or pkg_dict.get("spatial"):
        return pkg_dict
    for area in _list(pkg_dict.get("spatial_coverage")):
        if not isinstance(area, dict):
            continue
        geometry = area.get("bbox") or area.get("geom")
        if geometry:
            pkg_dict["extras_spatial"] = pkg_dict["spatial"] = geometry
            break
    return pkg_dict


def covered_districts(pkg_dict: dict[str, Any]) -> list[str]:
    """The names of the districts a dataset covers: those chosen in the form
    (``stadtteile``), else those whose centroid lies in its spatial coverage
    (not counting the schematic area derived from the districts); ``[CITYWIDE]``
    when that is every district, or when there are none and the dataset is
    geocoded to the city itself (``ckanext.udp.dcatde.political_geocoding_uri``,
    which every dataset without a geocoding of its own gets)."""
    known = districts.all_districts()
    numbers = [str(n).zfill(2) for n in _list(pkg_dict.get("stadtteile"))]
    chosen = districts.names(numbers)
    if not chosen:
        shapes = []
        for area in _list(pkg_dict.get("spatial_coverage")):
            if not isinstance(area, dict) or area.get("source") == districts.SOURCE:
                continue
            for key in ("geom", "bbox"):
                try:
                    shapes.append(geo.geometry(area.get(key)))
                    break
                except (ValueError, TypeError):
                    continue
        if shapes:
            from shapely.geometry import Point

            chosen = [d.name for d in known if any(s.covers(Point(d.lon, d.lat)) for s in shapes)]
    if chosen and len(set(chosen)) == len(known):
        return [CITYWIDE]
    city = (tk.config.get("ckanext.udp.dcatde.political_geocoding_uri") or "").rstrip("/")
    geocoded = {str(u).rstrip("/") for u in _list(pkg_dict.get("political_geocoding_uri"))}
    if not chosen and city and city in geocoded:
        return [CITYWIDE]
    return chosen


def districts_for_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """``vocab_stadtteile``: the names of the dataset's city districts (a
    multi-valued string field of CKAN's Solr schema, ready to be a facet; the
    ``vocab_*`` fields are copied into the full text, so "Durlach" finds it)."""
    try:
        names = covered_districts(pkg_dict)
    except districts.DistrictsNotFound:
        log.warning("city districts not indexed: the districts file is missing", exc_info=True)
        return pkg_dict
    if names:
        pkg_dict[DISTRICT_FIELD] = names
    return pkg_dict


def format_label(value: Any) -> str:
    """The label of a file format as people know it ("CSV", "GeoJSON", "WMS"
    for the EU file-type URIs); an unknown format as given, without a path."""
    text = str(value or "").strip()
    if not text:
        return ""
    uri = vocab.normalise("file-type", text)
    if uri:
        code = uri.rstrip("/").rsplit("/", 1)[-1]
        if code.endswith("_SRVC"):
            return code[: -len("_SRVC")]
        label = vocab.label("file-type", uri, lang="en") or code
        # "GeoJSON", "JSON-LD"; "XLSX" rather than "Excel (XLSX)"
        return label if " " not in label else code
    return text.rstrip("/").rsplit("/", 1)[-1]


def labels_for_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """Formats by label in ``res_format``, themes and the update frequency as
    lists of URIs in ``vocab_theme`` and ``vocab_frequency`` (facets; the
    ``theme`` field itself is a JSON string in CKAN's single-valued catch-all)."""
    if pkg_dict.get("res_format"):
        pkg_dict["res_format"] = [format_label(f) for f in pkg_dict["res_format"]]
    themes = [str(t) for t in _list(pkg_dict.get("theme")) if t]
    if themes:
        pkg_dict[THEME_FIELD] = themes
        # the German labels into the full text, so "Umwelt" finds the theme
        pkg_dict["extras_udp_theme_labels"] = " ".join(vocab.label("data-theme", t) or "" for t in themes)
    frequency = pkg_dict.get("frequency")
    if isinstance(frequency, str) and frequency:
        pkg_dict[FREQUENCY_FIELD] = [frequency]
    return pkg_dict


_THEME_FILTER = re.compile(r'(?<![\w.])theme:(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def theme_uri(value: str) -> str:
    """A theme filter value as a data-theme URI: a URI, a code (ENVI) or a
    German or English label ("Umwelt"); else as given."""
    return vocab.normalise("data-theme", value) or value.strip()


def rewrite_theme_filter(fq: str) -> str:
    """``theme:"<URI or label>"`` in a filter query becomes a filter on the
    indexed ``vocab_theme`` (what ``/dataset?theme=...`` and API users write)."""

    def replace(match: re.Match[str]) -> str:
        value = match.group(1) if match.group(1) is not None else match.group(2)
        value = value.replace('\\"', '"')
        uri = theme_uri(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'{THEME_FIELD}:"{uri}"'

    return _THEME_FILTER.sub(replace, fq)
