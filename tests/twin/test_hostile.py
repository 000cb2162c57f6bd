"""Hostile 3D and grid files against the real stack: files of a few kilobytes that a
parser would unpack into gigabytes are read in a limited child process
(``ckanext.udp.sandbox``): the steward gets a German finding, the visitor of the grid
preview a German 4xx, never a 500, and the web process neither grows nor hangs. Large
uploads are read by a background job; the resource says "wird geprüft" until then."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset, run_jobs
from view3d import samples
from werkzeug.datastructures import FileStorage

from ckanext.udp.twin import guard
from ckanext.udp.view3d import grid

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
LIMIT_MB = 320  # the child's address space: ~170 MB is the interpreter with numpy and netCDF4


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def upload(dataset: dict[str, Any], name: str, body: bytes, fmt: str) -> dict[str, Any]:
    data = {"package_id": dataset["id"], "name": name, "url": name, "format": fmt}
    data["upload"] = FileStorage(io.BytesIO(body), filename=name)
    return tk.get_action("resource_create")(system(), data)


@pytest.mark.ckan_config("ckanext.udp.twin.probe_memory_mb", str(LIMIT_MB))
def test_a_deeply_nested_cityjson_is_stopped_by_the_memory_limit(app: Any) -> None:
    """60 KB of brackets: read in the web process, ~2 GB (ijson's prefixes grow with depth)."""
    sysadmin = factories.SysadminWithToken()
    pkg = factories.Dataset(owner_org=factories.Organization()["id"])
    body = samples.deep_cityjson()
    assert len(body) < 100_000
    data = {"package_id": pkg["id"], "name": "tief", "format": "", "upload": (io.BytesIO(body), "tief.city.json")}
    resp = app.post(
        "/api/3/action/resource_create",
        data=data,
        headers={"Authorization": sysadmin["token"]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.body[:300]
    res = json.loads(resp.body)["result"]
    assert res["udp_twin_kind"] == "CityJSON"
    assert f"mehr als {LIMIT_MB} MB Arbeitsspeicher" in res.get("udp_twin_findings", ""), res.get("udp_twin_findings")
    assert not res.get("udp_twin_extent")


@pytest.mark.ckan_config("ckanext.udp.grid.memory_mb", str(LIMIT_MB))
@pytest.mark.parametrize("bomb", ["netcdf", "tiff"])
def test_grid_files_that_unpack_to_gigabytes_get_a_german_4xx(
    app: Any, tmp_path: pathlib.Path, children: list[str], bomb: str
) -> None:
    """A 10 KB NetCDF declaring 5 million time steps (in the web process: ~1.3 GB, ~30 s
    per request) and a TIFF of a few KB unpacking to 25 million cells (each a test of
    its own, so that each is seen failing on its own)."""
    grid.CACHE.items.clear()
    dataset = public_dataset(owner_org=factories.Organization()["id"])
    if bomb == "netcdf":
        path, fmt = samples.write_huge_time_netcdf(tmp_path / "endlos.nc"), "NetCDF"
        assert path.stat().st_size < 100_000
    else:
        path, fmt = samples.write_tiff_bomb(tmp_path / "bombe.tif"), "GeoTIFF"
        assert path.stat().st_size < 1_000_000
    resource = upload(dataset, path.name, path.read_bytes(), fmt)
    base = f"/dataset/{dataset['id']}/resource/{resource['id']}"
    before = len(children)
    answer = app.get(base + "/grid.json")
    assert answer.status_code == 422, (path.name, answer.status_code, answer.body[:200])
    assert f"mehr als {LIMIT_MB} MB Arbeitsspeicher" in answer.json["error"], answer.json
    # read in a child process (not in this one)
    assert len(children) > before, children
    # the failure is kept: asking again starts no new child process
    started = len(children)
    assert app.get(base + "/grid.png").status_code == 422
    assert len(children) == started, children
    assert app.get(base).status_code == 200


@pytest.mark.ckan_config("ckanext.udp.twin.sync_probe_bytes", "1000")
def test_a_large_upload_is_checked_by_a_background_job(app: Any) -> None:
    from ckan.lib.jobs import get_queue

    get_queue().empty()
    dataset = public_dataset(owner_org=factories.Organization()["id"])
    body = json.dumps(samples.cityjson()).encode()
    assert len(body) > 1000
    res = upload(dataset, "block.city.json", body, "")
    # typed by its name at once; read later
    assert res["udp_twin_kind"] == "CityJSON" and res.get(guard.PROBE_FIELD) == guard.PENDING
    assert not res.get("udp_twin_extent") and not res.get("udp_twin_lod")
    page = f"/dataset/{dataset['id']}/resource/{res['id']}"
    assert "wird geprüft" in app.get(page).body
    assert run_jobs() >= 1
    done = tk.get_action("resource_show")(system(), {"id": res["id"]})
    assert not done.get(guard.PROBE_FIELD), done
    assert done["udp_twin_lod"] == "LoD1" and done["udp_twin_crs"] == "EPSG:25832" and done["udp_twin_extent"]
    assert done["mimetype"] == "application/city+json"
    body_after = app.get(page).body
    assert "wird geprüft" not in body_after and "LoD1" in body_after
    # the extent became the dataset's spatial coverage, as a read in the request would
    coverage = tk.get_action("package_show")(system(), {"id": dataset["id"]}).get("spatial_coverage")
    assert coverage and coverage[0]["source"] == "udp_twin"
