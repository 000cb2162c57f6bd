"""The SensorThings harvester against a local HTTP server that serves
SensorThings JSON in the standard's shape (paging via @iot.nextLink)."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckanext.harvest.tests.factories import HarvestJobObj, HarvestSourceObj
from ckanext.harvest.tests.lib import run_harvest_job

from ckanext.udp.sensorthings import client
from ckanext.udp.sensorthings import harvester as sta_harvester


def _thing(base: str, tid: int, name: str, streams: list[tuple[int, str, str, str]]) -> dict:
    return {
        "@iot.id": tid,
        "@iot.selfLink": f"{base}/Things({tid})",
        "name": name,
        "description": f"Messstation {name} (Demodaten)",
        "properties": {"betreiber": "Umwelt- und Arbeitsschutz"},
        "Locations": [
            {
                "@iot.id": tid * 10,
                "name": name,
                "description": "Standort",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [8.4037, 49.0089]},
            }
        ],
        "Datastreams@iot.navigationLink": f"{base}/Things({tid})/Datastreams",
        "Datastreams": [
            {
                "@iot.id": did,
                "@iot.selfLink": f"{base}/Datastreams({did})",
                "name": dname,
                "description": f"{dname} an {name}",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {
                    "name": uname,
                    "symbol": usym,
                    "definition": "http://unitsofmeasure.org/ucum.html",
                },
                "Observations@iot.navigationLink": f"{base}/Datastreams({did})/Observations",
                "ObservedProperty": {
                    "@iot.id": did + 100,
                    "name": dname,
                    "definition": f"https://example.invalid/def/{did}",
                    "description": dname,
                },
                "Sensor": {
                    "@iot.id": 7,
                    "name": "SHT31",
                    "encodingType": "application/pdf",
                    "metadata": "https://example.invalid/sht31.pdf",
                    "description": "Sensor",
                },
            }
            for did, dname, uname, usym in streams
        ],
    }


class StaServer:
    """/v1.1/Things?$expand=... in two pages; ``next_link`` can be overridden."""

    def __init__(self) -> None:
        self.next_link: str | None = None
        self.extra_thing = False
        self.hidden: set[int] = set()  # Things the service no longer serves
        self.broken_page = False  # the second page answers 500
        self.requests: list[str] = []
        # Observations per Datastream id: (id, phenomenonTime, result)
        self.observations: dict[int, list[tuple[int, str, object]]] = {
            11: [(1100 + i, f"2026-06-15T{8 + i:02d}:00:00.000Z", 18.5 + i) for i in range(5)],
            12: [(1200, "2026-06-15T08:00:00Z/2026-06-15T08:10:00Z", 55), (1201, "2026-06-15T09:00:00Z", "n/a")],
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                url = urlparse(self.path)
                q = parse_qs(url.query)
                m = re.fullmatch(r"/v1.1/Datastreams\((\d+)\)/Observations", url.path)
                if m:
                    return self.observations(int(m.group(1)), q)
                if url.path != "/v1.1/Things" or "$expand" not in q:
                    self.send_response(404)
                    self.end_headers()
                    return
                base = outer.base
                skip = int(q.get("$skip", ["0"])[0])
                all_things = [
                    _thing(
                        base,
                        1,
                        "Friedrichsplatz Nord",
                        [(11, "Lufttemperatur", "Grad Celsius", "°C"), (12, "Relative Luftfeuchte", "Prozent", "%")],
                    ),
                    _thing(base, 2, "Marktplatz", [(21, "Lufttemperatur", "Grad Celsius", "°C")]),
                    _thing(base, 3, "Schlossgarten Süd", [(31, "Bodenfeuchte", "Prozent", "%")]),
                ]
                if outer.extra_thing:
                    all_things.append(_thing(base, 4, "Durlach Turmberg", [(41, "Feinstaub PM10", "µg/m³", "µg/m3")]))
                all_things = [t for t in all_things if t["@iot.id"] not in outer.hidden]
                if skip and outer.broken_page:
                    self.send_response(500)
                    self.end_headers()
                    return
                page = all_things[skip : skip + 2]
                doc: dict = {"value": page}
                if skip + 2 < len(all_things):
                    doc["@iot.nextLink"] = outer.next_link or (
                        f"{base}/Things?$skip={skip + 2}&$top=2&$expand={client.EXPAND}"
                    )
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def observations(self, did, q):
                rows = outer.observations.get(did, [])
                if "$filter" in q:  # only the form the harvester sends: phenomenonTime ge <instant>
                    bound = q["$filter"][0].split(" ge ")[1].replace("Z", "")
                    rows = [r for r in rows if r[1].split("/")[0].replace("Z", "").replace(".000", "") >= bound]
                skip, top = int(q.get("$skip", ["0"])[0]), 3  # the server pages at 3, whatever $top says
                doc = {
                    "value": [
                        {"@iot.id": i, "phenomenonTime": t, "resultTime": None, "result": r}
                        for i, t, r in rows[skip : skip + top]
                    ]
                }
                if skip + top < len(rows):
                    filt = f"&$filter={q['$filter'][0]}" if "$filter" in q else ""
                    doc["@iot.nextLink"] = f"{outer.base}/Datastreams({did})/Observations?$skip={skip + top}{filt}"
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1.1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sta():
    with StaServer() as server:
        yield server


def harvest(url: str, org: dict, config: str = ""):
    source = HarvestSourceObj(url=url, source_type="sensorthings", owner_org=org["id"], config=config)
    job = HarvestJobObj(source=source, run=False)
    harvester = sta_harvester.SensorThingsHarvester()
    run_harvest_job(job, harvester)
    return source, job


def harvested(source) -> list[dict]:
    result = tk.get_action("package_search")(
        {"ignore_auth": True}, {"fq": f'harvest_source_id:"{source.id}"', "rows": 100, "include_private": True}
    )
    return sorted(result["results"], key=lambda p: p["title"])


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSensorThingsHarvester:
    def test_things_become_datasets_across_pages(self, sta):
        org = factories.Organization()
        source, job = harvest(sta.base, org)
        pkgs = harvested(source)
        assert [p["title"] for p in pkgs] == ["Friedrichsplatz Nord", "Marktplatz", "Schlossgarten Süd"]
        assert any("$skip=2" in r for r in sta.requests)  # the second page came through @iot.nextLink
        fp = pkgs[0]
        assert fp["owner_org"] == org["id"]
        assert fp["name"].startswith("sta-") and "friedrichsplatz-nord" in fp["name"]
        urls = [r["url"] for r in fp["resources"]]
        assert urls == [
            f"{sta.base}/Things(1)",
            f"{sta.base}/Datastreams(11)/Observations",
            f"{sta.base}/Datastreams(12)/Observations",
        ]
        assert "Einheit: Grad Celsius [°C]" in fp["resources"][1]["description"]
        assert {t["name"] for t in fp["tags"]} >= {"Lufttemperatur", "Relative Luftfeuchte", "SensorThings"}
        assert "Friedrichsplatz Nord (Demodaten)" in fp["notes"]

    def test_second_run_updates_in_place_and_adds_new_things(self, sta):
        org = factories.Organization()
        source, _ = harvest(sta.base, org)
        first = {p["title"]: p for p in harvested(source)}
        sta.extra_thing = True
        job = HarvestJobObj(source=source, run=False)
        run_harvest_job(job, sta_harvester.SensorThingsHarvester())
        second = {p["title"]: p for p in harvested(source)}
        assert sorted(second) == ["Durlach Turmberg", "Friedrichsplatz Nord", "Marktplatz", "Schlossgarten Süd"]
        for title, pkg in first.items():
            assert second[title]["id"] == pkg["id"]
            assert [r["id"] for r in second[title]["resources"]] == [r["id"] for r in pkg["resources"]]

    def test_observations_are_mirrored_into_the_datastore_incrementally(self, sta):
        org = factories.Organization()
        source, job = harvest(sta.base, org, config='{"mirror_observations": true}')
        fp = harvested(source)[0]
        mirrors = {r["name"]: r for r in fp["resources"] if r["name"].startswith("Beobachtungen")}
        assert sorted(mirrors) == ["Beobachtungen: Lufttemperatur", "Beobachtungen: Relative Luftfeuchte"]
        temp = mirrors["Beobachtungen: Lufttemperatur"]
        assert temp["datastore_active"] and "/datastore/dump/" in temp["url"]

        def rows(res):
            return tk.get_action("datastore_search")(
                {"ignore_auth": True}, {"resource_id": res["id"], "sort": "phenomenon_time", "limit": 100}
            )

        first = rows(temp)
        assert first["total"] == 5
        assert [r["result"] for r in first["records"]] == [18.5, 19.5, 20.5, 21.5, 22.5]
        hum = rows(mirrors["Beobachtungen: Relative Luftfeuchte"])["records"]
        assert [(r["phenomenon_time"][:16], r["result"], r["result_json"]) for r in hum] == [
            ("2026-06-15T08:00", 55, None),
            ("2026-06-15T09:00", None, "n/a"),
        ]

        sta.observations[11] += [(1105, "2026-06-15T13:00:00.000Z", 30.0), (1106, "2026-06-15T14:00:00.000Z", 31.0)]
        run_harvest_job(HarvestJobObj(source=source, run=False), sta_harvester.SensorThingsHarvester())
        again = {r["name"]: r for r in harvested(source)[0]["resources"]}
        assert again["Beobachtungen: Lufttemperatur"]["id"] == temp["id"]  # kept across the update
        second = rows(temp)
        assert second["total"] == 7
        assert [r["result"] for r in second["records"]][-2:] == [30.0, 31.0]
        # the second run asked only for what is new
        assert any(
            "phenomenonTime%20ge%202026-06-15T12:00:00Z" in r or "phenomenonTime ge 2026-06-15T12:00:00Z" in r
            for r in sta.requests
        )

    def test_a_licence_needing_attribution_without_one_is_an_import_error(self, sta):
        org = factories.Organization()
        lic = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        source, job = harvest(sta.base, org, config=json.dumps({"license_id": lic}))
        assert harvested(source) == []
        assert all("attribution" in o.errors[0].message for o in job.objects)
        source2, _ = harvest(
            sta.base + "/",
            org,
            config=json.dumps(
                {"license_id": lic, "license_attribution_by_text": "Stadt Karlsruhe, Umwelt- und Arbeitsschutz"}
            ),
        )
        pkgs = harvested(source2)
        assert len(pkgs) == 3 and pkgs[0]["license_attribution_by_text"].startswith("Stadt Karlsruhe")

    def test_next_link_to_another_host_stops_the_gather_and_changes_nothing(self, sta):
        org = factories.Organization()
        sta.next_link = "http://169.254.169.254/v1.1/Things?$skip=2"
        source, job = harvest(sta.base, org)
        assert harvested(source) == []
        errors = [e.message for e in job.gather_errors]
        assert errors and "leaves the source" in errors[0]

    def test_not_a_sensorthings_service(self, sta):
        org = factories.Organization()
        source, job = harvest(sta.base.replace("/v1.1", "/v9"), org)
        assert harvested(source) == []
        assert "404" in job.gather_errors[0].message


def _anonymous_titles(source) -> list[str]:
    result = tk.get_action("package_search")({"user": ""}, {"fq": f'harvest_source_id:"{source.id}"', "rows": 100})
    return sorted(p["title"] for p in result["results"])


def _state(pkg_id: str) -> str:
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg_id})["udp_workflow_state"]


def _rerun(source):
    job = HarvestJobObj(source=source, run=False)
    run_harvest_job(job, sta_harvester.SensorThingsHarvester())
    return job


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestVanishedThings:
    PUBLISHED = json.dumps({"udp_workflow_state": "published"})

    def test_a_thing_no_longer_served_is_archived_and_comes_back(self, sta):
        org = factories.Organization()
        source, _ = harvest(sta.base, org, config=self.PUBLISHED)
        assert _anonymous_titles(source) == ["Friedrichsplatz Nord", "Marktplatz", "Schlossgarten Süd"]
        markt = next(p for p in harvested(source) if p["title"] == "Marktplatz")

        sta.hidden = {2}
        _rerun(source)
        assert _anonymous_titles(source) == ["Friedrichsplatz Nord", "Schlossgarten Süd"]
        assert _state(markt["id"]) == "archived"  # kept, not deleted
        trail = tk.get_action("udp_audit_list")({"ignore_auth": True}, {"id": markt["id"]})
        assert trail[-1]["action"] == "archive" and trail[-1]["comment"].startswith(sta_harvester.VANISHED)

        sta.hidden = set()
        _rerun(source)
        assert _state(markt["id"]) == "published"
        assert _anonymous_titles(source) == ["Friedrichsplatz Nord", "Marktplatz", "Schlossgarten Süd"]

    def test_a_failed_gather_archives_nothing(self, sta):
        org = factories.Organization()
        sta.extra_thing = True
        source, _ = harvest(sta.base, org, config=self.PUBLISHED)
        all_four = ["Durlach Turmberg", "Friedrichsplatz Nord", "Marktplatz", "Schlossgarten Süd"]
        assert _anonymous_titles(source) == all_four
        sta.hidden, sta.broken_page = {1}, True  # page 1 lacks Thing 1, page 2 fails
        job = _rerun(source)
        assert job.gather_errors and "500" in job.gather_errors[0].message
        assert _anonymous_titles(source) == all_four

    def test_an_archive_by_a_steward_is_not_undone(self, sta):
        org = factories.Organization()
        source, _ = harvest(sta.base, org, config=self.PUBLISHED)
        markt = next(p for p in harvested(source) if p["title"] == "Marktplatz")
        site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
        tk.get_action("udp_archive")(
            {"user": site_user, "ignore_auth": True}, {"id": markt["id"], "reason": "Standort wird umgebaut"}
        )
        _rerun(source)
        assert _state(markt["id"]) == "archived"

    def test_harvested_things_start_as_drafts_without_a_configured_state(self, sta):
        org = factories.Organization()
        source, _ = harvest(sta.base, org)
        assert {_state(p["id"]) for p in harvested(source)} == {"draft"}
        assert _anonymous_titles(source) == []


class _Trickle(BaseHTTPRequestHandler):
    """Headers at once, then the body one byte per second."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b'{"value": []}' + b" " * 60
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            try:
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1)


def test_a_trickling_server_is_stopped_by_the_deadline(monkeypatch):
    """Every read brings a byte in time, so only a deadline for the whole response stops it."""
    monkeypatch.setattr(client, "TIMEOUT", 3)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1.1/Things"
        with pytest.raises(client.StaError, match="no complete answer within 3 s"):
            client.fetch_json(url, ("http", f"127.0.0.1:{httpd.server_address[1]}"))
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "config,ok",
    [
        ("", True),
        ('{"max_pages": 3, "tags": ["Klima"]}', True),
        ('{"mirror_observations": true}', True),
        ('{"mirror_observations": "ja"}', False),
        ("[]", False),
        ('{"max_pages": 0}', False),
        ('{"tags": "Klima"}', False),
        ("{nope", False),
    ],
)
def test_validate_config(config, ok):
    h = sta_harvester.SensorThingsHarvester()
    if ok:
        assert h.validate_config(config) == config
    else:
        with pytest.raises(ValueError):
            h.validate_config(config)


def test_only_http_is_fetched():
    with pytest.raises(client.StaError, match="only http"):
        client.fetch_json("file:///etc/passwd", ("file", ""))


def test_slug():
    assert sta_harvester.slug("sta-Schloßgarten Süd (Nr. 3)") == "sta-schlossgarten-sued-nr-3"


def test_hostile_nesting_is_a_clear_error_not_a_crash(monkeypatch):
    """JSON nested deeper than Python's parser recursion: a StaError, the gather records it."""
    body = b'{"value": ' + b"[" * 100000 + b"]" * 100000 + b"}"

    class Deep(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Deep)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{httpd.server_address[1]}"
        with pytest.raises(client.StaError, match="not JSON"):
            client.fetch_json(f"http://{host}/v1.1/Things", ("http", host))
    finally:
        httpd.shutdown()
        httpd.server_close()
