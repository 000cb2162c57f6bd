"""The grid preview: one variable and time step of a NetCDF file (or a GeoTIFF
band) as a PNG with its statistics; broken files get a German 4xx; the image
answers only to whoever may see the resource; default views are made."""

from __future__ import annotations

import io
import pathlib
import uuid
from typing import Any

import ckan.plugins.toolkit as tk
import numpy as np
import pytest
from ckan.tests import factories
from PIL import Image
from udp_testing import public_dataset
from view3d import samples
from werkzeug.datastructures import FileStorage

from ckanext.udp.view3d import grid

BIG = 500 * 1024 * 1024
CELLS = 25_000_000


@pytest.fixture(scope="module")
def netcdf(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return samples.write_netcdf(tmp_path_factory.mktemp("grid") / "hitze.nc")


def test_a_netcdf_slice_has_its_statistics_and_cells_without_value_are_transparent(netcdf: pathlib.Path) -> None:
    (variable,) = grid.describe(str(netcdf), BIG)
    assert (variable.name, variable.label, variable.unit) == ("hitzeindex", "Hitzeindex", "degC")
    assert variable.times == ["01.07.2026 12:00", "01.07.2026 13:00", "01.07.2026 14:00", "01.07.2026 15:00"]
    first = grid.render(str(netcdf), "hitzeindex", 0, BIG, CELLS)
    third = grid.render(str(netcdf), "hitzeindex", 2, BIG, CELLS)
    import netCDF4

    with netCDF4.Dataset(netcdf) as ds:
        expected = np.ma.asarray(ds["hitzeindex"][2])
    assert third.stats["valid"] == expected.count() == 30 * 40 - 6
    assert third.stats["min"] == pytest.approx(float(expected.min()))
    assert third.stats["max"] == pytest.approx(float(expected.max()))
    assert third.stats["mean"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert third.stats["mean"] == pytest.approx(first.stats["mean"] + 2, rel=1e-5)
    image = Image.open(io.BytesIO(third.png))
    assert image.format == "PNG" and image.mode == "RGBA"
    alpha = np.asarray(image)[..., 3]
    scale = image.width // 40
    assert (alpha == 0).sum() == 6 * scale * scale  # the six cells without a value
    # north up: latitude grows with the index, so the masked south-west corner is drawn at the bottom
    assert alpha[-1, 0] == 0 and alpha[0, 0] == 255


def test_a_geotiff_band(tmp_path: pathlib.Path) -> None:
    path = samples.write_geotiff(tmp_path / "raster.tif")
    (band,) = grid.describe(str(path), BIG)
    part = grid.render(str(path), band.name, 0, BIG, CELLS)
    assert part.stats["min"] == 0 and part.stats["max"] == pytest.approx(50.0) and part.stats["valid"] == 600


def test_broken_and_oversized_files_get_a_german_4xx(tmp_path: pathlib.Path, netcdf: pathlib.Path) -> None:
    broken = tmp_path / "kaputt.nc"
    broken.write_bytes(netcdf.read_bytes()[:300])
    with pytest.raises(grid.GridError) as error:
        grid.render(str(broken), None, 0, BIG, CELLS)
    assert error.value.status == 422 and error.value.msgid == grid.BROKEN
    other = tmp_path / "text.nc"
    other.write_text("kein Raster")
    with pytest.raises(grid.GridError) as error:
        grid.describe(str(other), BIG)
    assert error.value.status == 422 and "neither NetCDF nor GeoTIFF" in error.value.message
    with pytest.raises(grid.GridError) as error:
        grid.render(str(netcdf), None, 0, 1000, CELLS)
    assert error.value.status == 413 and "MB shown as an image" in error.value.msgid
    with pytest.raises(grid.GridError) as error:
        grid.render(str(netcdf), None, 0, BIG, 100)
    assert error.value.status == 413 and error.value.msgid == grid.TOO_MANY_CELLS


# --- through the portal -------------------------------------------------------------------------


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def upload(dataset: dict[str, Any], path: pathlib.Path, **kwargs: Any) -> dict[str, Any]:
    data = {"package_id": dataset["id"], "name": path.name, "url": path.name, "format": "NetCDF", **kwargs}
    data["upload"] = FileStorage(io.BytesIO(path.read_bytes()), filename=path.name)
    return tk.get_action("resource_create")(system(), data)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_the_grid_image_and_its_data_follow_the_datasets_visibility(
    app: Any, netcdf: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    grid.CACHE.items.clear()
    org = factories.Organization()
    public = public_dataset(owner_org=org["id"])
    resource = upload(public, netcdf)
    views = tk.get_action("resource_view_list")(system(), {"id": resource["id"]})
    assert [v["view_type"] for v in views] == ["udp_grid"]
    base = f"/dataset/{public['name']}/resource/{resource['id']}"
    png = app.get(base + "/grid.png?variable=hitzeindex&time=1")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.data.startswith(b"\x89PNG")
    data = app.get(base + "/grid.json?variable=hitzeindex&time=3").json
    assert data["time"] == 3 and data["unit"] == "degC" and data["stats"]["valid"] == 1194
    # the resource page shows the preview with its selectors, legend and statistics
    page = app.get(base).body
    assert 'name="grid_variable"' in page and 'name="grid_time"' in page and "udp-grid-legend" in page
    assert "Hitzeindex: Minimum" in page or "Hitzeindex: minimum" in page
    # unknown variables and time steps are the first ones: they share its cache entry, so
    # random parameters cannot force a fresh read of the file on every request
    cached = len(grid.CACHE.items)
    for junk in ("?variable=gibtsnicht1", "?variable=gibtsnicht2&time=99", "?time=-5", "?variable=hitzeindex&time=77"):
        answer = app.get(base + "/grid.json" + junk)
        assert answer.status_code == 200 and answer.json["variable"] == "hitzeindex" and answer.json["time"] == 0
    assert len(grid.CACHE.items) <= cached + 1  # at most the slice (hitzeindex, 0), nothing per junk value

    # a draft (not published): anonymous visitors get no image, no data
    draft = factories.Dataset(owner_org=org["id"])
    hidden = upload(draft, netcdf)
    for suffix in ("/grid.png", "/grid.json"):
        answer = app.get(f"/dataset/{draft['id']}/resource/{hidden['id']}{suffix}")
        assert answer.status_code in (403, 404), suffix
    assert app.get(f"/dataset/{public['id']}/resource/{hidden['id']}/grid.png").status_code == 404

    # a broken upload: a German message, never a 500
    broken = tmp_path / "kaputt.nc"
    broken.write_bytes(netcdf.read_bytes()[:300])
    bad = upload(public, broken)
    answer = app.get(f"/dataset/{public['id']}/resource/{bad['id']}/grid.json")
    assert answer.status_code == 422 and "beschädigt" in answer.json["error"]
    assert app.get(f"/dataset/{public['id']}/resource/{bad['id']}").status_code == 200


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_a_file_one_worker_read_is_not_read_again_by_the_others(
    netcdf: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each web worker has its own cache; the variable list and the first time step
    are shared through Redis, so a second worker (an empty cache of its own) does not
    read the file again for them. Failures are not shared."""
    from ckanext.udp.view3d import views

    reads: list[str] = []
    real_render, real_describe = grid.render_outside, grid.describe_outside

    def render(*args: Any) -> Any:
        reads.append("render")
        return real_render(*args)

    def describe(*args: Any) -> Any:
        reads.append("describe")
        return real_describe(*args)

    monkeypatch.setattr(grid, "render_outside", render)
    monkeypatch.setattr(grid, "describe_outside", describe)
    resource = upload(public_dataset(owner_org=factories.Organization()["id"]), netcdf)
    # a version of its own, so no earlier step (or run) has filled any cache for it
    resource = dict(resource, last_modified=f"2026-12-02T08:00:00.{uuid.uuid4().int % 10**6:06d}")
    grid.CACHE.items.clear()
    first = views.grid_slice(resource, "hitzeindex", 0)  # what the resource page shows first
    assert reads == ["describe", "render"] and first.time == 0
    grid.CACHE.items.clear()  # the next worker
    assert views.grid_slice(resource, "hitzeindex", 0) == first
    assert reads == ["describe", "render"]  # nothing read again
    # the other time steps stay in the worker that drew them: what visitors pick cannot fill Redis
    assert views.grid_slice(resource, "hitzeindex", 3).time == 3
    assert views.grid_slice(resource, "hitzeindex", 3).time == 3
    assert reads == ["describe", "render", "render"]
    grid.CACHE.items.clear()
    assert views.grid_slice(resource, "hitzeindex", 3).time == 3
    assert reads == ["describe", "render", "render", "render"]
    # a portal with a smaller size limit sharing this Redis is not handed the variable
    # list: the list is shared under the limit it was read with, so it reads the file itself
    with monkeypatch.context() as smaller:
        smaller.setitem(tk.config, "ckanext.udp.grid.max_bytes", str(views.limits()[0] // 2))
        grid.CACHE.items.clear()
        views.grid_variables(resource)
    assert reads[-1] == "describe"

    # a failure stays with the worker that met it: the next one tries the file itself
    failed = dict(resource, last_modified=resource["last_modified"] + "-failed")

    def failing(*args: Any) -> Any:
        reads.append("failed")
        raise grid.GridError(grid.BROKEN, 422)

    monkeypatch.setattr(grid, "render_outside", failing)
    grid.CACHE.items.clear()
    with pytest.raises(grid.GridError):
        views.grid_slice(failed, "hitzeindex", 0)
    monkeypatch.setattr(grid, "render_outside", render)
    grid.CACHE.items.clear()
    assert views.grid_slice(failed, "hitzeindex", 0).time == 0
    assert reads[-2:] == ["failed", "render"]

    # Redis out of reach: the file is read, the preview still answers
    monkeypatch.setitem(tk.config, "ckan.redis.url", "redis://127.0.0.1:9/0")
    grid.CACHE.items.clear()
    fresh = dict(resource, last_modified=resource["last_modified"] + "-no-redis")
    assert views.grid_slice(fresh, "hitzeindex", 0).time == 0
    assert reads[-2:] == ["describe", "render"]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_a_drafts_grid_image_is_refused_to_anonymous(app: Any, netcdf: pathlib.Path) -> None:
    draft = factories.Dataset(owner_org=factories.Organization()["id"])
    hidden = upload(draft, netcdf)
    assert tk.get_action("package_show")(system(), {"id": draft["id"]})["private"]
    answer = app.get(f"/dataset/{draft['id']}/resource/{hidden['id']}/grid.png")
    assert answer.status_code in (403, 404)
    assert not answer.data.startswith(b"\x89PNG")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_3d_resources_get_the_3d_view_by_default() -> None:
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[
            {"url": "https://x.example/modell.city.json", "format": ""},
            {"url": "https://x.example/a.glb", "format": ""},
            {"url": "https://x.example/a.csv", "format": "CSV"},
        ],
    )
    kinds = [
        [v["view_type"] for v in tk.get_action("resource_view_list")(system(), {"id": r["id"]})]
        for r in dataset["resources"]
    ]
    assert kinds[0] == ["udp_view3d"] and kinds[1] == ["udp_view3d"] and "udp_view3d" not in kinds[2]
    added = tk.get_action("resource_create")(
        system(), {"package_id": dataset["id"], "url": "https://x.example/3d/tileset.json", "format": ""}
    )
    assert [v["view_type"] for v in tk.get_action("resource_view_list")(system(), {"id": added["id"]})] == [
        "udp_view3d"
    ]


def test_the_cell_cap_counts_every_band_a_geotiff_page_holds(tmp_path: pathlib.Path) -> None:
    """A page is read whole: four bands of 20 x 30 are 2,400 cells, not 600."""
    import numpy as np
    import tifffile

    path = tmp_path / "vier.tif"
    tifffile.imwrite(path, np.zeros((4, 20, 30), dtype="float32"), planarconfig="separate")
    assert len(grid.describe(str(path), BIG)) == 4
    grid.render(str(path), "band2", 0, BIG, 2400)  # within the cap
    with pytest.raises(grid.GridError) as error:
        grid.render(str(path), "band2", 0, BIG, 1000)  # 600 per band would pass
    assert error.value.status == 413 and error.value.params == {"cells": 2400, "limit": 1000}
