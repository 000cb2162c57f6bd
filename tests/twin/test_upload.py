"""Uploads typed and located by ``udp_twin`` against the real stack: the demo datasets
(DCAT-AP.de with 0 SHACL violations, media types, map search around Friedrichsplatz, the
Stadtteil facet, the resource page in German) and broken or hostile uploads through the
API (German findings, never a 500)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
import pytest
import rdflib
from ckan.tests import factories
from ckanext.dcat.processors import RDFSerializer

from ckanext.udp.dcatde import validation
from ckanext.udp.twin import demo, generate, profile

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
IANA = "https://www.iana.org/assignments/media-types/"


@pytest.fixture
def shapes(ckan_config, monkeypatch, shared_dir):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(shared_dir / "dcat-ap-de"))


def _orgs() -> None:
    factories.Organization(name="vermessungs-und-liegenschaftsamt", title="Vermessungs- und Liegenschaftsamt")
    factories.Organization(name="umwelt-und-arbeitsschutz", title="Umwelt- und Arbeitsschutz")


def _turtle(dataset: dict[str, Any]) -> str:
    return RDFSerializer(profiles=tk.config.get("ckanext.dcat.rdf.profiles").split()).serialize_dataset(
        dataset, _format="turtle"
    )


@pytest.mark.usefixtures("shapes")
def test_demo_datasets_conform_are_typed_and_found_by_the_map(app):
    _orgs()
    demo.load()
    model = tk.get_action("package_show")({}, {"id": demo.MODEL})
    grid = tk.get_action("package_show")({}, {"id": demo.GRID})
    by_kind = {r["udp_twin_kind"]: r for pkg in (model, grid) for r in pkg["resources"]}
    assert set(by_kind) == {"CityJSON", "GLB", "3D Tiles", "NetCDF"}
    assert by_kind["CityJSON"]["mimetype"] == "application/city+json"
    assert by_kind["GLB"]["mimetype"] == "model/gltf-binary"
    assert by_kind["NetCDF"]["mimetype"] == "application/x-netcdf"
    assert by_kind["CityJSON"]["udp_twin_lod"] == "LoD1" and by_kind["CityJSON"]["udp_twin_crs"] == "EPSG:25832"
    assert by_kind["NetCDF"]["udp_twin_crs"] == "EPSG:25832"
    assert by_kind["NetCDF"]["format"].endswith("/NETCDF") and by_kind["CityJSON"]["format"].endswith("/JSON")
    for pkg in (model, grid):
        assert "Demodaten" in pkg["title"] and not pkg["private"]
        assert pkg["spatial_coverage"][0]["source"] == "udp_twin"
        graph = rdflib.Graph().parse(data=_turtle(pkg), format="turtle")
        report = validation.validate(graph)
        assert not report.violations, [f"{r.path}: {r.message} ({r.value})" for r in report.violations]
        media = {str(o) for o in graph.objects(None, DCAT.mediaType)}
        conforms = {str(o) for o in graph.objects(None, DCT.conformsTo)}
        assert "http://www.opengis.net/def/crs/EPSG/0/25832" in conforms
        if pkg is model:
            assert media == {IANA + "application/city+json", IANA + "model/gltf-binary", IANA + "application/json"}
            # the level of detail (no DCAT property: the twin's own, in its documented namespace)
            lod = rdflib.URIRef(profile.namespace() + "levelOfDetail")
            levels = {(str(d), str(o)) for d, o in graph.subject_objects(lod)}
            cityjson = next(d for d in graph.subjects(DCAT.mediaType, rdflib.URIRef(IANA + "application/city+json")))
            assert (str(cityjson), "LoD1") in levels and len(levels) == 1, levels
            assert (cityjson, DCT.conformsTo, rdflib.URIRef("http://www.opengis.net/def/crs/EPSG/0/25832")) in graph
        else:
            assert media == {IANA + "application/x-netcdf"}
    # the tileset's content is the GLB, downloaded from the portal itself
    tiles = json.loads(app.get(urlsplit(by_kind["3D Tiles"]["url"]).path).body)
    glb = app.get(tiles["root"]["content"]["uri"])
    assert glb.status_code == 200 and glb.data[:4] == b"glTF"
    # the map search: a box around Friedrichsplatz finds the model; one over Durlach does not
    lon, lat = generate.FRIEDRICHSPLATZ
    around = f"{lon - 0.003},{lat - 0.002},{lon + 0.003},{lat + 0.002}"
    found = tk.get_action("package_search")({}, {"extras": {"ext_bbox": around}, "rows": 50})
    assert demo.MODEL in {d["name"] for d in found["results"]}
    durlach = tk.get_action("package_search")({}, {"extras": {"ext_bbox": "8.46,48.99,8.49,49.01"}})
    assert demo.MODEL not in {d["name"] for d in durlach["results"]}
    # the Stadtteil facet (derived from the coverage by udp_dcatde)
    facets = tk.get_action("package_search")({}, {"q": f"name:{demo.MODEL}", "facet.field": ["vocab_stadtteile"]})
    assert facets["search_facets"]["vocab_stadtteile"]["items"], "the model lies in a Stadtteil"
    # the resource page says it in German
    page = app.get(f"/dataset/{demo.MODEL}/resource/{by_kind['CityJSON']['id']}").body
    for text in ("Koordinatenreferenzsystem", "EPSG:25832", "Detaillierungsgrad (LoD)", "LoD1", "Ausdehnung (WGS 84)"):
        assert text in page, text
    # a second run adds nothing
    demo.load()
    assert len(tk.get_action("package_show")({}, {"id": demo.MODEL})["resources"]) == 3


HOSTILE = [
    ("kaputt.city.json", b'{"type": "CityJSON", "vertices": [[1, 2', "kein vollständiges JSON"),
    ("klima.nc", b"das ist kein netcdf", "keine NetCDF-Datei"),
    ("riesig.glb", b"glTF\x02\x00\x00\x00\x00\x94\x35\x77" + b"\x00" * 64, "2000000000 Bytes"),
    ("tileset.json", b'{"asset": ' * 5000, "kein vollständiges JSON"),
    ("bild.tif", b"II*\x00" + struct.pack("<I", 2_000_000_000), "abgeschnitten"),
    ("rand.tif", b"MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 40, "abgeschnitten"),
]


def test_broken_and_hostile_uploads_get_german_findings_never_a_500(app):
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    pkg = factories.Dataset(owner_org=org["id"])
    headers = {"Authorization": sysadmin["token"]}
    for filename, content, finding in HOSTILE:
        data = {"package_id": pkg["id"], "name": filename, "upload": (io.BytesIO(content), filename)}
        resp = app.post("/api/3/action/resource_create", data=data, headers=headers, content_type="multipart/form-data")
        assert resp.status_code == 200, (filename, resp.status_code, resp.body[:300])
        res = json.loads(resp.body)["result"]
        assert finding in res.get("udp_twin_findings", ""), (filename, res.get("udp_twin_findings"))
    # a claimed size of 2 GB in the form is a number, not a read
    data = {"package_id": pkg["id"], "name": "x", "size": "2000000000", "upload": (io.BytesIO(b"{}"), "a.city.json")}
    resp = app.post("/api/3/action/resource_create", data=data, headers=headers, content_type="multipart/form-data")
    assert resp.status_code == 200 and json.loads(resp.body)["result"]["udp_twin_findings"]
    assert tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]}).get("spatial_coverage") in (
        None,
        [],
        "",
    )


def test_a_dataset_written_whole_has_its_distributions_typed():
    """Harvesters write a dataset whole (package_create/update with its resources, no
    upload, no resource hook): its 3D, grid and service distributions are typed from
    the URL or media type before the write."""
    from udp_testing import public_dataset

    system = {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}
    pkg = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[
            {"name": "Modell", "url": "https://daten.example/3d/modell.city.json", "format": ""},
            {"name": "Hitze", "url": "https://daten.example/klima/hitze", "mimetype": "application/x-netcdf"},
            {"name": "Karte", "url": "https://geo.example/wms?SERVICE=WMS&REQUEST=GetCapabilities"},
            {"name": "Tabelle", "url": "https://daten.example/a.csv", "format": "CSV"},
        ],
    )
    got = {r["name"]: r for r in tk.get_action("package_show")(dict(system), {"id": pkg["id"]})["resources"]}
    assert got["Modell"]["udp_twin_kind"] == "CityJSON" and got["Modell"]["mimetype"] == "application/city+json"
    assert got["Modell"]["format"].rsplit("/", 1)[-1] == "JSON"
    assert got["Hitze"]["udp_twin_kind"] == "NetCDF" and got["Hitze"]["format"].rsplit("/", 1)[-1] == "NETCDF"
    assert got["Karte"]["udp_twin_kind"] == "WMS" and got["Karte"]["format"].rsplit("/", 1)[-1] == "WMS_SRVC"
    assert "udp_twin_kind" not in got["Tabelle"] and got["Tabelle"]["format"].rsplit("/", 1)[-1] == "CSV"
    # an update written whole (a harvest's next run) types what it adds
    whole = tk.get_action("package_show")(dict(system), {"id": pkg["id"]})
    whole["resources"].append({"name": "Kacheln", "url": "https://daten.example/3d/tileset.json"})
    tk.get_action("package_update")(dict(system), whole)
    got = {r["name"]: r for r in tk.get_action("package_show")(dict(system), {"id": pkg["id"]})["resources"]}
    assert got["Kacheln"]["udp_twin_kind"] == "3D Tiles" and got["Modell"]["udp_twin_kind"] == "CityJSON"


def big_cityjson(path: str, target_bytes: int) -> None:
    """A CityJSON of about ``target_bytes``: the demo blocks repeated on a grid, written as a stream."""
    model = generate.block_model()
    per = len(model["vertices"])
    blocks = list(model["CityObjects"].items())
    one = len(json.dumps(model["CityObjects"])) + len(json.dumps(model["vertices"]))
    copies = max(1, target_bytes // one)
    with open(path, "w") as f:
        head = {k: model[k] for k in ("type", "version", "transform")}
        head["metadata"] = {"referenceSystem": model["metadata"]["referenceSystem"]}
        f.write(json.dumps(head)[:-1] + ', "CityObjects": {')
        for c in range(copies):
            chunk = {}
            for name, obj in blocks:
                shell = obj["geometry"][0]["boundaries"][0]
                moved = [[[i + c * per for i in ring] for ring in surface] for surface in shell]
                chunk[f"{name}-{c}"] = dict(obj, geometry=[dict(obj["geometry"][0], boundaries=[moved])])
            f.write(("" if c == 0 else ",") + json.dumps(chunk)[1:-1])
        f.write('}, "vertices": [')
        for c in range(copies):
            dx, dy = (c % 40) * 40000, (c // 40) * 40000  # 400 m steps in units of 0.01 m
            f.write(("" if c == 0 else ",") + ",".join(f"[{x + dx},{y + dy},{z}]" for x, y, z in model["vertices"]))
        f.write("]}")


PROBE_RSS = """
import resource, sys, time
from ckanext.udp.twin import probe
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    found = probe.probe(f, "gross.city.json")
print(found.kind.label, found.epsg, ",".join(found.lods), bool(found.bbox), round(time.perf_counter() - t, 2),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
BASELINE_RSS = """
import resource, sys
from ckanext.udp.twin import probe
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.big
def test_a_50_mb_cityjson_upload_is_typed_in_bounded_memory_and_time(app, tmp_path, capsys):
    path = str(tmp_path / "gross.city.json")
    started = time.perf_counter()
    big_cityjson(path, 50 * 1024 * 1024)
    generated = time.perf_counter() - started
    size = os.path.getsize(path)
    assert size > 45 * 1024 * 1024
    # the probe alone, in a process of its own: its peak memory is far below the file's size
    out = subprocess.run([sys.executable, "-c", PROBE_RSS, path], capture_output=True, text=True, check=True).stdout
    label, epsg, lods, has_bbox, seconds, rss_mb = out.split()
    base_mb = int(subprocess.run([sys.executable, "-c", BASELINE_RSS], capture_output=True, text=True).stdout)
    assert (label, epsg, lods, has_bbox) == ("CityJSON", "25832", "1", "True")
    assert int(rss_mb) - base_mb < size / 1024 / 1024 / 2, (rss_mb, base_mb)
    # and through the API, as a client uploads it: typed at once by its name, read by a
    # background job (larger than ckanext.udp.twin.sync_probe_bytes)
    from ckan.lib.jobs import get_queue
    from udp_testing import run_jobs

    get_queue().empty()
    sysadmin = factories.SysadminWithToken()
    pkg = factories.Dataset(owner_org=factories.Organization()["id"])
    started = time.perf_counter()
    with open(path, "rb") as f:
        data = {"package_id": pkg["id"], "name": "gross", "upload": (f, "gross.city.json")}
        resp = app.post(
            "/api/3/action/resource_create",
            data=data,
            headers={"Authorization": sysadmin["token"]},
            content_type="multipart/form-data",
        )
    request_seconds = time.perf_counter() - started
    assert resp.status_code == 200, resp.body[:300]
    res = json.loads(resp.body)["result"]
    assert res["udp_twin_kind"] == "CityJSON" and res.get("udp_twin_probe") == "pending"
    started = time.perf_counter()
    assert run_jobs() >= 1
    job_seconds = time.perf_counter() - started
    res = tk.get_action("resource_show")({"ignore_auth": True}, {"id": res["id"]})
    assert res["udp_twin_kind"] == "CityJSON" and res["udp_twin_crs"] == "EPSG:25832" and res["udp_twin_lod"] == "LoD1"
    assert res.get("udp_twin_extent") and not res.get("udp_twin_probe"), res
    with capsys.disabled():
        print(
            f"\n[twin] {size / 1e6:.1f} MB CityJSON (generated in {generated:.1f} s): probe {seconds} s, "
            f"peak RSS {rss_mb} MB (interpreter with imports alone {base_mb} MB); "
            f"whole resource_create through the API {request_seconds:.1f} s, the background check "
            f"{job_seconds:.1f} s (this loaded box)"
        )


@pytest.mark.usefixtures("shapes")
def test_a_stewards_upload_does_not_change_a_live_datasets_coverage_past_review():
    """The extent of an upload becomes the coverage of a draft, or by a system write
    (demo, harvest); a steward's upload on a published dataset does not change its live
    metadata past the four-eyes review."""
    from ckanext.udp.twin import coverage, record

    _orgs()
    extent = record.polygon((8.40, 49.005, 8.41, 49.012))
    pkg = tk.get_action("package_create")(
        demo._context(),
        dict(
            demo.COMMON,
            name="live-blockmodell",
            title="Blockmodell (Demodaten)",
            notes="Ein Blockmodell.",
            license_attribution_by_text="Stadt Karlsruhe (Demodaten)",
            owner_org="vermessungs-und-liegenschaftsamt",
            resources=[{"url": "https://x.example/m.city.json", "name": "Modell", "udp_twin_extent": extent}],
        ),
    )
    live = tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})
    assert live.get("udp_workflow_state") == "published" and not live.get("spatial_coverage")
    assert coverage.feed(pkg["id"], system=False) is False
    after = tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})
    assert not after.get("spatial_coverage") and after["metadata_modified"] == live["metadata_modified"]
    assert coverage.feed(pkg["id"], system=True) is True  # a system write (demo, harvest) may
