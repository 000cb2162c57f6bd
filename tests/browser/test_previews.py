"""Previews as a citizen sees them (udp_views): a DataStore table, a GeoJSON
file on the map, a WMS layer and WFS features of a real MapServer on the map,
the spatial coverage of a dataset on its page, and the soil-moisture sensor
series as a chart with the latest values; each at desktop width and at 375 px,
axe 0 violations, German, and no request leaves 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import io
import json
import pathlib
import re
import sys
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import yaml
from browserlib import assert_fits, axe_check
from ckan.tests import factories
from localsources import mapserver
from udp_testing import public_dataset, stack_port
from werkzeug.datastructures import FileStorage

SENSOR_TESTS = pathlib.Path(__file__).resolve().parent.parent / "sensors"


def system() -> dict[str, Any]:
    """The context of the system (the site user)."""
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


CSV = "http://publications.europa.eu/resource/authority/file-type/CSV"
GEOJSON = "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
WMS = "http://publications.europa.eu/resource/authority/file-type/WMS_SRVC"
WFS = "http://publications.europa.eu/resource/authority/file-type/WFS_SRVC"
WIDTHS = (False, True)  # desktop, 375 px


def map_service_port() -> int:
    return stack_port(6)  # this stack's port for MapServer (scripts/stack.sh)


def LIVE_SERVER_CONFIG() -> dict[str, str]:  # noqa: N802 (read by the live_server fixture)
    # the test MapServer is one of "the city's own map servers" the maps may load from
    return {"ckanext.udp.views.map_service_hosts": f"127.0.0.1:{map_service_port()}"}


@pytest.fixture(scope="module")
def map_service() -> Any:
    """MapServer serving the 27 district centroids as WMS and WFS (layer ``stadtteile``)."""
    with mapserver.running(map_service_port()) as url:
        yield url


POINTS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [8.4037, 49.0069]},
            "properties": {"name": "Friedrichsplatz"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [8.4751, 48.9990]},
            "properties": {"name": "Durlach Marktplatz"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[8.38, 49.01], [8.41, 49.01]]},
            "properties": {"name": "Kaiserstraße"},
        },
    ],
}


# English of CKAN's table preview (datatablesview.js, DataTables, resource-view-filters.js)
# that a German visitor must not meet: labels, button titles and tooltips
TABLE_ENGLISH = [
    "Sort",
    "Add Filter",
    "Print",
    "Copy to clipboard",
    "Reset",
    "Filtered download",
    "Share current view",
    "Table/List toggle",
    "Toggle column visibility",
    "TABLE FILTER",
    "COLUMN FILTER/S",
    "Refit",
    "Search",
    "Showing",
    "entries",
    "Previous",
    "Next",
]


def english_on(page: Any) -> list[str]:
    """The strings of TABLE_ENGLISH in the page's visible text and its titles, labels and placeholders."""
    texts = page.evaluate(
        """() => [document.body.innerText].concat(Array.from(
             document.querySelectorAll('[title], [aria-label], [placeholder], [data-bs-title]')).flatMap(
             e => [e.getAttribute('title'), e.getAttribute('aria-label'), e.getAttribute('placeholder'),
                   e.getAttribute('data-bs-title')]).filter(Boolean))"""
    )
    return [w for w in TABLE_ENGLISH if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", t) for t in texts)]


def watch_requests(page: Any) -> list[str]:
    """Every URL the page asks for (documents, scripts, fetches, frames, images)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def assert_only_loopback(seen: list[str]) -> None:
    outside = [u for u in seen if urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname != "127.0.0.1"]
    assert seen and outside == [], outside


def map_text_and_page(
    page: Any, scope: Any, summary_has: list[str], table_has: str, seen: list[str], steps: Any, shot: str
) -> None:
    """The map's text alternative (summary and feature table) says what it shows;
    then the page fits 375 px, passes axe and asked nothing beyond 127.0.0.1."""
    summary = scope.locator(".udp-map__summary").inner_text()
    assert all(part in summary for part in summary_has), summary
    scope.locator(".udp-map__details summary").click()
    assert table_has in scope.locator(".udp-map__features").inner_text()
    steps.shot(page, shot)
    assert_fits(page)
    axe_check(page, page.url)
    assert_only_loopback(seen)


def open_resource(
    new_page: Callable[..., Any], dataset: dict[str, Any], resource_id: str, mobile: bool
) -> tuple[Any, list[str]]:
    page = new_page(mobile=mobile)
    seen = watch_requests(page)
    page.goto(f"/dataset/{dataset['name']}/resource/{resource_id}")
    return page, seen


def test_a_table_preview_shows_its_rows(new_page, steps, live_server):
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        title="Einwohner nach Stadtteilen",
        resources=[{"name": "Einwohner", "url": "", "format": CSV}],
    )
    resource_id = dataset["resources"][0]["id"]
    tk.get_action("datastore_create")(
        system(),
        {
            "resource_id": resource_id,
            "force": True,
            "fields": [{"id": "stadtteil", "type": "text"}, {"id": "einwohner", "type": "int"}],
            "records": [{"stadtteil": "Durlach", "einwohner": 31000}, {"stadtteil": "Neureut", "einwohner": 19000}],
        },
    )
    view = tk.get_action("resource_view_list")(system(), {"id": resource_id})[0]
    for mobile in WIDTHS:
        page, seen = open_resource(new_page, dataset, resource_id, mobile)
        frame = page.frame_locator('iframe[data-module="data-viewer"]')
        rows = frame.locator("table tbody tr")
        rows.filter(has_text="Durlach").first.wait_for()
        assert rows.count() == 2
        steps.shot(page, f"tabelle-{'375' if mobile else 'desktop'}")
        assert page.locator('iframe[data-module="data-viewer"]').get_attribute("aria-label") == "Datenansicht"
        assert_fits(page)
        axe_check(page, "resource page with a table preview")
        # the preview itself (the frame's page)
        inner = new_page(mobile=mobile)
        seen_inner = watch_requests(inner)
        inner.goto(f"/dataset/{dataset['id']}/resource/{resource_id}/view/{view['id']}")
        inner.locator("table tbody tr", has_text="Neureut").first.wait_for()
        # German everywhere, also after sorting (the sort info line) and in every tooltip
        inner.locator("th.sorting, th[aria-sort], th.dt-orderable-asc, th.dt-orderable-desc").first.click()
        inner.locator("div.sortinfo b").first.wait_for()
        assert english_on(inner) == [], english_on(inner)
        assert "Sortieren" in inner.locator("div.sortinfo").inner_text()
        assert english_on(page) == [], english_on(page)
        steps.shot(inner, f"tabelle-rahmen-{'375' if mobile else 'desktop'}")
        axe_check(inner, "table preview")
        assert_only_loopback(seen + seen_inner)


def test_a_geojson_dataset_shows_its_features_on_the_map(new_page, steps, live_server):
    dataset = public_dataset(owner_org=factories.Organization()["id"], title="Orte in Karlsruhe")
    upload = FileStorage(
        io.BytesIO(json.dumps(POINTS).encode()), filename="orte.geojson", content_type="application/geo+json"
    )
    resource = tk.get_action("resource_create")(
        system(),
        {"package_id": dataset["id"], "name": "Orte", "format": GEOJSON, "upload": upload, "url": "orte.geojson"},
    )
    assert [v["view_type"] for v in tk.get_action("resource_view_list")(system(), {"id": resource["id"]})] == [
        "udp_map"
    ]
    for mobile in WIDTHS:
        page, seen = open_resource(new_page, dataset, resource["id"], mobile)
        canvas = page.locator(".udp-map__canvas")
        page.wait_for_function("() => document.querySelector('.udp-map__canvas')?.dataset.udpMapFeatures")
        assert canvas.get_attribute("data-udp-map-features") == "3"
        # drawn: two point markers and one line (SVG paths of Leaflet's overlay), beside the 27 districts
        assert page.locator(".leaflet-overlay-pane path").count() >= 3
        summary = page.locator(".udp-map__summary").inner_text()
        assert "3 Objekte" in summary and "2 Punkte" in summary and "1 Linien" in summary
        assert "schematisch" in page.locator(".udp-map__legend").inner_text()
        page.locator(".udp-map__details summary").click()
        assert page.locator(".udp-map__features tbody tr").count() == 3
        assert "Durlach Marktplatz" in page.locator(".udp-map__features").inner_text()
        # keyboard: the map takes the focus and zooms with "+"
        zoom = page.evaluate("() => document.querySelector('.udp-map__canvas')._leaflet_id")
        assert zoom
        steps.shot(page, f"karte-{'375' if mobile else 'desktop'}")
        assert_fits(page)
        axe_check(page, "resource page with a map")
        assert_only_loopback(seen)


def _sensor_world(tmp_path: pathlib.Path) -> dict[str, Any]:
    """The soil-moisture dataset with its series and two days of hourly values of two sensors."""
    sys.path.insert(0, str(SENSOR_TESTS))
    try:
        from uplinks import msg, tts
    finally:
        sys.path.remove(str(SENSOR_TESTS))
    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors.logic.ingest import Ingester
    from ckanext.udp.sensors.logic.series import ensure_all
    from ckanext.udp.sensors.logic.sources import load_sources

    org = factories.Organization()
    soil = public_dataset(
        owner_org=org["id"], name="bodenfeuchte-friedrichsplatz", title="Bodenfeuchte Friedrichsplatz"
    )
    tag = uuid.uuid4().hex[:10]
    doc = yaml.safe_load((SENSOR_TESTS / "fixtures" / "sources.yaml").read_text())
    doc["sources"] = doc["sources"][:1]
    doc["sources"][0]["topics"] = [f"v3/bodenfeuchte-{tag}@karlsruhe/devices/+/up"]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc).replace("DATASET_SOIL", soil["name"]))
    sources = load_sources(path)
    series = ensure_all(sources)
    engine = write_engine()
    try:
        ingester = Ingester(sources, series, engine, model.meta.engine)
        now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        batch = []
        for hours_ago in range(48):
            t = now - dt.timedelta(hours=hours_ago, minutes=-5)
            for device, base in (("soil-fp-01", 30.0), ("soil-fp-02", 40.0)):
                batch.append(
                    msg(
                        f"v3/bodenfeuchte-{tag}@karlsruhe/devices/{device}/up",
                        tts(
                            device,
                            f_cnt=1000 - hours_ago,
                            t=t,
                            soil_moisture=base + hours_ago % 5,
                            soil_temperature=12.5,
                        ),
                    )
                )
        assert ingester.process(batch).inserted == 96
    finally:
        engine.dispose()
    return tk.get_action("package_show")(system(), {"id": soil["id"]})


def test_the_soil_moisture_series_shows_a_chart_and_the_latest_values(new_page, steps, live_server, tmp_path):
    dataset = _sensor_world(tmp_path)
    hourly = next(r for r in dataset["resources"] if r["url"].endswith("/sensors/hourly.csv"))
    views = tk.get_action("resource_view_list")(system(), {"id": hourly["id"]})
    assert [v["view_type"] for v in views] == ["udp_chart", "datatables_view"]
    for mobile in WIDTHS:
        page, seen = open_resource(new_page, dataset, hourly["id"], mobile)
        canvas = page.locator("[data-udp-chart-canvas]")
        page.wait_for_function("() => document.querySelector('[data-udp-chart-canvas]')?.dataset.udpChartPoints")
        points = int(canvas.get_attribute("data-udp-chart-points") or 0)
        assert points >= 90  # 2 sensors x 48 hours, less the hour at the edge of the 7-day window
        assert page.locator(".udp-chart canvas").count() == 1
        summary = page.locator("[data-udp-chart-summary]").inner_text()
        assert summary.startswith("Bodenfeuchte (%)") and "2 Sensoren" in summary
        latest = page.locator("[data-udp-chart-latest] table")
        latest.wait_for()
        assert latest.locator("tbody tr").count() == 2
        assert "soil-fp-01" in latest.inner_text() and "Bodenfeuchte" in latest.inner_text()
        # the range selector, by keyboard: 24 hours
        button = page.get_by_role("button", name="24 Stunden")
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => Number(document.querySelector('[data-udp-chart-canvas]').dataset.udpChartPoints) < 60"
        )
        assert button.get_attribute("aria-pressed") == "true"
        page.locator(".udp-chart__details summary").click()
        assert page.locator("[data-udp-chart-table] tbody tr").count() >= 40
        steps.shot(page, f"diagramm-{'375' if mobile else 'desktop'}")
        assert_fits(page)
        axe_check(page, "resource page with a sensor chart")
        assert_only_loopback(seen)


def test_wms_and_wfs_of_a_real_map_server_on_the_map(new_page, steps, live_server, map_service):
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        title="Stadtteile als Kartendienst",
        resources=[
            {"name": "Stadtteile (WMS)", "url": f"{map_service}?SERVICE=WMS&LAYERS=stadtteile", "format": WMS},
            {"name": "Stadtteile (WFS)", "url": f"{map_service}?SERVICE=WFS&TYPENAMES=stadtteile", "format": WFS},
        ],
    )
    wms, wfs = dataset["resources"]
    for resource in (wms, wfs):
        views = tk.get_action("resource_view_list")(system(), {"id": resource["id"]})
        assert [v["view_type"] for v in views] == ["udp_map"]
    for mobile in WIDTHS:
        width = "375" if mobile else "desktop"
        # WMS: the layer's images, drawn by MapServer, on the map
        page = new_page(mobile=mobile)
        seen = watch_requests(page)
        # not waiting for "load" (every tile of the layer): on a busy machine MapServer takes its time
        page.goto(f"/dataset/{dataset['name']}/resource/{wms['id']}", wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelector('.udp-map__canvas')?.dataset.udpMapFeatures")
        assert page.locator(".udp-map__canvas").get_attribute("data-udp-map-features") == "wms"
        layer = page.locator(f'.leaflet-tile-pane img.leaflet-tile-loaded[src^="{map_service}"]')
        layer.first.wait_for()
        source = (layer.first.get_attribute("src") or "").lower()
        assert "request=getmap" in source and "layers=stadtteile" in source, source
        drawn = page.evaluate(
            """prefix => [...document.querySelectorAll('.leaflet-tile-pane img')].filter(
                 img => img.src.startsWith(prefix) && img.complete && img.naturalWidth === 256).length""",
            map_service,
        )
        assert drawn >= 1
        # what MapServer drew for the map: a PNG
        with urllib.request.urlopen(layer.first.get_attribute("src") or "", timeout=30) as answer:
            assert answer.headers["Content-Type"] == "image/png"
            assert answer.read(8) == b"\x89PNG\r\n\x1a\n"
        assert "Kartendienstes" in page.locator(".udp-map__summary").inner_text()
        steps.shot(page, f"wms-{width}")
        assert_fits(page)
        axe_check(page, "resource page with a WMS layer")
        assert_only_loopback(seen)
        # WFS: the 27 features, fetched from MapServer as GeoJSON, on the map and in the table
        page = new_page(mobile=mobile)
        seen = watch_requests(page)
        page.goto(f"/dataset/{dataset['name']}/resource/{wfs['id']}", wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelector('.udp-map__canvas')?.dataset.udpMapFeatures")
        assert page.locator(".udp-map__canvas").get_attribute("data-udp-map-features") == "27"
        assert page.locator(".leaflet-overlay-pane path").count() >= 27 + 27  # features and district markers
        map_text_and_page(page, page, ["27 Objekte"], "Durlach", seen, steps, f"wfs-{width}")
        assert any(u.startswith(map_service) and "REQUEST=GetFeature" in u for u in seen)


def test_the_dataset_page_shows_its_spatial_coverage_on_a_map(new_page, steps, live_server):
    # no picture: the factory's organisation picture lies on a third-party host
    org = factories.Organization(image_url="")["id"]
    # a rectangle around Durlach's centroid (49.0, 8.47)
    ring = [[8.46, 48.99], [8.49, 48.99], [8.49, 49.01], [8.46, 49.01], [8.46, 48.99]]
    with_area = public_dataset(
        owner_org=org,
        title="Gebiet Durlach",
        spatial_coverage=[{"text": "Durlach", "geom": json.dumps({"type": "Polygon", "coordinates": [ring]})}],
    )
    without = public_dataset(owner_org=org, title="Ohne Gebiet")
    for mobile in WIDTHS:
        width = "375" if mobile else "desktop"
        page = new_page(mobile=mobile)
        seen = watch_requests(page)
        page.goto(f"/dataset/{with_area['name']}")
        section = page.locator("section.udp-map")
        assert section.locator("h2").inner_text() == "Räumliche Abdeckung"
        page.wait_for_function("() => document.querySelector('.udp-map__canvas')?.dataset.udpMapFeatures")
        assert section.locator(".udp-map__canvas").get_attribute("data-udp-map-features") == "1"
        # the area drawn (an SVG path beside the district markers) ...
        assert section.locator(".leaflet-overlay-pane path").count() >= 1 + 27
        # ... and said in words: one area, between which latitudes and longitudes
        summary = ["1 Objekte", "1 Flächen", "48,99"]
        map_text_and_page(page, section, summary, "Durlach", seen, steps, f"abdeckung-{width}")
        # a dataset without an area: no map, no empty map block
        page.goto(f"/dataset/{without['name']}")
        page.locator("h1").first.wait_for()
        assert page.locator(".udp-map").count() == 0
        assert "Räumliche Abdeckung" not in page.content()
