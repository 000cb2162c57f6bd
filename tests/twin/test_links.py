"""Linked 3D and grid files (a URL typed in the form or delivered by a harvester) are
fetched by the background job through ``ckanext.udp.fetch`` and read in the limited child
process as uploads are: reference system, level of detail and extent recorded, the extent
the dataset's coverage. A link that cannot be fetched, or a hostile file behind it, gives
a German finding; the resource keeps its link, its name and its type.

The remote server is a local HTTP server the test starts (127.0.0.1 is allow-listed in
test.ini, as for the harvest tests)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset, run_jobs
from view3d import samples

from ckanext.udp.twin import generate, guard

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
LIMIT_MB = 320  # as in test_hostile: the child's address space


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def show(resource_id: str) -> dict[str, Any]:
    return tk.get_action("resource_show")(system(), {"id": resource_id})


def test_linked_files_are_fetched_and_read_in_the_background(
    http_server: Any, tmp_path: pathlib.Path, children: list[str]
) -> None:
    from ckan.lib.jobs import get_queue

    get_queue().empty()
    generate.heat_grid(str(tmp_path / "h.nc"), hours=(12,))  # a UTM grid (EPSG:25832) over Karlsruhe
    files = {
        "/3d/modell.city.json": ("application/json", json.dumps(samples.cityjson()).encode()),
        "/klima/hitze.nc": ("application/octet-stream", (tmp_path / "h.nc").read_bytes()),
    }
    asked: list[str] = []

    def respond(path: str) -> tuple[int, str, bytes]:
        asked.append(path)
        media, body = files.get(path, ("text/plain", b""))
        return (200 if path in files else 404), media, body

    http_server.responder = respond
    # a harvester writes the dataset whole (package_create with its distributions)
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[{"name": "Hitze", "url": http_server.url + "/klima/hitze.nc", "format": "NetCDF"}],
    )
    # a steward links a file in the form (resource_create with a URL)
    model = tk.get_action("resource_create")(
        system(), {"package_id": dataset["id"], "name": "Modell", "url": http_server.url + "/3d/modell.city.json"}
    )
    heat = tk.get_action("package_show")(system(), {"id": dataset["id"]})["resources"][0]
    for res in (model, heat):
        # typed by the link's name at once; fetched and read later
        assert res.get(guard.PROBE_FIELD) == guard.PENDING, res
        assert not res.get("udp_twin_extent")
    assert not asked  # nothing is fetched in the request
    assert run_jobs() >= 2
    model, heat = show(model["id"]), show(heat["id"])
    assert sorted(set(asked)) == sorted(files), asked
    assert not model.get(guard.PROBE_FIELD) and not heat.get(guard.PROBE_FIELD)
    assert model["udp_twin_kind"] == "CityJSON" and model["mimetype"] == "application/city+json"
    assert model["udp_twin_crs"] == "EPSG:25832" and model["udp_twin_lod"] == "LoD1", model
    assert json.loads(model["udp_twin_extent"])["type"] == "Polygon"
    assert "http://www.opengis.net/def/crs/EPSG/0/25832" in model["conforms_to"]
    assert heat["udp_twin_kind"] == "NetCDF" and heat["udp_twin_crs"] == "EPSG:25832", heat
    assert json.loads(heat["udp_twin_extent"])["type"] == "Polygon"
    assert not model.get("udp_twin_findings") and not heat.get("udp_twin_findings")
    assert model["url"].endswith("/3d/modell.city.json") and heat["url"].endswith("/klima/hitze.nc")
    # both read in the limited child process, as uploads are
    assert children.count("ckanext.udp.twin.probe:probe_file") == 2, children
    # the extent became the dataset's spatial coverage
    coverage = tk.get_action("package_show")(system(), {"id": dataset["id"]}).get("spatial_coverage")
    assert coverage and coverage[0]["source"] == "udp_twin", coverage


@pytest.mark.ckan_config("ckanext.udp.twin.probe_memory_mb", str(LIMIT_MB))
@pytest.mark.ckan_config("ckanext.udp.twin.max_probe_bytes", "1000000")
def test_unreachable_or_hostile_links_give_a_german_finding_and_lose_nothing(
    app: Any, http_server: Any, children: list[str]
) -> None:
    from ckan.lib.jobs import get_queue

    get_queue().empty()
    files = {
        "/tief.city.json": samples.deep_cityjson(),  # ~2 GB when parsed in this process
        "/gross.glb": samples.glb() + b"\0" * 1_200_000,
    }
    asked: list[str] = []

    def respond(path: str) -> tuple[int, str, bytes]:
        asked.append(path)
        return (200, "application/octet-stream", files[path]) if path in files else (404, "text/plain", b"")

    http_server.responder = respond
    links = {
        "Fehlt": http_server.url + "/fehlt/modell.city.json",
        "Privat": "http://10.0.0.1/3d/tileset.json",  # a private address (not allow-listed)
        "Gross": http_server.url + "/gross.glb",
        "Tief": http_server.url + "/tief.city.json",
    }
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[{"name": name, "url": url, "description": f"{name}."} for name, url in links.items()],
    )
    assert run_jobs() >= len(links)
    got = {r["name"]: r for r in tk.get_action("package_show")(system(), {"id": dataset["id"]})["resources"]}
    expected = {
        "Fehlt": ("CityJSON", "antwortete mit HTTP 404"),
        "Privat": ("3D Tiles", "nur http- und https-Adressen öffentlicher Server (10.0.0.1)"),
        "Gross": ("GLB", "größer als 1 MB und wurde nicht gelesen"),
        "Tief": ("CityJSON", f"mehr als {LIMIT_MB} MB Arbeitsspeicher"),
    }
    for name, (kind, finding) in expected.items():
        res = got[name]
        assert res["url"] == links[name] and res["description"] == f"{name}.", res  # nothing lost
        assert res["udp_twin_kind"] == kind and not res.get(guard.PROBE_FIELD), res
        assert finding in res.get("udp_twin_findings", ""), (name, res.get("udp_twin_findings"))
        assert not res.get("udp_twin_extent")
    assert "/fehlt/modell.city.json" in asked and "/gross.glb" in asked
    # the private address was refused before any connection; the hostile file went to the child
    assert children == ["ckanext.udp.twin.probe:probe_file"], children
    page = app.get(f"/dataset/{dataset['id']}/resource/{got['Fehlt']['id']}")
    assert page.status_code == 200 and "antwortete mit HTTP 404" in page.body


@pytest.mark.parametrize("savepoints", [False, True], ids=["plain", "savepoints"])
def test_links_written_in_an_open_transaction_are_queued_when_it_commits(
    http_server: Any, tmp_path: pathlib.Path, savepoints: bool
) -> None:
    """A harvest batch writes with ``defer_commit`` and commits once per batch: a job queued
    at the write would be picked up by a worker that cannot see the resource yet, and the
    link would stay "being checked" for good. The jobs are queued at the commit. The batch
    writes each record in a savepoint of its own (``harvest/base.py``): a released savepoint
    queues nothing yet (SQLAlchemy's ``after_commit`` fires there too), a rolled-back one
    drops its record's job and keeps the others'."""
    import ckan.model as model
    from ckan.lib.jobs import get_queue

    queue = get_queue()
    queue.empty()
    generate.heat_grid(str(tmp_path / "h.nc"), hours=(12,))
    body = (tmp_path / "h.nc").read_bytes()
    http_server.responder = lambda path: (200, "application/octet-stream", body)
    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published", "defer_commit": True}
    org = factories.Organization()["id"]

    def write(i: int, keep: bool = True) -> str:
        savepoint = model.Session.begin_nested() if savepoints else None
        pid = factories.Dataset(
            context=dict(context),
            owner_org=org,
            resources=[{"name": f"Hitze {i}", "url": f"{http_server.url}/klima/hitze-{i}.nc", "format": "NetCDF"}],
        )["id"]
        if savepoint is not None and keep:
            savepoint.commit()
        elif savepoint is not None:
            savepoint.rollback()
        return pid

    first = write(0)
    if savepoints:
        write(1, keep=False)  # a record the batch refused: rolled back with its savepoint
    ids = [first, write(2)]

    def probes() -> int:
        return sum(1 for job in queue.jobs if job.func_name.endswith(".probe_job"))

    assert probes() == 0  # nothing a worker could look for yet
    model.Session.commit()
    assert probes() == 2
    run_jobs()
    for pid in ids:
        res = tk.get_action("package_show")(system(), {"id": pid})["resources"][0]
        assert not res.get(guard.PROBE_FIELD) and res["udp_twin_crs"] == "EPSG:25832", res
