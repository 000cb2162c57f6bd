"""The 3D climate twin's previews as a citizen sees them (udp_view3d, udp_grid):
a CityJSON block model, a 3D Tiles tileset with GLB content and a GLB drawn by
WebGL (the canvas is read back: pixels other than the background), turned with
the keyboard and reset with the button; a NetCDF grid as an image with its
legend, another time step chosen with the German selectors. Desktop and 375 px,
axe 0 violations, and no request leaves 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
import numpy as np
import pytest
from browserlib import assert_fits
from ckan.tests import factories
from PIL import Image
from udp_testing import public_dataset
from view3d import samples
from werkzeug.datastructures import FileStorage

BACKGROUND = (244, 246, 248)  # the 3D view's clear colour (#f4f6f8)


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def upload(dataset: dict[str, Any], name: str, body: bytes, fmt: str) -> dict[str, Any]:
    """An uploaded file; the 3D formats are not (yet) in the EU file-type list: recognised by the file name."""
    data = {"package_id": dataset["id"], "name": name, "url": name, "format": fmt}
    data["upload"] = FileStorage(io.BytesIO(body), filename=name)
    return tk.get_action("resource_create")(system(), data)


def drawn_share(page: Any) -> tuple[float, str]:
    """The share of the canvas' pixels that are not the background, and the picture as a data URL."""
    url = page.locator(".udp-view3d-stage canvas").evaluate("c => c.toDataURL('image/png')")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)
    differs = np.abs(pixels - np.array(BACKGROUND)).sum(axis=2) > 12
    return float(differs.mean()), url


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "375px"])
def test_the_3d_previews_draw_and_the_grid_preview_shows_its_legend(
    new_page: Callable[..., Any], steps: Any, axe_check: Callable[..., None], tmp_path: Any, mobile: bool
) -> None:
    org = factories.Organization()
    dataset = public_dataset(name="klimazwilling-demo", title="Klimazwilling (Testdaten)", owner_org=org["id"])
    # its texture is named on another host: the view must not fetch it (no third-party request)
    glb = upload(dataset, "haeuser.glb", samples.glb(texture_uri="http://127.0.0.2:9/textur.png"), "")
    model = upload(dataset, "block.city.json", json.dumps(samples.cityjson()).encode(), "")
    content = f"/dataset/{dataset['id']}/resource/{glb['id']}/download/haeuser.glb"
    tiles = upload(dataset, "tileset.json", json.dumps(samples.tileset(content)).encode(), "")
    grid = upload(dataset, "hitze.nc", samples.write_netcdf(tmp_path / "hitze.nc").read_bytes(), "NetCDF")

    page = new_page(mobile=mobile)
    hosts: set[str] = set()
    # the CityJSON Worker's script is a blob: URL of the page's own origin (no network request)
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith("blob:http://127.0.0.1")
            else hosts.add(urlsplit(request.url).hostname or request.url[:20])
        ),
    )
    expected = {
        model["id"]: ["Stadtobjekte: 7", "Building 6", "PlantCover 1", "LoD: 1", "EPSG/0/25832"],
        tiles["id"]: ["3D Tiles 1.1", "Geladene Kacheln: 1"],
        glb["id"]: ["Netze: 1", "Dreiecke: 36", "Koordinatenreferenzsystem: in der Datei nicht angegeben"],
    }
    for resource_id, facts in expected.items():
        page.goto(f"/dataset/{dataset['name']}/resource/{resource_id}")
        view = page.locator(".udp-view3d")
        view.locator("xpath=self::*[@data-state='drawn' or @data-state='error']").wait_for(timeout=60_000)
        status = view.locator(".udp-view3d-status").inner_text()
        assert view.get_attribute("data-state") == "drawn", status
        share, before = drawn_share(page)
        assert share > 0.01, f"{resource_id}: only {share:.2%} of the canvas drawn"
        summary = view.locator(".udp-view3d-summary").inner_text()
        for fact in facts:
            assert fact in summary, (fact, summary)
        if resource_id == model["id"]:
            # CityJSON is read in a Web Worker; the first part was drawn before the whole model
            assert view.get_attribute("data-reader") == "worker"
            assert int(view.get_attribute("data-first-frame-ms") or -1) >= 0
            # WebGL on the CPU (SwiftShader here): no multisampling, it made each frame of a
            # large model several times slower and froze the page while it was read back
            assert view.get_attribute("data-antialias") == "false"
        # keyboard: the picture takes focus and turns with the arrow keys; the button resets it
        canvas = view.locator("canvas")
        canvas.focus()
        page.keyboard.press("ArrowLeft")
        _, turned = drawn_share(page)
        assert turned != before
        page.get_by_role("button", name="Ansicht zurücksetzen").click()
        _, reset = drawn_share(page)
        assert reset == before
        steps.shot(page, f"3d-{resource_id}")
        assert_fits(page)
        axe_check(page)

    page.goto(f"/dataset/{dataset['name']}/resource/{grid['id']}")
    image = page.locator("img.udp-grid-image")
    image.wait_for()
    assert page.evaluate("i => i.complete && i.naturalWidth > 0", image.element_handle())
    assert page.locator(".udp-grid-legend").is_visible()
    assert "Legende (degC)" in page.locator(".udp-grid-legend").inner_text()
    first = page.locator(".udp-grid-stats").inner_text()
    assert first.startswith("Hitzeindex: Minimum")
    page.get_by_label("Zeitschritt").select_option(label="01.07.2026 14:00")
    page.get_by_role("button", name="Anzeigen").click()
    page.locator("img.udp-grid-image[src*='time=2']").wait_for()
    assert page.locator(".udp-grid-stats").inner_text() != first
    # the picture is drawn in a limited child process (~1 s to start): wait until it has loaded, then it must be a picture
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img.udp-grid-image[src*='time=2']\"); return i && i.complete; }",
        timeout=90_000,
    )
    assert page.evaluate("i => i.complete && i.naturalWidth > 0", page.locator("img.udp-grid-image").element_handle())
    steps.shot(page, "grid")
    assert_fits(page)
    axe_check(page)
    assert hosts <= {"127.0.0.1"}, hosts
