"""``udp_grid`` is usable alone: loaded without ``udp_view3d`` (and without the portal's
plugin and catalogue) it declares its options, makes its default view, serves its
image and draws its preview in German from its own templates, CSS asset and catalogue."""

from __future__ import annotations

import io
import pathlib
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from view3d import samples
from werkzeug.datastructures import FileStorage

pytestmark = [
    pytest.mark.ckan_config("ckan.plugins", "udp_grid"),
    # no clean_db: the reset migrates the tables of plugins not loaded here
    pytest.mark.usefixtures("with_plugins", "clean_index"),
]


def test_udp_grid_alone_previews_a_netcdf_in_german(app: Any, tmp_path: pathlib.Path) -> None:
    assert p.plugin_loaded("udp_grid")
    assert not any(p.plugin_loaded(name) for name in ("udp_view3d", "udp", "udp_twin"))
    assert tk.config.get("ckanext.udp.grid.max_cells") == 25_000_000  # its own declaration's default
    path = samples.write_netcdf(tmp_path / "hitze.nc")
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    dataset = factories.Dataset(owner_org=factories.Organization()["id"])
    resource = tk.get_action("resource_create")(
        {"ignore_auth": True, "user": site_user},
        {
            "package_id": dataset["id"],
            "name": "hitze.nc",
            "url": "hitze.nc",
            "format": "NetCDF",
            "upload": FileStorage(io.BytesIO(path.read_bytes()), filename="hitze.nc"),
        },
    )
    views = tk.get_action("resource_view_list")({"ignore_auth": True}, {"id": resource["id"]})
    assert [(v["view_type"], v["title"]) for v in views] == [("udp_grid", "Rasterbild")]
    base = f"/dataset/{dataset['id']}/resource/{resource['id']}"
    page = app.get(base, extra_environ={"REMOTE_USER": site_user}).body
    # its template, its CSS asset, its German (none of it from udp_view3d or the portal)
    assert 'name="grid_variable"' in page and "udp-grid-legend" in page
    assert "grid.css" in page and "view3d" not in page
    for german in ("Rasterbild", "Zeitschritt", "Legende", "Durchsichtig: kein Wert", "Zellen mit Wert"):
        assert german in page, german
    png = app.get(base + "/grid.png", extra_environ={"REMOTE_USER": site_user})
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    missing = app.get(
        f"/dataset/{dataset['id']}/resource/gibtsnicht/grid.json", extra_environ={"REMOTE_USER": site_user}
    )
    assert missing.status_code == 404 and missing.json["error"] == "Ressource nicht gefunden"
