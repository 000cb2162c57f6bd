"""Read what a 3D or grid file says of itself, once, in bounded memory and time.

``probe(stream, name)`` never raises on a broken file: whatever it cannot read becomes a
:class:`Finding` (an English message id with parameters, translated for the steward by the
plugin). JSON is streamed with ijson (a 50 MB CityJSON is never held in memory), NetCDF is
opened with netCDF4 from a temporary copy (only its header and coordinate variables are
read), GLB headers are checked by hand, GeoTIFF keys read with tifffile. Files above ``max_bytes`` are typed by
name only. Extents are reprojected to WGS 84 with pyproj.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

from ckanext.udp.twin import kinds

EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
HEAD = 64 * 1024
# netCDF4 reads coordinate variables whole: bounded by this many values
MAX_COORDINATES = 5_000_000
_EPSG = re.compile(r"EPSG(?:/\d+(?:\.\d+)*/|:+|/)(\d{4,6})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Probe:
    kind: kinds.Kind | None = None
    epsg: int | None = None
    crs_text: str | None = None
    lods: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None  # WGS 84 lon/lat
    details: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def note(self, msgid: str, **params: Any) -> None:
        self.findings.append(Finding(msgid, params))

    @property
    def crs_uri(self) -> str | None:
        return EPSG_URI.format(code=self.epsg) if self.epsg else None


def epsg_of(text: Any) -> int | None:
    """25832 from ``https://www.opengis.net/def/crs/EPSG/0/25832``, ``urn:ogc:def:crs:EPSG::25832``, ``EPSG:25832``."""
    if isinstance(text, int):
        return text if 1000 <= text <= 999999 else None
    match = _EPSG.search(str(text or ""))
    return int(match.group(1)) if match else None


def to_wgs84(epsg: int, box: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """A bounding box in ``epsg`` as WGS 84 longitudes/latitudes (None when it cannot be)."""
    if not all(math.isfinite(v) for v in box):
        return None
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        return None
    if crs.is_compound and crs.sub_crs_list:
        crs = crs.sub_crs_list[0]
    if crs.to_epsg() == 4326:
        out = box
    else:
        out = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform_bounds(*box, densify_pts=5)
    lon0, lat0, lon1, lat1 = out
    if not all(math.isfinite(v) for v in out) or not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        return None
    return (lon0, lat0, lon1, lat1)


def size_of(stream: IO[bytes]) -> int:
    here = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(here)
    return size


def probe(
    stream: IO[bytes],
    name: str,
    media_type: str | None = None,
    max_bytes: int = 200 * 1024 * 1024,
    outside: Callable[[Probe], Probe] | None = None,
) -> Probe:
    """What ``stream`` (a seekable binary file, rewound afterwards) is and says of itself.

    ``outside``: when the file needs a parser (JSON, NetCDF/HDF5, TIFF), it is called with
    what the name and the first bytes told, instead of parsing here: the web process hands
    the file to a limited child process (``twin.guard``), which calls :func:`probe_file`."""
    result = Probe(kind=kinds.from_name(name) or kinds.from_media_type(media_type))
    start = stream.tell()
    try:
        size = size_of(stream)
        result.details["bytes"] = size
        head = stream.read(HEAD)
        stream.seek(start)
        sniffed = _sniff(head)
        if sniffed is not None and sniffed is not result.kind:
            if result.kind is not None and not (sniffed is kinds.GEOTIFF and result.kind is kinds.GEOTIFF):
                result.note(
                    "The file is named like {named} but its content is {found}; typed as {found}.",
                    named=result.kind.label,
                    found=sniffed.label,
                )
            result.kind = sniffed
        looks_json = head.lstrip()[:1] in (b"{", b"[")
        if result.kind is None and not looks_json:
            return result
        if size > max_bytes:
            result.note(
                "The file has {size} MB, more than the {limit} MB read at upload: typed by its name only, "
                "reference system and extent not read.",
                size=round(size / 1e6),
                limit=round(max_bytes / 1e6),
            )
            return result
        if outside is not None and needs_parser(result.kind, head, looks_json, name):
            return outside(result)
        if result.kind in (kinds.CITYJSON, kinds.TILES3D, kinds.GLTF) or (
            looks_json and name.lower().endswith(".json")
        ):
            _json(stream, result, named=result.kind)
        elif result.kind is kinds.NETCDF:
            _netcdf(stream, head, result)
        elif result.kind is kinds.GLB:
            _glb(head, size, result)
        elif result.kind is kinds.GEOTIFF:
            _tiff(stream, head, result)
        elif result.kind is kinds.CITYGML:
            _citygml(head, result)
    except MemoryError:
        raise  # the limited child process reports it (twin.guard)
    except Exception as e:  # noqa: BLE001 - a broken file is a finding, never an error page
        result.note("The file could not be read ({error}).", error=type(e).__name__)
    finally:
        stream.seek(start)
    return result


def needs_parser(kind: kinds.Kind | None, head: bytes, looks_json: bool, name: str) -> bool:
    """Whether reading the file takes a parser of its whole content (not just its first bytes)."""
    if kind in (kinds.CITYJSON, kinds.TILES3D, kinds.GLTF) or (looks_json and name.lower().endswith(".json")):
        return True
    return kind in (kinds.NETCDF, kinds.GEOTIFF) and _sniff(head) is kind


def as_dict(found: Probe) -> dict[str, Any]:
    """``found`` as JSON values (the answer of the child process)."""
    return {
        "kind": found.kind.label if found.kind else None,
        "epsg": found.epsg,
        "crs_text": found.crs_text,
        "lods": list(found.lods),
        "bbox": list(found.bbox) if found.bbox else None,
        "details": found.details,
        "findings": [{"msgid": f.msgid, "params": f.params} for f in found.findings],
    }


def from_dict(data: dict[str, Any]) -> Probe:
    """A :class:`Probe` from :func:`as_dict`'s form (unknown kinds and odd values are dropped)."""
    bbox = data.get("bbox")
    return Probe(
        kind=kinds.BY_LABEL.get(str(data.get("kind"))),
        epsg=epsg_of(data.get("epsg")) if isinstance(data.get("epsg"), int) else None,
        crs_text=str(data["crs_text"]) if data.get("crs_text") else None,
        lods=[str(lod) for lod in data.get("lods") or []],
        bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])) if bbox and len(bbox) == 4 else None,
        details=dict(data.get("details") or {}),
        findings=[Finding(str(f["msgid"]), dict(f.get("params") or {})) for f in data.get("findings") or []],
    )


def probe_file(
    path: str, name: str, media_type: str | None = None, max_bytes: int = 200 * 1024 * 1024
) -> dict[str, Any]:
    """:func:`probe` of the file at ``path``, as JSON values: what the limited child process runs."""
    with open(path, "rb") as stream:
        return as_dict(probe(stream, name, media_type, max_bytes))


def _sniff(head: bytes) -> kinds.Kind | None:
    if head.startswith((b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")):
        return kinds.NETCDF
    if head.startswith(b"glTF"):
        return kinds.GLB
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return kinds.GEOTIFF
    if head.lstrip().startswith(b"<") and b"CityModel" in head:
        return kinds.CITYGML
    return None


# --- JSON: CityJSON, 3D Tiles, glTF ------------------------------------------------------


def _first(stream: IO[bytes], prefix: str) -> Any:
    """The first value at ``prefix`` (ijson filters in C: only that value is built in Python)."""
    stream.seek(0)
    return next(iter(ijson.items(stream, prefix, use_float=True, buf_size=HEAD)), None)


def _json(stream: IO[bytes], result: Probe, named: kinds.Kind | None) -> None:
    """Several passes, each filtered by ijson's C backend: a 50 MB CityJSON is never held
    whole in memory, and only the values asked for reach Python."""
    start = stream.tell()
    try:
        doc_type = _first(stream, "type")
        if doc_type == "CityJSON":
            _cityjson(stream, result)
        elif _first(stream, "asset") is not None:
            _tiles_or_gltf(stream, result, named)
        elif named in (kinds.CITYJSON, kinds.TILES3D, kinds.GLTF):
            result.note('The file is JSON but not {kind} (no "type": "CityJSON", no "asset").', kind=named.label)
            result.kind = None
    except ijson.common.IncompleteJSONError:
        result.note("The file is not complete JSON (it ends too early or is broken).")
    except ijson.common.JSONError:
        result.note("The file is not valid JSON.")
    finally:
        stream.seek(start)


def _cityjson(stream: IO[bytes], result: Probe) -> None:
    result.kind = kinds.CITYJSON
    result.details["version"] = _first(stream, "version")
    metadata = _first(stream, "metadata") or {}
    refsys = metadata.get("referenceSystem") if isinstance(metadata, dict) else None
    result.epsg = epsg_of(refsys)
    result.crs_text = str(refsys) if refsys else None
    if refsys and not result.epsg:
        result.note("The reference system {crs} is not an EPSG code; the extent is not read.", crs=refsys)
    elif not refsys:
        result.note("The CityJSON file names no reference system (metadata.referenceSystem).")
    lods: set[str] = set()
    stream.seek(0)
    for _oid, obj in ijson.kvitems(stream, "CityObjects", use_float=True, buf_size=HEAD):
        for geometry in (obj.get("geometry") or []) if isinstance(obj, dict) else []:
            if isinstance(geometry, dict) and geometry.get("lod") is not None:
                lods.add(str(geometry["lod"]))
    result.lods = sorted(lods)
    extent = metadata.get("geographicalExtent") if isinstance(metadata, dict) else None
    native: tuple[float, float, float, float] | None = None
    if isinstance(extent, list) and len(extent) == 6:
        native = (float(extent[0]), float(extent[1]), float(extent[3]), float(extent[4]))
    elif result.epsg:
        native = _vertex_extent(stream)
    if native and result.epsg:
        result.details["extent_native"] = list(native)
        result.bbox = to_wgs84(result.epsg, native)
        if result.bbox is None:
            result.note("The extent does not fit the reference system EPSG:{code}.", code=result.epsg)


def _vertex_extent(stream: IO[bytes]) -> tuple[float, float, float, float] | None:
    """The extent of the vertices (with the transform applied), streamed."""
    transform = _first(stream, "transform") or {}
    scale = transform.get("scale") or [1.0, 1.0, 1.0]
    translate = transform.get("translate") or [0.0, 0.0, 0.0]
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    stream.seek(0)
    for vertex in ijson.items(stream, "vertices.item", use_float=True, buf_size=HEAD):
        x, y = vertex[0], vertex[1]
        if x < x0:
            x0 = x
        if x > x1:
            x1 = x
        if y < y0:
            y0 = y
        if y > y1:
            y1 = y
    if not math.isfinite(x0):
        return None
    sx, sy, tx, ty = float(scale[0]), float(scale[1]), float(translate[0]), float(translate[1])
    return (x0 * sx + tx, y0 * sy + ty, x1 * sx + tx, y1 * sy + ty)


def _tiles_or_gltf(stream: IO[bytes], result: Probe, named: kinds.Kind | None) -> None:
    asset = _first(stream, "asset")
    version = asset.get("version") if isinstance(asset, dict) else None
    volume = _first(stream, "root.boundingVolume")
    if volume is not None or _first(stream, "root.geometricError") is not None:
        result.kind = kinds.TILES3D
        result.details["version"] = version
        volume = volume if isinstance(volume, dict) else {}
        region = volume.get("region") or []
        box = volume.get("box") or []
        if len(region) == 6:
            west, south, east, north = (math.degrees(float(v)) for v in region[:4])
            result.epsg = 4979
            ok = -180 <= west <= east <= 180 and -90 <= south <= north <= 90
            result.bbox = (west, south, east, north) if ok else None
        elif len(box) == 12:
            transform = _first(stream, "root.transform") or []
            result.epsg = 4978
            result.bbox = _box_extent(
                [float(v) for v in box], [float(v) for v in transform] if len(transform) == 16 else None
            )
        if result.bbox is None:
            result.note("The tileset's bounding volume gives no extent on the earth.")
        return
    if any(_first(stream, key) is not None for key in ("meshes", "scenes", "nodes", "buffers")):
        result.kind = kinds.GLTF
        result.details["version"] = version
        return
    if named in (kinds.CITYJSON, kinds.TILES3D, kinds.GLTF):
        result.note('The file is JSON but not {kind} (no "type": "CityJSON", no "asset").', kind=named.label)
        result.kind = None


def _box_extent(box: list[float], transform: list[float] | None) -> tuple[float, float, float, float] | None:
    """The WGS 84 extent of an oriented box (centre, three half-axes) in earth-centred coordinates."""
    from pyproj import Transformer

    cx, cy, cz = box[0:3]
    axes = [box[3:6], box[6:9], box[9:12]]
    corners = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            for sz in (-1, 1):
                corners.append([cx + sx * axes[0][i] + sy * axes[1][i] + sz * axes[2][i] for i in range(3)])
    if transform:  # column-major 4x4
        m = transform
        corners = [
            [
                m[0] * x + m[4] * y + m[8] * z + m[12],
                m[1] * x + m[5] * y + m[9] * z + m[13],
                m[2] * x + m[6] * y + m[10] * z + m[14],
            ]
            for x, y, z in corners
        ]
    tr = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    lons, lats = [], []
    for x, y, z in corners:
        lon, lat, _ = tr.transform(x, y, z)
        lons.append(lon)
        lats.append(lat)
    out = (min(lons), min(lats), max(lons), max(lats))
    if not all(math.isfinite(v) for v in out) or abs(out[1]) > 90 or abs(out[3]) > 90:
        return None
    return out


# --- NetCDF -------------------------------------------------------------------------------


def _netcdf(stream: IO[bytes], head: bytes, result: Probe) -> None:
    if _sniff(head) is not kinds.NETCDF:
        result.note("The file is named like NetCDF but is none (no NetCDF or HDF5 signature).")
        result.kind = None
        return
    path = getattr(stream, "name", None)
    if isinstance(path, str) and os.path.isfile(path):  # a file of its own: read in place
        _netcdf_open(path, result)
        return
    with tempfile.NamedTemporaryFile(suffix=".nc") as tmp:
        shutil.copyfileobj(stream, tmp, 1024 * 1024)
        tmp.flush()
        _netcdf_open(tmp.name, result)


def _netcdf_open(path: str, result: Probe) -> None:
    import netCDF4

    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError:
        result.note("The NetCDF file could not be opened (broken or truncated).")
        return
    try:
        _netcdf_read(ds, result)
    finally:
        ds.close()


def _netcdf_read(ds: Any, result: Probe) -> None:
    attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
    result.details["conventions"] = str(attrs.get("Conventions", "")) or None
    data_vars = []
    crs_attrs: dict[str, Any] | None = None
    x = y = None
    for name, var in ds.variables.items():
        vattrs = {k: var.getncattr(k) for k in var.ncattrs()}
        standard = str(vattrs.get("standard_name", ""))
        if "grid_mapping_name" in vattrs or "crs_wkt" in vattrs or "spatial_ref" in vattrs:
            crs_attrs = crs_attrs or vattrs
            continue
        if standard in ("projection_x_coordinate", "longitude") or vattrs.get("axis") == "X":
            x = x if x is not None else var
        elif standard in ("projection_y_coordinate", "latitude") or vattrs.get("axis") == "Y":
            y = y if y is not None else var
        elif len(var.dimensions) >= 2:
            data_vars.append(name)
    result.details["variables"] = data_vars[:20]
    epsg = None
    if crs_attrs is not None:
        epsg = epsg_of(crs_attrs.get("epsg_code")) or epsg_of(crs_attrs.get("crs_wkt") or crs_attrs.get("spatial_ref"))
        if epsg is None:
            try:
                from pyproj import CRS

                epsg = CRS.from_cf(crs_attrs).to_epsg()
            except Exception:  # noqa: BLE001 - an unknown grid mapping is a finding
                epsg = None
        if epsg is None:
            result.note("The grid mapping of the NetCDF file names no EPSG code.")
    geographic = (
        x is not None and str(x.getncattr("standard_name") if "standard_name" in x.ncattrs() else "") == "longitude"
    )
    if epsg is None and geographic:
        epsg = 4326
    result.epsg = epsg
    if x is not None and y is not None and epsg:
        if x.size > MAX_COORDINATES or y.size > MAX_COORDINATES:
            result.note("The grid's coordinate variables are too large to read at upload.")
            return
        xs, ys = x[:], y[:]
        native = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        result.details["extent_native"] = list(native)
        result.bbox = to_wgs84(epsg, native)
        if result.bbox is None:
            result.note("The extent does not fit the reference system EPSG:{code}.", code=epsg)
    elif all(
        k in attrs for k in ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
    ):
        result.epsg = result.epsg or 4326
        result.bbox = to_wgs84(
            4326,
            tuple(
                float(attrs[k])
                for k in ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
            ),  # type: ignore[arg-type]
        )
    else:
        result.note("The NetCDF file has no coordinate variables with a reference system; the extent is not read.")


# --- GLB, TIFF, CityGML -------------------------------------------------------------------


def _glb(head: bytes, size: int, result: Probe) -> None:
    if len(head) < 12 or not head.startswith(b"glTF"):
        result.note("The file is named like GLB but is none (no glTF signature).")
        result.kind = None
        return
    version, length = struct.unpack("<II", head[4:12])
    result.details["version"] = str(version)
    if length != size:
        result.note(
            "The GLB header claims {claimed} bytes, the file has {size}: it is truncated or padded.",
            claimed=length,
            size=size,
        )


def _tiff(stream: IO[bytes], head: bytes, result: Probe) -> None:
    """The reference system and extent from the GeoTIFF keys, read by tifffile
    (``geotiff_metadata``); a file it cannot parse is a finding."""
    if _sniff(head) is not kinds.GEOTIFF:
        result.note("The file is named like TIFF but is none (no TIFF signature).")
        result.kind = None
        return
    import tifffile

    stream.seek(0)
    try:
        with tifffile.TiffFile(stream) as tif:
            page = tif.pages.first
            shape = (int(page.imagelength), int(page.imagewidth))
            geo = tif.geotiff_metadata if tif.is_geotiff else None
    except Exception:  # noqa: BLE001 - any parser error of a hostile file is a finding
        result.note("The TIFF file could not be read (broken or truncated).")
        return
    if not geo or not any(k in geo for k in ("ProjectedCSTypeGeoKey", "GeographicTypeGeoKey")):
        result.note("The TIFF file has no GeoTIFF keys: no reference system.")
        return
    for key in ("ProjectedCSTypeGeoKey", "GeographicTypeGeoKey"):
        code = _geokey_code(geo.get(key))
        if code is not None:
            result.epsg = code
            break
    box = _tiff_box(geo, shape)
    if result.epsg and box:
        result.details["extent_native"] = list(box)
        result.bbox = to_wgs84(result.epsg, box)
        if result.bbox is None:
            result.note("The extent does not fit the reference system EPSG:{code}.", code=result.epsg)


def _geokey_code(value: Any) -> int | None:
    """An EPSG code from a GeoKey value (tifffile gives an enum member or an int;
    0 and 32767 mean undefined and user-defined)."""
    try:
        code = int(value)
    except (TypeError, ValueError):
        return None
    return code if 1000 <= code <= 999999 and code != 32767 else None


def _tiff_box(geo: dict[str, Any], shape: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """The native extent from a tie point and the pixel scale (north-up rasters)."""
    tie, scale = geo.get("ModelTiepoint"), geo.get("ModelPixelScale")
    try:
        i, j, _k, x, y, _z = (float(v) for v in list(tie)[:6])  # type: ignore[arg-type]
        sx, sy = (float(v) for v in list(scale)[:2])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    west, north = x - i * sx, y + j * sy
    east, south = west + shape[1] * sx, north - shape[0] * sy
    box = (min(west, east), min(south, north), max(west, east), max(south, north))
    return box if all(math.isfinite(v) for v in box) else None


def _citygml(head: bytes, result: Probe) -> None:
    text = head.decode("utf-8", "replace")
    match = re.search(r'srsName="([^"]+)"', text)
    if match:
        result.crs_text = match.group(1)
        result.epsg = epsg_of(match.group(1))
    lods = sorted(set(re.findall(r"<(?:\w+:)?lod(\d)", text)))
    result.lods = [f"{lod}" for lod in lods]
