"""What ``udp_twin`` reads from 3D and grid files, without CKAN: small files generated here."""

from __future__ import annotations

import io
import json
import struct

import pytest

from ckanext.udp.twin import generate, kinds, probe

FRIEDRICHSPLATZ = generate.FRIEDRICHSPLATZ


def _covers(bbox, lon, lat) -> bool:
    return bbox is not None and bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


def run(content: bytes, name: str, **kw) -> probe.Probe:
    return probe.probe(io.BytesIO(content), name, **kw)


@pytest.fixture(scope="module")
def model() -> dict:
    return generate.block_model()


def test_cityjson_kind_crs_lod_and_extent(model):
    found = run(json.dumps(model).encode(), "modell.json")
    assert found.kind is kinds.CITYJSON and found.epsg == 25832 and found.lods == ["1"]
    assert found.crs_uri == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert _covers(found.bbox, *FRIEDRICHSPLATZ)
    assert found.bbox[2] - found.bbox[0] < 0.01 and not found.findings


def test_cityjson_extent_from_vertices_when_metadata_has_none(model):
    bare = dict(model, metadata={"referenceSystem": "urn:ogc:def:crs:EPSG::25832"})
    found = run(json.dumps(bare).encode(), "x.city.json")
    assert found.epsg == 25832 and _covers(found.bbox, *FRIEDRICHSPLATZ)
    full = run(json.dumps(model).encode(), "x.city.json").bbox
    assert found.bbox == pytest.approx(full, abs=1e-5)


def test_tileset_and_gltf_by_content(model):
    glb = generate.glb(model)
    tiles = run(json.dumps(generate.tileset(model, "m.glb")).encode(), "daten.json")
    assert tiles.kind is kinds.TILES3D and _covers(tiles.bbox, *FRIEDRICHSPLATZ)
    found = run(glb, "modell.glb")
    assert found.kind is kinds.GLB and not found.findings
    length = struct.unpack("<I", glb[12:16])[0]
    gltf = run(glb[20 : 20 + length], "modell.gltf")
    assert gltf.kind is kinds.GLTF


def test_heat_grid_netcdf(tmp_path):
    path = tmp_path / "h.nc"
    generate.heat_grid(str(path), cell=1000.0, hours=(12, 14))
    found = run(path.read_bytes(), "h.nc")
    assert found.kind is kinds.NETCDF and found.epsg == 25832
    assert _covers(found.bbox, *FRIEDRICHSPLATZ) and found.details["variables"] == ["heat_index"]
    assert not found.findings
    # the same file cut in half: a finding, no exception
    content = path.read_bytes()
    cut = run(content[: len(content) // 2], "h.nc")
    assert cut.bbox is None and cut.findings, cut


def geotiff(epsg: int = 25832, rows: int = 20, cols: int = 30) -> bytes:
    """A GeoTIFF over Friedrichsplatz: 100 m cells, GeoKeys naming ``epsg``, a tie point."""
    import numpy as np
    import pyproj
    import tifffile

    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(*FRIEDRICHSPLATZ)
    west, north = x - cols * 50.0, y + rows * 50.0
    keys = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg]
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        np.zeros((rows, cols), dtype="float32"),
        extratags=[
            (33550, "d", 3, (100.0, 100.0, 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, west, north, 0.0), True),
            (34735, "H", len(keys), keys, True),
        ],
    )
    return out.getvalue()


def test_geotiff_reference_system_and_extent_from_its_geokeys():
    found = run(geotiff(), "hitze.tif")
    assert found.kind is kinds.GEOTIFF and found.epsg == 25832 and not found.findings, found
    assert _covers(found.bbox, *FRIEDRICHSPLATZ)
    w, s, e, n = found.details["extent_native"]
    assert (round(e - w), round(n - s)) == (3000, 2000)
    plain = io.BytesIO()
    import numpy as np
    import tifffile

    tifffile.imwrite(plain, np.zeros((4, 4), dtype="uint8"))
    bare = run(plain.getvalue(), "bild.tif")
    assert bare.epsg is None and any("no GeoTIFF keys" in f.msgid for f in bare.findings)


@pytest.mark.parametrize(
    "content,name,finding",
    [
        (b'{"type": "CityJSON", "version": "2.0", "vertices": [[1, 2', "kaputt.city.json", "not complete JSON"),
        (b"das ist kein netcdf", "klima.nc", "no NetCDF or HDF5"),
        (b"glTF" + struct.pack("<II", 2, 2_000_000_000) + b"\x00" * 20, "riesig.glb", "claims 2000000000 bytes"),
        (b'{"a": [1, 2, 3]}', "tileset.json", "not 3D Tiles"),
        (b"II*\x00" + struct.pack("<I", 2_000_000_000), "bild.tif", "truncated"),
        (b"MM\x00*" + struct.pack(">I", 8) + b"\xff\xff" + b"\x00" * 30, "bild.tif", "truncated"),
        (
            b'{"type": "CityJSON", "metadata": {"referenceSystem": "lokal"}, "vertices": [[0, 0, 0]]}',
            "a.city.json",
            "not an EPSG",
        ),
    ],
)
def test_broken_and_hostile_files_are_findings(content, name, finding):
    found = run(content, name)
    assert any(finding in f.msgid.format(**f.params) for f in found.findings), found.findings


def test_files_above_the_cap_are_typed_by_name_only(model):
    found = run(json.dumps(model).encode(), "gross.city.json", max_bytes=1000)
    assert found.kind is kinds.CITYJSON and found.bbox is None and "more than" in found.findings[0].msgid


def test_services_and_labels():
    assert kinds.from_service_url("https://geo.example/ows?SERVICE=WMS&REQUEST=GetCapabilities") is kinds.WMS
    assert kinds.from_service_url("https://geo.example/wfs") is kinds.WFS
    assert kinds.from_service_url("https://geo.example/ogcapi/collections/gebaeude") is kinds.OGCAPI
    assert kinds.from_format("CityGML") is kinds.CITYGML and kinds.from_format("3D Tiles") is kinds.TILES3D
    assert kinds.from_name("https://x.example/a/tileset.json") is kinds.TILES3D
