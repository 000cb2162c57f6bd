"""The kinds of distribution the twin knows: label, EU file type and IANA media type.

The labels are the agreed ones the previews (``udp_view3d``) match on besides extension
and media type. Only real codes of the EU file-type authority are used: it has no code of
its own for CityJSON, 3D Tiles, glTF or GLB, so these are typed by their container (JSON,
OCTET) and told apart by the media type and the label (resource field ``udp_twin_kind``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Kind:
    label: str
    file_type: str  # code of http://publications.europa.eu/resource/authority/file-type
    media_type: str | None  # IANA media type (services have none)


CITYJSON = Kind("CityJSON", "JSON", "application/city+json")
CITYGML = Kind("CityGML", "GML", "application/gml+xml")
TILES3D = Kind("3D Tiles", "JSON", "application/json")
GLTF = Kind("glTF", "JSON", "model/gltf+json")
GLB = Kind("GLB", "OCTET", "model/gltf-binary")
NETCDF = Kind("NetCDF", "NETCDF", "application/x-netcdf")
GEOTIFF = Kind("GeoTIFF", "GEOTIFF", "image/tiff")
WMS = Kind("WMS", "WMS_SRVC", None)
WFS = Kind("WFS", "WFS_SRVC", None)
WMTS = Kind("WMTS", "WMTS_SRVC", None)
OGCAPI = Kind("OGC API", "REST", None)

ALL = (CITYJSON, CITYGML, TILES3D, GLTF, GLB, NETCDF, GEOTIFF, WMS, WFS, WMTS, OGCAPI)
BY_LABEL = {k.label: k for k in ALL}
FILES = (CITYJSON, CITYGML, TILES3D, GLTF, GLB, NETCDF, GEOTIFF)

# what a name or a stated media type alone says (content, where read, has the last word)
_BY_SUFFIX = {
    ".city.json": CITYJSON,
    ".cityjson": CITYJSON,
    ".gltf": GLTF,
    ".glb": GLB,
    ".nc": NETCDF,
    ".nc4": NETCDF,
    ".netcdf": NETCDF,
    ".tif": GEOTIFF,
    ".tiff": GEOTIFF,
    ".geotiff": GEOTIFF,
}
_BY_MEDIA = {
    "application/city+json": CITYJSON,
    "model/gltf+json": GLTF,
    "model/gltf-binary": GLB,
    "application/x-netcdf": NETCDF,
    "application/netcdf": NETCDF,
}
_BY_FORMAT = {
    "cityjson": CITYJSON,
    "citygml": CITYGML,
    "3d tiles": TILES3D,
    "3dtiles": TILES3D,
    "gltf": GLTF,
    "glb": GLB,
    "netcdf": NETCDF,
    "geotiff": GEOTIFF,
    "wms": WMS,
    "wfs": WFS,
    "wmts": WMTS,
    "ogc api": OGCAPI,
    "ogcapi": OGCAPI,
}


def from_name(name: str) -> Kind | None:
    """The kind a file name or URL path ends with (``tileset.json`` is 3D Tiles)."""
    path = urlparse(name).path if "://" in name else name
    lower = path.lower().rsplit("/", 1)[-1]
    if lower == "tileset.json":
        return TILES3D
    if lower.endswith((".gml", ".xml")) and "citygml" in lower:
        return CITYGML
    for suffix, kind in _BY_SUFFIX.items():
        if lower.endswith(suffix):
            return kind
    return None


def from_media_type(media_type: str | None) -> Kind | None:
    text = (media_type or "").split(";")[0].strip().lower()
    text = text.rsplit("/media-types/", 1)[-1]
    return _BY_MEDIA.get(text)


def from_format(value: str | None) -> Kind | None:
    """A label typed in the form or delivered by a harvester ("CityGML", "3D Tiles")."""
    return _BY_FORMAT.get(re.sub(r"[\s_-]+", " ", (value or "").strip().lower()))


def from_service_url(url: str | None) -> Kind | None:
    """A link to a WMS, WFS, WMTS or OGC API service (``SERVICE=`` or the path says so)."""
    if not url or "://" not in url:
        return None
    parts = urlparse(url)
    query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    service = (query.get("service") or [""])[0].strip().upper()
    if service in ("WMS", "WFS", "WMTS"):
        return BY_LABEL[service]
    path = parts.path.lower()
    if "/wmts" in path or path.endswith("wmtscapabilities.xml"):
        return WMTS
    if re.search(r"/(wms)(/|$)", path):
        return WMS
    if re.search(r"/(wfs)(/|$)", path):
        return WFS
    if "/ogc/" in path or "/ogcapi" in path or re.search(r"/collections(/|$)", path):
        return OGCAPI
    return None
