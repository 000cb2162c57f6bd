"""Made-up demo files of the 3D climate twin (Demodaten), generated, never downloaded:

- ``block_model()``: a CityJSON 2.0 LoD1 block model of a dozen extruded footprints
  around Friedrichsplatz, Karlsruhe, in EPSG:25832
- ``glb(model)``: the same blocks as a binary glTF (own small writer: positions, normals,
  indices), local east/up/south metres around the model's centre
- ``tileset(model, glb_uri)``: a 3D Tiles 1.1 tileset with the GLB as its content, placed
  on the earth by an east-north-up transform, its region in radians
- ``heat_grid(path)``: a CF-1.8 NetCDF heat index grid over the city, 100 m cells, six
  hours of a summer day, with a ``crs`` grid-mapping variable
"""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

FRIEDRICHSPLATZ = (8.4020, 49.0087)  # lon, lat
EPSG = 25832
# footprints (dx, dy, width, depth, height) in metres around the square's centre: the
# square itself (about 110 x 80 m) stays open
BLOCKS = [
    (-95, 60, 45, 25, 18.0),
    (-35, 65, 50, 22, 21.0),
    (30, 62, 40, 26, 16.5),
    (85, 55, 35, 30, 24.0),
    (-100, -5, 28, 50, 15.0),
    (92, -8, 30, 45, 19.5),
    (-95, -70, 42, 28, 22.5),
    (-35, -72, 55, 24, 17.0),
    (30, -68, 38, 30, 20.0),
    (88, -65, 36, 27, 14.5),
    (-30, 120, 60, 30, 25.0),
    (40, -125, 50, 32, 18.5),
]


def centre_utm() -> tuple[float, float]:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{EPSG}", always_xy=True)
    x, y = tr.transform(*FRIEDRICHSPLATZ)
    return round(x, 1), round(y, 1)


def block_model() -> dict[str, Any]:
    """CityJSON 2.0, LoD1 solids, integer vertices with a transform (as the spec asks)."""
    cx, cy = centre_utm()
    scale = 0.01
    translate = [cx - 200.0, cy - 200.0, 115.0]  # ground about 115 m above sea level
    vertices: list[list[int]] = []
    objects: dict[str, Any] = {}
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    for i, (dx, dy, w, d, h) in enumerate(BLOCKS, start=1):
        x0, y0 = cx + dx - w / 2, cy + dy - d / 2
        corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + d), (x0, y0 + d)]
        base = len(vertices)
        for z in (0.0, h):
            for x, y in corners:
                real = (x, y, translate[2] + z)
                for k in range(3):
                    lo[k], hi[k] = min(lo[k], real[k]), max(hi[k], real[k])
                vertices.append([round((real[k] - translate[k]) / scale) for k in range(3)])
        b = [base + k for k in range(8)]
        shell = [
            [[b[0], b[3], b[2], b[1]]],  # ground, facing down
            [[b[4], b[5], b[6], b[7]]],  # roof
            [[b[0], b[1], b[5], b[4]]],
            [[b[1], b[2], b[6], b[5]]],
            [[b[2], b[3], b[7], b[6]]],
            [[b[3], b[0], b[4], b[7]]],
        ]
        objects[f"demo-gebaeude-{i:02d}"] = {
            "type": "Building",
            "attributes": {"measuredHeight": h, "storeysAboveGround": max(1, round(h / 3.2)), "demo": True},
            "geometry": [{"type": "Solid", "lod": "1", "boundaries": [shell]}],
        }
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [scale, scale, scale], "translate": translate},
        "metadata": {
            "title": "Blockmodell Friedrichsplatz, Karlsruhe (Demodaten, LoD1)",
            "referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{EPSG}",
            "geographicalExtent": [round(v, 3) for v in (lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])],
            "pointOfContact": {
                "contactName": "Stadt Karlsruhe (Demodaten)",
                "emailAddress": "demo@udp-karlsruhe.invalid",
            },
        },
        "CityObjects": objects,
        "vertices": vertices,
    }


def _real_boxes(model: dict[str, Any]) -> list[tuple[list[tuple[float, float, float]], list[list[int]]]]:
    scale, translate = model["transform"]["scale"], model["transform"]["translate"]
    verts = [tuple(v[k] * scale[k] + translate[k] for k in range(3)) for v in model["vertices"]]
    out = []
    for obj in model["CityObjects"].values():
        shell = obj["geometry"][0]["boundaries"][0]
        out.append((verts, [surface[0] for surface in shell]))
    return out


def _centre(model: dict[str, Any]) -> tuple[float, float, float]:
    e = model["metadata"]["geographicalExtent"]
    return ((e[0] + e[3]) / 2, (e[1] + e[4]) / 2, e[2])


def glb(model: dict[str, Any]) -> bytes:
    """The blocks as one glTF 2.0 mesh (y up, metres around the model's centre on the ground)."""
    ox, oy, oz = _centre(model)
    positions: list[float] = []
    normals: list[float] = []
    indices: list[int] = []
    for verts, faces in _real_boxes(model):
        for ring in faces:
            pts = [verts[i] for i in ring]
            local = [(x - ox, z - oz, -(y - oy)) for x, y, z in pts]  # east, up, south
            (ax, ay, az), (bx, by, bz), (qx, qy, qz) = local[0], local[1], local[2]
            ux, uy, uz = bx - ax, by - ay, bz - az
            vx, vy, vz = qx - ax, qy - ay, qz - az
            n = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
            length = math.sqrt(sum(c * c for c in n)) or 1.0
            start = len(positions) // 3
            for p in local:
                positions.extend(p)
                normals.extend(c / length for c in n)
            indices.extend([start, start + 1, start + 2, start, start + 2, start + 3])
    pos_bytes = struct.pack(f"<{len(positions)}f", *positions)
    nor_bytes = struct.pack(f"<{len(normals)}f", *normals)
    idx_bytes = struct.pack(f"<{len(indices)}I", *indices)
    xs, ys, zs = positions[0::3], positions[1::3], positions[2::3]
    count = len(positions) // 3
    doc = {
        "asset": {"version": "2.0", "generator": "ckanext-udp udp_twin (Demodaten)"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "Blockmodell Friedrichsplatz (Demodaten)"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.82, 0.8, 0.76, 1.0], "metallicFactor": 0.0}}],
        "buffers": [{"byteLength": len(pos_bytes) + len(nor_bytes) + len(idx_bytes)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_bytes), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos_bytes), "byteLength": len(nor_bytes), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos_bytes) + len(nor_bytes), "byteLength": len(idx_bytes), "target": 34963},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": count,
                "type": "VEC3",
                "min": [min(xs), min(ys), min(zs)],
                "max": [max(xs), max(ys), max(zs)],
            },
            {"bufferView": 1, "componentType": 5126, "count": count, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5125, "count": len(indices), "type": "SCALAR"},
        ],
    }
    js = json.dumps(doc, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    binary = pos_bytes + nor_bytes + idx_bytes
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return (
        struct.pack("<4sII", b"glTF", 2, total)
        + struct.pack("<I4s", len(js), b"JSON")
        + js
        + struct.pack("<I4s", len(binary), b"BIN\0")
        + binary
    )


def tileset(model: dict[str, Any], glb_uri: str) -> dict[str, Any]:
    """3D Tiles 1.1: one tile, the GLB as content, an east-north-up frame at the model's centre."""
    from pyproj import Transformer

    ox, oy, oz = _centre(model)
    lon, lat = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True).transform(ox, oy)
    x, y, z = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon, lat, oz)
    lo, la = math.radians(lon), math.radians(lat)
    east = (-math.sin(lo), math.cos(lo), 0.0)
    north = (-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la))
    up = (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))
    transform = [*east, 0.0, *north, 0.0, *up, 0.0, x, y, z, 1.0]  # column-major
    e = model["metadata"]["geographicalExtent"]
    to_geo = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    w, s, ea, n = to_geo.transform_bounds(e[0], e[1], e[3], e[4])
    return {
        "asset": {"version": "1.1", "generator": "ckanext-udp udp_twin (Demodaten)"},
        "geometricError": 200,
        "root": {
            "transform": [round(v, 9) for v in transform],
            "boundingVolume": {
                "region": [math.radians(w), math.radians(s), math.radians(ea), math.radians(n), 0.0, e[5] - e[2]]
            },
            "geometricError": 0,
            "refine": "ADD",
            "content": {"uri": glb_uri},
        },
    }


def heat_grid(path: str, cell: float = 100.0, hours: tuple[int, ...] = (10, 12, 14, 16, 18, 20)) -> None:
    """A made-up heat index (°C) over Karlsruhe for six hours of 2025-07-15: warmer in the
    dense centre, cooler over the Hardtwald and the Rhine, a daily course peaking at 16 h."""
    import netCDF4
    import numpy as np
    from pyproj import CRS, Transformer

    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{EPSG}", always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(8.28, 48.94, 8.55, 49.09)
    xs = np.arange(math.floor(x0 / cell) * cell + cell / 2, x1, cell)
    ys = np.arange(math.floor(y0 / cell) * cell + cell / 2, y1, cell)
    cx, cy = tr.transform(*FRIEDRICHSPLATZ)
    gx, gy = np.meshgrid(xs, ys)
    dist = np.hypot(gx - cx, gy - cy) / 1000.0
    rng = random.Random(18)
    noise = np.array([[rng.uniform(-0.6, 0.6) for _ in xs] for _ in ys])
    forest = np.exp(-(((gx - (cx + 500)) / 1500) ** 2 + ((gy - (cy + 3500)) / 1500) ** 2)) * 3.5
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.8"
        ds.title = "Hitzeindex Karlsruhe, 15. Juli 2025 (Demodaten)"
        ds.summary = "Erfundene Werte zur Vorführung des 3D-Klimazwillings, keine Messung, keine Simulation."
        ds.institution = "Stadt Karlsruhe (Demodaten)"
        ds.createDimension("time", len(hours))
        ds.createDimension("y", len(ys))
        ds.createDimension("x", len(xs))
        crs = ds.createVariable("crs", "i4")
        for key, value in CRS.from_epsg(EPSG).to_cf().items():
            crs.setncattr(key, value)
        crs.epsg_code = f"EPSG:{EPSG}"
        t = ds.createVariable("time", "f8", ("time",))
        t.standard_name = "time"
        t.units = "hours since 2025-07-15 00:00:00 +02:00"
        t[:] = np.array(hours, dtype="f8")
        vx = ds.createVariable("x", "f8", ("x",))
        vx.standard_name, vx.units, vx.axis = "projection_x_coordinate", "m", "X"
        vx[:] = xs
        vy = ds.createVariable("y", "f8", ("y",))
        vy.standard_name, vy.units, vy.axis = "projection_y_coordinate", "m", "Y"
        vy[:] = ys
        hi = ds.createVariable("heat_index", "f4", ("time", "y", "x"), zlib=True, complevel=4, fill_value=-9999.0)
        hi.long_name = "Hitzeindex (gefühlte Temperatur)"
        hi.units = "degC"
        hi.grid_mapping = "crs"
        for k, hour in enumerate(hours):
            course = 27.0 + 7.0 * math.sin(math.pi * (hour - 10) / 12)
            hi[k, :, :] = (course + 3.0 * np.exp(-dist / 2.5) - forest + noise).astype("f4")
