"""Which resources get the 3D view and the grid preview: by format label, media type or URL."""

from __future__ import annotations

import pytest

from ckanext.udp.view3d import logic

FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"format": "CityJSON"}, "cityjson"),
        ({"format": "cityjson"}, "cityjson"),
        ({"format": "3D Tiles"}, "tiles"),
        ({"format": "glTF"}, "gltf"),
        ({"format": "GLB"}, "gltf"),
        ({"format": "NetCDF"}, "netcdf"),
        ({"format": FILE_TYPE + "NETCDF"}, "netcdf"),
        ({"format": "GeoTIFF"}, "geotiff"),
        ({"format": "", "mimetype": "application/city+json"}, "cityjson"),
        ({"format": "", "mimetype": "model/gltf-binary"}, "gltf"),
        ({"format": "", "mimetype": "application/x-netcdf"}, "netcdf"),
        ({"format": "", "url": "https://x.example/modell.city.json"}, "cityjson"),
        ({"format": "", "url": "https://x.example/3d/tileset.json"}, "tiles"),
        ({"format": "", "url": "https://x.example/a.glb"}, "gltf"),
        ({"format": "", "url": "https://x.example/a.gltf?v=2"}, "gltf"),
        ({"format": "", "url": "https://x.example/hitze.nc"}, "netcdf"),
        ({"format": "", "url": "https://x.example/dgm.TIF"}, "geotiff"),
        ({"format": "CSV", "url": "https://x.example/a.csv"}, None),
        ({"format": "JSON", "url": "https://x.example/a.json"}, None),
        ({}, None),
    ],
)
def test_kind(resource: dict, expected: str | None) -> None:
    assert logic.kind(resource) == expected


def test_3d_and_grid() -> None:
    assert logic.is_3d({"format": "CityJSON"}) and not logic.is_grid({"format": "CityJSON"})
    assert logic.is_grid({"format": "NetCDF"}) and not logic.is_3d({"format": "NetCDF"})
