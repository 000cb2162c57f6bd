"""Small files of every kind the 3D view and the grid preview show, made by
the tests themselves: a CityJSON LoD1 block model, a GLB, a 3D Tiles tileset
with GLB content and a NetCDF grid (plus a GeoTIFF and broken files)."""

from __future__ import annotations

import json
import pathlib
import struct
from typing import Any

import numpy as np

#: Friedrichsplatz, Karlsruhe, in ETRS89 / UTM 32N (approximate; demo data)
ORIGIN = (456_500.0, 5_428_700.0, 115.0)


def cityjson(blocks: int = 6, *, per_row: int = 10) -> dict[str, Any]:
    """``blocks`` LoD1 buildings (boxes) in rows, and one tree area (PlantCover)."""
    scale = 0.001
    vertices: list[list[int]] = []
    objects: dict[str, Any] = {}

    def vertex(x: float, y: float, z: float) -> int:
        vertices.append([round(x / scale), round(y / scale), round(z / scale)])
        return len(vertices) - 1

    for i in range(blocks):
        x0, y0 = (i % per_row) * 30.0, (i // per_row) * 30.0
        w, d, h = 20.0, 15.0, 10.0 + (i % 5) * 4.0
        b = [vertex(x0, y0, 0), vertex(x0 + w, y0, 0), vertex(x0 + w, y0 + d, 0), vertex(x0, y0 + d, 0)]
        t = [vertex(x0, y0, h), vertex(x0 + w, y0, h), vertex(x0 + w, y0 + d, h), vertex(x0, y0 + d, h)]
        shell = [
            [[b[0], b[3], b[2], b[1]]],  # ground
            [[t[0], t[1], t[2], t[3]]],  # roof
            [[b[0], b[1], t[1], t[0]]],
            [[b[1], b[2], t[2], t[1]]],
            [[b[2], b[3], t[3], t[2]]],
            [[b[3], b[0], t[0], t[3]]],
        ]
        objects[f"gebaeude-{i + 1}"] = {
            "type": "Building",
            "attributes": {"measuredHeight": h},
            "geometry": [{"type": "Solid", "lod": "1", "boundaries": [shell]}],
        }
    # a tree area with a hole (a fountain), to exercise holes
    ring = [vertex(-40, -40, 0), vertex(-10, -40, 0), vertex(-10, -10, 0), vertex(-40, -10, 0)]
    hole = [vertex(-30, -30, 0), vertex(-30, -20, 0), vertex(-20, -20, 0), vertex(-20, -30, 0)]
    objects["park"] = {
        "type": "PlantCover",
        "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": [[ring, hole]]}],
    }
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [scale] * 3, "translate": list(ORIGIN)},
        "metadata": {
            "referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/25832",
            "title": "Demo-Blockmodell (erfunden)",
        },
        "CityObjects": objects,
        "vertices": vertices,
    }


def write_cityjson(path: pathlib.Path, blocks: int = 6) -> pathlib.Path:
    path.write_text(json.dumps(cityjson(blocks), separators=(",", ":")))
    return path


def glb(boxes: int = 3, texture_uri: str | None = None) -> bytes:
    """A binary glTF 2.0 with ``boxes`` boxes in one mesh (y up, metres); ``texture_uri``:
    its material names a texture image at that address (e.g. on another host)."""
    positions: list[tuple[float, float, float]] = []
    normals: list[tuple[float, float, float]] = []
    indices: list[int] = []
    faces = (
        ((1, 0, 0), [(1, 0, 0), (1, 1, 0), (1, 1, 1), (1, 0, 1)]),
        ((-1, 0, 0), [(0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 0, 0)]),
        ((0, 1, 0), [(0, 1, 0), (0, 1, 1), (1, 1, 1), (1, 1, 0)]),
        ((0, -1, 0), [(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)]),
        ((0, 0, 1), [(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]),
        ((0, 0, -1), [(1, 0, 0), (0, 0, 0), (0, 1, 0), (1, 1, 0)]),
    )
    for k in range(boxes):
        x0, size = -30.0 + k * 22.0, (16.0, 10.0 + 8.0 * k, 16.0)
        for normal, corners in faces:
            start = len(positions)
            for cx, cy, cz in corners:
                positions.append((x0 + cx * size[0], cy * size[1], -8.0 + cz * size[2]))
                normals.append(normal)
            indices += [start, start + 1, start + 2, start, start + 2, start + 3]
    pos = np.array(positions, dtype="<f4")
    nor = np.array(normals, dtype="<f4")
    idx = np.array(indices, dtype="<u2")
    blob = pos.tobytes() + nor.tobytes() + idx.tobytes()
    blob += b"\x00" * (-len(blob) % 4)
    doc = {
        "asset": {"version": "2.0", "generator": "ckanext-udp tests"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "Demo-Gebaeude"}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.8, 0.55, 0.35, 1], "metallicFactor": 0}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}],
        "buffers": [{"byteLength": len(blob)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": pos.nbytes, "target": 34962},
            {"buffer": 0, "byteOffset": pos.nbytes, "byteLength": nor.nbytes, "target": 34962},
            {"buffer": 0, "byteOffset": pos.nbytes + nor.nbytes, "byteLength": idx.nbytes, "target": 34963},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(pos),
                "type": "VEC3",
                "min": pos.min(axis=0).tolist(),
                "max": pos.max(axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5126, "count": len(nor), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": len(idx), "type": "SCALAR"},
        ],
    }
    if texture_uri:
        doc["images"] = [{"uri": texture_uri}]
        doc["textures"] = [{"source": 0}]
        doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(blob), 0x004E4942) + blob
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def tileset(content_uri: str) -> dict[str, Any]:
    """A 3D Tiles 1.1 tileset of one tile whose content is a GLB (z up; glTF's y up is turned by the reader)."""
    return {
        "asset": {"version": "1.1"},
        "geometricError": 200,
        "root": {
            "boundingVolume": {"box": [0, 0, 15, 60, 0, 0, 0, 60, 0, 0, 0, 30]},
            "geometricError": 0,
            "refine": "ADD",
            "content": {"uri": content_uri},
        },
    }


def write_netcdf(path: pathlib.Path, *, hours: int = 4, ny: int = 30, nx: int = 40) -> pathlib.Path:
    """A heat-index grid over Karlsruhe for ``hours`` hours (made-up numbers), with some cells without value."""
    import netCDF4

    with netCDF4.Dataset(path, "w") as ds:
        ds.title = "Hitzeindex Karlsruhe (Demodaten, erfunden)"
        ds.createDimension("time", hours)
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        time = ds.createVariable("time", "f8", ("time",))
        time.units = "hours since 2026-07-01 12:00:00"
        time[:] = np.arange(hours)
        lat = ds.createVariable("lat", "f4", ("lat",))
        lat.units = "degrees_north"
        lat[:] = np.linspace(48.95, 49.10, ny)
        lon = ds.createVariable("lon", "f4", ("lon",))
        lon.units = "degrees_east"
        lon[:] = np.linspace(8.30, 8.55, nx)
        heat = ds.createVariable("hitzeindex", "f4", ("time", "lat", "lon"), fill_value=-9999.0)
        heat.long_name = "Hitzeindex"
        heat.units = "degC"
        yy, xx = np.meshgrid(np.linspace(-1, 1, ny), np.linspace(-1, 1, nx), indexing="ij")
        for t in range(hours):
            values = 28.0 + 6.0 * np.exp(-(xx**2 + yy**2) * 2) + t
            values[:2, :3] = -9999.0  # no value (masked)
            heat[t] = values
    return path


def write_geotiff(path: pathlib.Path) -> pathlib.Path:
    import tifffile

    data = np.linspace(0, 1, 20 * 30, dtype="float32").reshape(20, 30) * 50.0
    tifffile.imwrite(path, data)
    return path


# --- hostile files: small on disk, huge when read -------------------------------------------------


def deep_cityjson(levels: int = 30_000) -> bytes:
    """A CityJSON of ~60 KB whose metadata is an array nested ``levels`` deep: a
    streaming JSON parser builds it in memory that grows with the square of the depth
    (30,000 levels: ~2 GB)."""
    return b'{"type":"CityJSON","version":"2.0","metadata":' + b"[" * levels + b"]" * levels + b"}"


def write_huge_time_netcdf(path: pathlib.Path, steps: int = 5_000_000) -> pathlib.Path:
    """A NetCDF-4 file of ~10 KB declaring ``steps`` time steps of a 2 x 2 grid: nothing is
    written (HDF5 stores no unwritten chunk), yet reading the time axis unpacks all of
    them (5 million: ~1.3 GB and half a minute in the web process)."""
    import netCDF4

    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", steps)
        ds.createDimension("y", 2)
        ds.createDimension("x", 2)
        time = ds.createVariable("time", "f8", ("time",), chunksizes=(1 << 20,))
        time.units = "hours since 2026-07-01 00:00"
        ds.createVariable("y", "f8", ("y",))[:] = [0.0, 1.0]
        ds.createVariable("x", "f8", ("x",))[:] = [0.0, 1.0]
        ds.createVariable("hitzeindex", "f4", ("time", "y", "x"), chunksizes=(1, 2, 2))
    return path


def write_tiff_bomb(path: pathlib.Path, side: int = 5000) -> pathlib.Path:
    """A GeoTIFF of a few KB (deflate of zeros) that unpacks to ``side`` x ``side``
    cells (5,000: 25 million, the preview's cell cap; 200 MB as numbers)."""
    import tifffile

    tifffile.imwrite(path, np.zeros((side, side), dtype="uint8"), compression="zlib", rowsperstrip=side)
    return path
