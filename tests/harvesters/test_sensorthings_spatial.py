"""A Thing's Locations become the dataset's spatial coverage: harvested from a
local HTTP server serving SensorThings JSON, indexed in the real Solr and
found by ckanext-spatial's map search (``ext_bbox``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
import rdflib
from ckan.tests import factories
from ckanext.dcat.processors import RDFSerializer
from ckanext.harvest.tests.factories import HarvestJobObj, HarvestSourceObj
from ckanext.harvest.tests.lib import run_harvest_job

from ckanext.udp.dcatde.logic.index import spatial_for_index
from ckanext.udp.sensorthings import harvester as sta_harvester

KARLSRUHE = "8.3,48.9,8.5,49.1"
BERLIN = "13.3,52.4,13.5,52.6"
SCHLOSS = [8.4037, 49.0089]
DURLACH = [8.4721, 48.9985]


def _location(lid: int, location: Any, encoding: str = "application/geo+json") -> dict[str, Any]:
    return {"@iot.id": lid, "name": f"Standort {lid}", "encodingType": encoding, "location": location}


def _point(coords: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coords}


class Server:
    """/v1.1/Things answers with ``self.things`` (one page)."""

    def __init__(self) -> None:
        self.things: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/v1.1/Things?") or "Locations" not in self.path:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps({"value": outer.things}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1.1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def thing(self, tid: int, name: str, locations: list[Any]) -> None:
        self.things.append(
            {
                "@iot.id": tid,
                "@iot.selfLink": f"{self.base}/Things({tid})",
                "name": name,
                "description": f"Messstation {name}",
                "Locations": locations,
                "Datastreams": [],
            }
        )


@pytest.fixture
def sta():
    server = Server()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def harvest(url: str) -> tuple[Any, Any]:
    org = factories.Organization()
    source = HarvestSourceObj(url=url, source_type="sensorthings", owner_org=org["id"])
    job = HarvestJobObj(source=source, run=False)
    run_harvest_job(job, sta_harvester.SensorThingsHarvester())
    return source, job


def search(user: dict[str, Any] | None, bbox: str, **extra: Any) -> list[str]:
    context = {"user": user["name"] if user else ""}
    result = tk.get_action("package_search")(context, dict({"extras": {"ext_bbox": bbox}, "rows": 100}, **extra))
    return sorted(p["title"] for p in result["results"])


def by_title(source: Any) -> dict[str, dict[str, Any]]:
    result = tk.get_action("package_search")(
        {"ignore_auth": True},
        {"fq": f'harvest_source_id:"{source.id}"', "rows": 100, "include_private": True, "include_drafts": True},
    )
    return {p["title"]: p for p in result["results"]}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestLocationsInMapSearch:
    def test_a_point_location_is_found_by_the_map_search(self, sta):
        sta.thing(1, "Schlossplatz", [_location(10, _point(SCHLOSS))])
        sta.thing(2, "Ohne Standort", [])
        source, job = harvest(sta.base)
        pkgs = by_title(source)
        assert sorted(pkgs) == ["Ohne Standort", "Schlossplatz"]
        (area,) = pkgs["Schlossplatz"]["spatial_coverage"]
        assert json.loads(area["geom"]) == _point(SCHLOSS)
        assert json.loads(area["bbox"])["coordinates"] == [
            [[8.4032, 49.0084], [8.4042, 49.0084], [8.4042, 49.0094], [8.4032, 49.0094], [8.4032, 49.0084]]
        ]
        assert area["text"] == "Standort 10"
        assert not pkgs["Ohne Standort"].get("spatial_coverage")

        sysadmin = factories.Sysadmin()
        drafts = {"include_private": True, "include_drafts": True}
        assert search(sysadmin, KARLSRUHE, **drafts) == ["Schlossplatz"]
        assert search(sysadmin, BERLIN, **drafts) == []
        # harvested datasets start as drafts: anonymous visitors find them once published
        assert search(None, KARLSRUHE) == []
        pkg_id = pkgs["Schlossplatz"]["id"]
        tk.get_action("udp_submit")({"user": sysadmin["name"]}, {"id": pkg_id})
        tk.get_action("udp_approve")({"user": factories.Sysadmin()["name"]}, {"id": pkg_id})
        assert search(None, KARLSRUHE) == ["Schlossplatz"]
        assert search(None, "8.40,49.00,8.41,49.01") == ["Schlossplatz"]  # a box just around the point
        assert search(None, BERLIN) == []
        assert search(None, "8.45,48.95,8.5,49.0") == []  # elsewhere in Karlsruhe

    def test_two_locations_make_one_area_with_both(self, sta):
        sta.thing(
            1,
            "Zwei Standorte",
            [
                _location(10, _point(SCHLOSS)),
                _location(
                    11, {"type": "Feature", "properties": {}, "geometry": _point(DURLACH)}, "application/vnd.geo+json"
                ),
            ],
        )
        source, _ = harvest(sta.base)
        pkg = by_title(source)["Zwei Standorte"]
        (area,) = pkg["spatial_coverage"]
        assert json.loads(area["geom"]) == {"type": "MultiPoint", "coordinates": [SCHLOSS, DURLACH]}
        assert area["text"] == "Standort 10, Standort 11"
        ring = json.loads(area["bbox"])["coordinates"][0]
        assert min(p[0] for p in ring) < SCHLOSS[0] and max(p[0] for p in ring) > DURLACH[0]
        assert min(p[1] for p in ring) < DURLACH[1] and max(p[1] for p in ring) > SCHLOSS[1]
        sysadmin = factories.Sysadmin()
        near_durlach = "8.47,48.99,8.48,49.0"
        assert search(sysadmin, near_durlach, include_private=True, include_drafts=True) == ["Zwei Standorte"]

    def test_a_broken_location_leaves_the_dataset_without_spatial_coverage(self, sta):
        sta.thing(1, "Kaputt", [_location(10, '{"type": "Point", "coordinates": [8.40')])
        sta.thing(2, "Falsche Kodierung", [_location(20, _point(SCHLOSS), "text/plain")])
        sta.thing(3, "Halb", [_location(30, _point([8.4, 149.0])), _location(31, _point(DURLACH))])
        source, job = harvest(sta.base)
        pkgs = by_title(source)
        assert sorted(pkgs) == ["Falsche Kodierung", "Halb", "Kaputt"]
        assert not pkgs["Kaputt"].get("spatial_coverage")
        assert not pkgs["Falsche Kodierung"].get("spatial_coverage")
        (area,) = pkgs["Halb"]["spatial_coverage"]
        assert json.loads(area["geom"]) == _point(DURLACH)
        assert not any(o.errors for o in job.objects)
        sysadmin = factories.Sysadmin()
        assert search(sysadmin, KARLSRUHE, include_private=True, include_drafts=True) == ["Halb"]

    def test_rdf_carries_geometry_and_bounding_box(self, sta):
        sta.thing(1, "Schlossplatz", [_location(10, _point(SCHLOSS))])
        source, _ = harvest(sta.base)
        pkg = by_title(source)["Schlossplatz"]
        pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})
        turtle = RDFSerializer(profiles=["euro_dcat_ap_3", "dcatap_de"]).serialize_dataset(pkg, _format="turtle")
        g = rdflib.Graph().parse(data=turtle, format="turtle")
        dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
        locn = rdflib.Namespace("http://www.w3.org/ns/locn#")
        dct = rdflib.Namespace("http://purl.org/dc/terms/")
        # the other dct:spatial is the political geocoding URI (K11 mirror)
        (area,) = [o for o in g.objects(None, dct.spatial) if isinstance(o, rdflib.BNode)]
        geometries = [str(o) for o in g.objects(area, locn.geometry)]
        boxes = [str(o) for o in g.objects(area, dcat.bbox)]
        assert any("8.4037" in v and "Point" in v.replace("POINT", "Point") for v in geometries), geometries
        assert boxes and all("8.4032" in v and "8.4042" in v for v in boxes), boxes


# -- the pure parts --


@pytest.mark.parametrize(
    "location,expected",
    [
        (_location(1, _point(SCHLOSS)), _point(SCHLOSS)),
        (_location(1, json.dumps(_point(SCHLOSS))), _point(SCHLOSS)),  # a JSON string
        (_location(1, _point(SCHLOSS), "application/vnd.geo+json"), _point(SCHLOSS)),
        (_location(1, _point(SCHLOSS), "Application/GEO+JSON; charset=utf-8"), _point(SCHLOSS)),
        (_location(1, {"type": "Feature", "geometry": _point(SCHLOSS), "properties": None}), _point(SCHLOSS)),
        (
            _location(1, {"type": "Polygon", "coordinates": [[[8, 49], [9, 49], [9, 50], [8, 49]]], "crs": "x"}),
            {"type": "Polygon", "coordinates": [[[8, 49], [9, 49], [9, 50], [8, 49]]]},
        ),
        (_location(1, _point([8.4, 49.0, 115.0])), _point([8.4, 49.0, 115.0])),  # with height
        (_location(1, _point(SCHLOSS), "text/plain"), None),
        (_location(1, _point(SCHLOSS), ""), None),
        (_location(1, "{nope"), None),
        (_location(1, _point([8.4, 91.0])), None),
        (_location(1, _point([181.0, 49.0])), None),
        (_location(1, _point(["8.4", 49.0])), None),
        (_location(1, _point([8.4])), None),
        (_location(1, {"type": "Point", "coordinates": [[8.4, 49.0]]}), None),
        (_location(1, {"type": "Polygon", "coordinates": [[[8, 49], [9, 49], [9, 50], [8, 50]]]}), None),  # open
        (_location(1, {"type": "LineString", "coordinates": [[8, 49]]}), None),
        (_location(1, {"type": "Feature", "geometry": None}), None),
        (_location(1, {"type": "Circle", "coordinates": [8, 49]}), None),
        (_location(1, {"type": "GeometryCollection", "geometries": []}), None),
        (_location(1, [8.4, 49.0]), None),
        ("Schlossplatz", None),
    ],
)
def test_location_geometry(location, expected):
    assert sta_harvester.location_geometry(location) == expected


def test_mixed_geometries_become_a_collection_and_one_box():
    line = {"type": "LineString", "coordinates": [[8.38, 49.0], [8.42, 49.02]]}
    thing = {"@iot.id": 1, "Locations": [_location(1, _point(DURLACH)), _location(2, line), _location(3, "{broken")]}
    (area,) = sta_harvester.spatial_coverage(thing)
    assert json.loads(area["geom"]) == {"type": "GeometryCollection", "geometries": [_point(DURLACH), line]}
    ring = json.loads(area["bbox"])["coordinates"][0]
    assert sta_harvester.BBOX_MARGIN == 0.0005
    assert ring == [[8.3795, 48.998], [8.4726, 48.998], [8.4726, 49.0205], [8.3795, 49.0205], [8.3795, 48.998]]
    assert sta_harvester.spatial_coverage({"@iot.id": 2, "Locations": [_location(1, "{broken")]}) == []
    assert sta_harvester.spatial_coverage({"@iot.id": 3}) == []


def test_the_box_stays_inside_wgs84():
    (area,) = sta_harvester.spatial_coverage({"Locations": [_location(1, _point([180, -90]))]})
    ring = json.loads(area["bbox"])["coordinates"][0]
    assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)


def test_the_index_prefers_the_bounding_box():
    point = json.dumps(_point(SCHLOSS))
    box = '{"type": "Polygon", "coordinates": [[[8.4, 49.0], [8.41, 49.0], [8.41, 49.01], [8.4, 49.0]]]}'
    assert spatial_for_index({"spatial_coverage": [{"geom": point, "bbox": box}]})["spatial"] == box
    assert spatial_for_index({"spatial_coverage": json.dumps([{"geom": point}])})["spatial"] == point
    assert spatial_for_index({"spatial": "own", "spatial_coverage": [{"bbox": box}]})["spatial"] == "own"
