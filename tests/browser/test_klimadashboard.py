"""The Klimadashboard in the browser, on the live portal: the demo soil-moisture tile
shows the latest value of a sensor series fed through the stack's real Mosquitto; a new
uplink appears on the tile by the page's own refresh (no reload), not while the refresh
is paused by its button (WCAG 2.2.2), and the open values table is rebuilt only when its
rows change; a tile whose dataset
is withdrawn disappears; the dashboard, an embedded tile and the management pages are
German, axe-clean and fit 375 px. One test (the portal's database is cleaned per test)."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import ckan.model as model
import ckan.plugins.toolkit as tk
import paho.mqtt.client as mqtt
import pytest
import yaml
from browserlib import assert_fits
from ckan.tests import factories
from udp_testing import SENSOR_FIXTURES, public_dataset

from ckanext.udp.datastore_sql import write_engine
from ckanext.udp.klima.cli import demo_tiles
from ckanext.udp.sensors.logic.consumer import Consumer
from ckanext.udp.sensors.logic.ingest import Ingester
from ckanext.udp.sensors.logic.series import ensure_all
from ckanext.udp.sensors.logic.sources import load_sources

DEMO = "bodenfeuchte-friedrichsplatz"


def uplink(f_cnt: int, t: dt.datetime, moisture: float) -> bytes:
    doc = json.loads((SENSOR_FIXTURES / "tts_uplink.json").read_text())
    doc["received_at"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc["correlation_ids"][1] = f"as:up:{uuid.uuid4().hex}"
    doc["uplink_message"]["f_cnt"] = f_cnt
    doc["uplink_message"]["decoded_payload"] = {"soil_moisture": moisture, "soil_temperature": 8.5}
    return json.dumps(doc).encode()


def publish(items: list[tuple[str, bytes]]) -> None:
    url = urlparse(tk.config["ckanext.udp.mqtt.url"])
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"klima-pub-{uuid.uuid4().hex[:8]}")
    pub.connect(url.hostname or "127.0.0.1", url.port or 1883)
    pub.loop_start()
    try:
        for info in [pub.publish(topic, payload, qos=1) for topic, payload in items]:
            info.wait_for_publish(30)
    finally:
        pub.loop_stop()
        pub.disconnect()


def wait_for(pred: Any, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@contextmanager
def consuming(tmp_path: pathlib.Path, dataset: str) -> Iterator[tuple[str, str]]:
    """The sensor consumer on the stack's broker for ``dataset``; yields (topic, observations table)."""
    doc = yaml.safe_load((SENSOR_FIXTURES / "sources.yaml").read_text())
    doc["sources"] = [doc["sources"][0]]
    tag = uuid.uuid4().hex[:10]
    doc["sources"][0]["topics"] = [f"v3/bodenfeuchte-{tag}@karlsruhe/devices/+/up"]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc).replace("DATASET_SOIL", dataset))
    sources = load_sources(path, env={})
    engine = write_engine()
    ingester = Ingester(sources, ensure_all(sources), engine, model.meta.engine)
    consumer = Consumer(
        ingester, tk.config["ckanext.udp.mqtt.url"], f"klima-{tag}", sources.topics, batch_size=50, batch_wait=0.1
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.subscribed.wait(90), "consumer did not subscribe"
        yield f"v3/bodenfeuchte-{tag}@karlsruhe/devices/soil-fp-01/up", ingester.series[dataset].observations
    finally:
        consumer.stop.set()
        thread.join(10)
        engine.dispose()


def latest(resource_id: str) -> dict[str, Any]:
    """The newest stored row, or {} while the consumer has stored none yet."""
    records = tk.get_action("datastore_search")(
        {"ignore_auth": True}, {"resource_id": resource_id, "sort": "time desc", "limit": 1}
    )["records"]
    return records[0] if records else {}


def test_the_dashboard_follows_the_sensor_series_and_the_datasets_visibility(
    new_page, make_user, axe_check, steps, tmp_path
):
    sysadmin = make_user(sysadmin=True)
    org = factories.Organization()
    public_dataset(owner_org=org["id"], name=DEMO, title="Bodenfeuchte Friedrichsplatz (LoRaWAN)")
    other = public_dataset(owner_org=org["id"], name="klima-zaehlung", title="Zählung")
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    tk.get_action("datastore_create")(
        {"ignore_auth": True, "user": site_user},
        {
            "resource": {"package_id": other["id"], "name": "Zählung"},
            "fields": [{"id": "a", "type": "int"}],
            "records": [{"a": 1}, {"a": 2}],
            "force": True,
        },
    )
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with consuming(tmp_path, DEMO) as (topic, table):
        publish([(topic, uplink(i + 1, now - dt.timedelta(hours=3 - i), v)) for i, v in enumerate((21.0, 22.0, 23.5))])
        wait_for(lambda: latest(table).get("f_cnt") == 3, "the first uplinks stored")
        # the demo's own soil-moisture tile definition (ckan udp klima demo), and a count tile
        soil = next(t for t in demo_tiles() if t["title"] == "Bodenfeuchte Friedrichsplatz")
        context = {"user": sysadmin["name"]}
        soil_tile = tk.get_action("udp_klima_tile_create")(context, soil)
        count_tile = tk.get_action("udp_klima_tile_create")(
            context, {"title": "Zeilen der Zählung", "kind": "count", "dataset": other["name"], "resource": "Zählung"}
        )

        page = new_page()
        page.goto("/klimadashboard?aktualisierung=2")
        tile = page.locator(f"#kachel-{soil_tile['id']}")
        value = tile.locator("[data-klima-value]")
        assert value.inner_text() == "23,5"  # the latest value in the DataStore, German
        assert float(latest(table)["bodenfeuchte"]) == 23.5
        assert "ausreichend feucht" in tile.inner_text()  # the band's label, not colour alone
        assert page.get_by_role("heading", name="Klimadashboard", level=1).count() == 1
        page.wait_for_function("() => document.querySelector('.udp-klima-chart canvas')", timeout=90_000)
        steps.shot(page, "dashboard")
        axe_check(page, "Klimadashboard")

        # the values table, open, is not rebuilt by rounds that bring nothing new
        tile.locator("summary").click()
        rounds = tile.get_attribute("data-klima-updated")
        for _round in range(2):
            page.wait_for_function(
                "([id, was]) => document.querySelector('#kachel-' + id).getAttribute('data-klima-updated') !== was",
                arg=[soil_tile["id"], rounds],
                timeout=90_000,
            )
            rounds = tile.get_attribute("data-klima-updated")
        assert tile.get_attribute("data-klima-rebuilt") is None

        # WCAG 2.2.2: the refresh can be paused (and the new state is announced)
        page.evaluate("() => { window.__klimaMarker = 1; }")
        pause = page.get_by_role("button", name="Aktualisierung anhalten")
        pause.click()
        assert page.locator("[data-klima-pause-state]").inner_text() == "Die Aktualisierung ist angehalten."
        resume = page.get_by_role("button", name="Aktualisierung fortsetzen")
        paused_at = tile.get_attribute("data-klima-updated")
        publish([(topic, uplink(4, now, 27.3))])
        wait_for(lambda: latest(table).get("f_cnt") == 4, "the new uplink stored")
        page.wait_for_timeout(3 * 2_000)  # three refresh periods of 2 s: no round while paused
        assert tile.get_attribute("data-klima-updated") == paused_at
        assert value.inner_text() == "23,5"
        steps.shot(page, "paused")
        axe_check(page, "Klimadashboard, refresh paused")

        # resumed: the new uplink over MQTT appears on the tile by the page's own refresh
        resume.click()
        assert page.locator("[data-klima-pause-state]").inner_text() == "Die Aktualisierung läuft wieder."
        value.filter(has_text="27,3").wait_for(timeout=90_000)
        assert page.evaluate("() => window.__klimaMarker") == 1  # no reload
        assert tile.get_attribute("data-klima-rebuilt") == "1"  # the changed rows, once
        assert tile.locator("details").get_attribute("open") is not None
        local = now.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y, %H:%M Uhr")
        assert tile.locator("[data-klima-time]").inner_text() == local

    # the count tile's dataset is withdrawn: the tile disappears
    count = page.locator(f"#kachel-{count_tile['id']}")
    assert count.locator("[data-klima-value]").inner_text() == "2"
    tk.get_action("udp_withdraw")({"user": sysadmin["name"]}, {"id": other["id"], "reason": "Fehlerhafte Daten"})
    count.wait_for(state="hidden", timeout=90_000)
    page.reload()
    assert page.locator(f"#kachel-{count_tile['id']}").count() == 0
    assert page.locator(f"#kachel-{soil_tile['id']}").count() == 1
    steps.shot(page, "withdrawn")

    # 375 px: the dashboard and an embedded tile
    mobile = new_page(mobile=True)
    mobile.goto("/klimadashboard")
    mobile.wait_for_function("() => document.querySelector('.udp-klima-chart canvas')", timeout=90_000)
    assert_fits(mobile)
    steps.shot(mobile, "dashboard-375")
    axe_check(mobile, "Klimadashboard 375 px")
    mobile.goto(f"/klimadashboard/kachel/{soil_tile['id']}")
    assert mobile.locator("[data-klima-value]").inner_text() == "27,3"
    assert_fits(mobile)
    steps.shot(mobile, "embed-375")
    axe_check(mobile, "embedded tile")

    # the sysadmins' pages
    admin = new_page(user=sysadmin)
    admin.goto("/klimadashboard/verwalten")
    assert "nicht gezeigt" in admin.inner_text("body")
    axe_check(admin, "tile management")
    admin.goto(f"/klimadashboard/verwalten/{soil_tile['id']}")
    admin.fill("#feld-dataset", other["name"])
    admin.click("button[type=submit]:has-text('Speichern')")
    assert "nicht veröffentlicht" in admin.inner_text("body")
    steps.shot(admin, "form-refused")
    axe_check(admin, "tile form with an error")
