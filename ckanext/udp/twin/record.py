"""What a probe found, written into a resource dict (and, from there, into DCAT-AP.de).

- ``format``: the EU file-type code (when the steward left it empty or it is a generic one)
- ``mimetype``: the IANA media type (likewise)
- ``conforms_to``: the EPSG URI of the reference system (dct:conformsTo, as GeoDCAT-AP does)
- ``udp_twin_kind``: the agreed label ("CityJSON", "3D Tiles", ...)
- ``udp_twin_crs``, ``udp_twin_lod``, ``udp_twin_extent`` (GeoJSON polygon, WGS 84),
  ``udp_twin_findings`` (German, for the steward)
"""

from __future__ import annotations

import json
from typing import Any

from ckanext.udp.twin import kinds
from ckanext.udp.twin.probe import EPSG_URI, Probe

FIELDS = ("udp_twin_kind", "udp_twin_crs", "udp_twin_lod", "udp_twin_extent", "udp_twin_findings")
# what CKAN or a browser puts in when nobody chose: a probe knows better
GENERIC_MEDIA = {
    "",
    "application/json",
    "application/octet-stream",
    "text/plain",
    "application/xml",
    "text/xml",
    "image/tiff",
}
GENERIC_FORMATS = {"", "JSON", "OCTET", "BIN", "XML", "TIFF", "GML", "GEOTIFF", "NETCDF"}


def _format_code(value: Any) -> str:
    return str(value or "").rstrip("/").rsplit("/", 1)[-1].upper()


def polygon(bbox: tuple[float, float, float, float]) -> str:
    w, s, e, n = (round(v, 6) for v in bbox)
    return json.dumps({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})


def apply_kind(resource: dict[str, Any], kind: kinds.Kind) -> None:
    if _format_code(resource.get("format")) in GENERIC_FORMATS or kinds.from_format(resource.get("format")):
        resource["format"] = kind.file_type
    if kind.media_type and str(resource.get("mimetype") or "").lower() in GENERIC_MEDIA | {kind.media_type}:
        resource["mimetype"] = kind.media_type
    resource["udp_twin_kind"] = kind.label


def apply(resource: dict[str, Any], found: Probe, findings: list[str]) -> None:
    """Write ``found`` into ``resource`` (earlier probe fields are replaced)."""
    for key in FIELDS:
        resource.pop(key, None)
    if found.kind is not None:
        apply_kind(resource, found.kind)
    if found.epsg:
        resource["udp_twin_crs"] = f"EPSG:{found.epsg}"
        conforms = _list(resource.get("conforms_to"))
        conforms = [u for u in conforms if not u.startswith(EPSG_URI.format(code=""))]
        conforms.append(EPSG_URI.format(code=found.epsg))
        resource["conforms_to"] = json.dumps(conforms)
    elif found.crs_text:
        resource["udp_twin_crs"] = found.crs_text[:200]
    if found.lods:
        resource["udp_twin_lod"] = ", ".join(f"LoD{lod}" for lod in found.lods[:10])
    if found.bbox:
        resource["udp_twin_extent"] = polygon(found.bbox)
    if findings:
        resource["udp_twin_findings"] = "\n".join(findings)


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return [str(v) for v in json.loads(value)]
        except ValueError:
            return []
    return [value] if isinstance(value, str) and value.strip() else []
