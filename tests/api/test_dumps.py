"""Bulk downloads (``/api/udp/dumps/…``): exactly the public catalog, a valid
Frictionless data package from the DataStore data dictionary, validators with
304, atomic replacement, a debounced rebuild job after changes and the CLI."""

from __future__ import annotations

import csv
import io
import json
import pathlib
import zipfile

import ckan.plugins.toolkit as tk
import frictionless
import pytest
from apiworld import Stewards, act
from rdflib import Graph
from rdflib.namespace import DCAT, RDF
from udp_testing import run_jobs

from ckanext.udp.api import dumps

SECRET = "Geheimwert-7f3a"  # in every hidden dataset and table: must appear in no dump


def _table(s: Stewards, pkg: dict, rows: list[dict], fields: list[dict]) -> str:
    rid = pkg["resources"][0]["id"]
    tk.get_action("datastore_create")(
        {"user": s.sysadmin["name"]}, {"resource_id": rid, "fields": fields, "records": rows, "force": True}
    )
    return rid


FIELDS = [
    {"id": "nr", "type": "int", "info": {"label": "Nummer", "notes": "Laufende Nummer des Stadtteils"}},
    {"id": "stadtteil", "type": "text", "info": {"label": "Stadtteil"}},
    {"id": "anteil", "type": "numeric"},
    {"id": "stand", "type": "date"},
]


def _rebuild_jobs(queue) -> int:
    return sum(j.func_name == "ckanext.udp.api.dumps.rebuild_job" for j in queue.jobs)


@pytest.fixture
def dumps_dir(tmp_path: pathlib.Path, ckan_config, monkeypatch) -> pathlib.Path:
    monkeypatch.setitem(ckan_config, "ckanext.udp.api.dumps_dir", str(tmp_path / "dumps"))
    return tmp_path / "dumps"


@pytest.fixture
def world(stewards: Stewards, dumps_dir: pathlib.Path):
    s = stewards
    res = [{"url": "", "format": "CSV", "name": "Tabelle"}, {"url": "http://example.org/a.pdf", "format": "PDF"}]
    open_table = s.draft(title="Stadtteile offen", resources=res)
    _table(
        s,
        open_table,
        [
            {"nr": 1, "stadtteil": "Innenstadt-Ost", "anteil": 1.5, "stand": "2025-01-01"},
            {"nr": 19, "stadtteil": "Durlach"},
        ],
        FIELDS,
    )
    s.publish(open_table)
    plain = s.published(title="Ohne Tabelle", resources=[{"url": "http://example.org/b.csv", "format": "CSV"}])
    hidden = {
        "draft": s.draft(title=f"Entwurf {SECRET}", resources=[{"url": "", "format": "CSV", "name": "T"}]),
        "internal": s.draft(title=f"Intern {SECRET}", resources=[{"url": "", "format": "CSV", "name": "T"}]),
        "withdrawn": s.draft(title=f"Zurückgezogen {SECRET}", resources=[{"url": "", "format": "CSV", "name": "T"}]),
    }
    for pkg in hidden.values():
        _table(s, pkg, [{"nr": 1, "stadtteil": SECRET}], FIELDS[:2])
    s.publish(hidden["internal"], "internal")
    s.publish(hidden["withdrawn"])
    act(s.editor, "udp_withdraw", id=hidden["withdrawn"]["id"], reason="Fehler")
    return {"public": [open_table, plain], "hidden": list(hidden.values()), "dir": dumps_dir}


def _files(folder: pathlib.Path) -> dict[str, bytes]:
    out = {name: (folder / name).read_bytes() for name in dumps.FILES}
    with zipfile.ZipFile(io.BytesIO(out["daten.zip"])) as z:
        for member in z.namelist():
            out[f"daten.zip:{member}"] = z.read(member)
    return out


def test_dumps_hold_exactly_what_the_public_sees(world, tmp_path, cli, app, monkeypatch):
    """One world for the content, the data package, the HTTP answers and the
    failed rebuild (building it is the slow part)."""
    assert app.get("/api/udp/dumps/katalog.csv").status_code == 404  # not built yet: JSON, not HTML

    from ckan.cli.cli import ckan as ckan_command

    # built by the CLI, as an operator does
    result = cli.invoke(ckan_command, ["udp", "api", "dumps", "build"])
    assert result.exit_code == 0, result.output
    assert "2 datasets, 1 tables" in result.output
    manifest = dumps.manifest()
    assert manifest is not None
    public_ids = {p["id"] for p in world["public"]}
    anonymous = tk.get_action("package_search")({"user": ""}, {"rows": 1000})
    assert {d["id"] for d in anonymous["results"]} == public_ids
    files = _files(world["dir"])

    lines = [json.loads(x) for x in files["katalog.jsonl"].decode().splitlines()]
    assert {d["id"] for d in lines} == public_ids
    shown = tk.get_action("package_show")({"user": ""}, {"id": world["public"][0]["id"]})
    assert next(d for d in lines if d["id"] == shown["id"])["resources"] == shown["resources"]

    rows = list(csv.DictReader(io.StringIO(files["katalog.csv"].decode())))
    assert sorted(r["resource_id"] for r in rows) == sorted(r["id"] for p in lines for r in p["resources"])
    assert {r["dataset_id"] for r in rows} == public_ids

    g = Graph().parse(data=files["katalog.ttl"].decode(), format="turtle")
    assert len(set(g.subjects(RDF.type, DCAT.Dataset))) == 2

    # nothing hidden anywhere: no id, name or value of a hidden dataset or table
    for pkg in world["hidden"]:
        for needle in (pkg["id"], pkg["name"], pkg["resources"][0]["id"], SECRET):
            for name, content in files.items():
                assert needle.encode() not in content, (needle, name)
    assert manifest["datasets"] == 2 and manifest["tables"] == 1

    # the tables: a valid Frictionless data package
    folder = tmp_path / "paket"
    with zipfile.ZipFile(world["dir"] / "daten.zip") as z:
        z.extractall(folder)
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    package = json.loads((folder / "datapackage.json").read_text())
    (resource,) = package["resources"]
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    # the schema comes from the DataStore data dictionary
    assert fields["nr"] == {
        "name": "nr",
        "type": "integer",
        "title": "Nummer",
        "description": "Laufende Nummer des Stadtteils",
    }
    assert fields["stadtteil"]["title"] == "Stadtteil" and fields["anteil"]["type"] == "number"
    assert fields["stand"]["type"] == "date"
    rows = list(csv.DictReader((folder / resource["path"]).open(encoding="utf-8")))
    assert [r["stadtteil"] for r in rows] == ["Innenstadt-Ost", "Durlach"]
    license_id = tk.get_action("package_show")({"user": ""}, {"id": world["public"][0]["id"]}).get("license_id")
    assert [lic["name"] for lic in resource.get("licenses", [])] == ([license_id] if license_id else [])
    _validators_and_failed_rebuild(world, app, monkeypatch)


def _validators_and_failed_rebuild(world, app, monkeypatch):
    for name, media in dumps.FILES.items():
        res = app.get(f"/api/udp/dumps/{name}", headers={"Origin": "http://app.example.org"})
        assert res.status_code == 200, name
        assert res.headers["Content-Type"].startswith(media.split(";")[0])
        assert res.headers["Access-Control-Allow-Origin"] == "*"
        etag, modified = res.headers["ETag"], res.headers["Last-Modified"]
        assert app.get(f"/api/udp/dumps/{name}", headers={"If-None-Match": etag}).status_code == 304
        assert app.get(f"/api/udp/dumps/{name}", headers={"If-Modified-Since": modified}).status_code == 304
        assert app.get(f"/api/udp/dumps/{name}", headers={"If-None-Match": '"anders"'}).status_code == 200
    index = app.get("/api/udp/dumps").json
    assert [f["name"] for f in index["files"]] == list(dumps.FILES) and index["datasets"] == 2
    missing = app.get("/api/udp/dumps/alles.zip")
    assert missing.status_code == 404 and missing.json["success"] is False

    # a failed rebuild keeps the last good dump
    before = _files(world["dir"])
    manifest = dumps.manifest()
    world_pkg = world["public"][0]

    def broken(*args, **kwargs):
        raise RuntimeError("Solr weg")

    monkeypatch.setattr(dumps, "_write_turtle", broken)
    with pytest.raises(RuntimeError):
        dumps.build()
    assert _files(world["dir"]) == before and dumps.manifest() == manifest
    assert sorted(p.name for p in world["dir"].iterdir()) == sorted([*dumps.FILES, "manifest.json"])
    assert world_pkg["id"].encode() in before["katalog.jsonl"]


@pytest.mark.ckan_config("ckanext.udp.api.dumps_rebuild_on_change", "true")
@pytest.mark.ckan_config("ckanext.udp.api.dumps_debounce_seconds", "0")
def test_changes_queue_one_debounced_rebuild(stewards, dumps_dir):
    from ckan.lib.jobs import get_queue

    from ckanext.udp import compat

    queue = get_queue()
    queue.empty()
    redis = compat.redis_connection()
    redis.delete(dumps.PENDING_KEY)
    first = stewards.published(title="Neu eins")
    second = stewards.published(title="Neu zwei")
    assert _rebuild_jobs(queue) == 1  # many changes, one job
    assert run_jobs() >= 1
    jsonl = (dumps_dir / "katalog.jsonl").read_text()
    assert first["id"] in jsonl and second["id"] in jsonl
    # after the rebuild the next change queues the next one
    stewards.published(title="Neu drei")
    assert _rebuild_jobs(queue) == 1


def test_debounce_requeues_instead_of_building(dumps_dir, monkeypatch, ckan_config):
    from ckan.lib.jobs import get_queue

    from ckanext.udp import compat

    monkeypatch.setitem(ckan_config, "ckanext.udp.api.dumps_debounce_seconds", "60")
    queue = get_queue()
    queue.empty()
    redis = compat.redis_connection()
    now = repr(__import__("time").time())
    redis.set(dumps.LAST_CHANGE_KEY, now)
    redis.set(dumps.PENDING_KEY, now)  # waiting since the first change, just now
    monkeypatch.setattr(dumps.time, "sleep", lambda s: None)
    dumps.rebuild_job()
    assert not (dumps_dir / "katalog.jsonl").exists()  # a change came just now: wait
    assert _rebuild_jobs(queue) == 1 and queue.count == 1
    queue.empty()
    redis.delete(dumps.PENDING_KEY)


@pytest.mark.ckan_config("ckanext.udp.api.dumps_rebuild_on_change", "true")
@pytest.mark.ckan_config("ckanext.udp.api.dumps_debounce_seconds", "0")
def test_datastore_row_changes_alone_queue_the_rebuild(stewards, dumps_dir):
    """Rows changed without a dataset change (datastore_upsert, and rows written
    past the actions as sensor series and SensorThings mirrors write them,
    ``datastore_sql.insert_rows``) queue the debounced rebuild: daten.zip holds them."""
    from ckan.lib.jobs import get_queue

    from ckanext.udp import compat
    from ckanext.udp.datastore_sql import insert_rows, write_engine

    pkg = stewards.draft(title="Messreihe", resources=[{"url": "", "format": "CSV", "name": "Reihe"}])
    rid = pkg["resources"][0]["id"]
    fields = [{"id": "nr", "type": "int"}, {"id": "wert", "type": "text"}]
    tk.get_action("datastore_create")(
        {"user": stewards.sysadmin["name"]},
        {
            "resource_id": rid,
            "fields": fields,
            "primary_key": ["nr"],
            "records": [{"nr": 1, "wert": "alt"}],
            "force": True,
        },
    )
    stewards.publish(pkg)
    queue = get_queue()
    redis = compat.redis_connection()

    def rows_in_zip() -> list[str]:
        with zipfile.ZipFile(dumps_dir / "daten.zip") as z:
            (member,) = [m for m in z.namelist() if m.startswith("data/")]
            return [r["wert"] for r in csv.DictReader(io.StringIO(z.read(member).decode()))]

    run_jobs()
    assert rows_in_zip() == ["alt"]
    writes = {
        "datastore_upsert": lambda: tk.get_action("datastore_upsert")(
            {"user": stewards.sysadmin["name"], "ignore_auth": True},  # a system write (a loader, a job)
            {"resource_id": rid, "records": [{"nr": 2, "wert": "upsert"}], "method": "insert", "force": True},
        ),
        "insert_rows": lambda: _insert(write_engine(), insert_rows, rid, fields),
    }
    for name, write in writes.items():
        queue.empty()
        redis.delete(dumps.PENDING_KEY)
        write()
        assert _rebuild_jobs(queue) == 1, name
        run_jobs()
    assert rows_in_zip() == ["alt", "upsert", "sensor"]


def _insert(engine, insert_rows, rid: str, fields: list[dict]) -> None:
    with engine.begin() as conn:
        assert len(insert_rows(conn, rid, fields, ["nr"], [{"nr": 3, "wert": "sensor"}])) == 1
    engine.dispose()


def test_a_stream_of_changes_waits_at_most_the_maximum_delay(dumps_dir, monkeypatch, ckan_config):
    """Sensor uplinks every few seconds never leave a pause of the debounce time:
    the rebuild still comes once the first waiting change is older than the maximum delay."""
    import time

    from ckanext.udp import compat

    monkeypatch.setitem(ckan_config, "ckanext.udp.api.dumps_debounce_seconds", "60")
    monkeypatch.setitem(ckan_config, "ckanext.udp.api.dumps_max_delay_seconds", "600")
    redis = compat.redis_connection()
    redis.set(dumps.LAST_CHANGE_KEY, repr(time.time()))  # a change just now ...
    redis.set(dumps.PENDING_KEY, repr(time.time() - 601))  # ... of a stream that began 601 s ago
    built: list[bool] = []
    monkeypatch.setattr(dumps, "build", lambda: built.append(True))
    dumps.rebuild_job()
    assert built == [True] and not redis.exists(dumps.PENDING_KEY)


@pytest.mark.ckan_config("ckanext.udp.api.dumps_rebuild_on_change", "true")
@pytest.mark.ckan_config("ckanext.udp.api.dumps_debounce_seconds", "600")
def test_a_dataset_leaving_public_view_is_rebuilt_without_waiting(stewards, dumps_dir, monkeypatch):
    """Publishing may wait for the debounce; a withdrawal may not: the files would
    keep the withdrawn dataset for the debounce time (or, under a stream of sensor
    rows, up to the maximum delay)."""
    from ckanext.udp import compat

    redis = compat.redis_connection()
    redis.delete(dumps.PENDING_KEY, dumps.URGENT_KEY)
    pkg = stewards.published(title="Bald zurückgezogen")
    assert redis.get(dumps.URGENT_KEY) is None  # publishing is no hurry
    act(stewards.editor, "udp_withdraw", id=pkg["id"], reason="Fehler")
    assert redis.get(dumps.URGENT_KEY) is not None
    monkeypatch.setattr(dumps.time, "sleep", lambda s: None)
    dumps.rebuild_job()  # a change came just now and the debounce is 10 minutes: built anyway
    built = (dumps_dir / "katalog.jsonl").read_text()
    assert pkg["id"] not in built
    assert redis.get(dumps.URGENT_KEY) is None and redis.get(dumps.PENDING_KEY) is None


@pytest.mark.ckan_config("ckanext.udp.api.dumps_rebuild_on_change", "true")
def test_a_lost_rebuild_job_does_not_block_the_next_rebuilds(dumps_dir):
    """A job lost while it waited (worker killed) leaves the pending flag behind:
    a later change queues again instead of waiting for the flag to expire (6 h)."""
    import time

    from ckan.lib.jobs import get_queue

    from ckanext.udp import compat

    queue = get_queue()
    queue.empty()
    redis = compat.redis_connection()
    redis.set(dumps.PENDING_KEY, repr(time.time()))  # a job waits right now
    assert dumps.schedule() is False and _rebuild_jobs(queue) == 0
    redis.set(dumps.PENDING_KEY, repr(time.time() - 3 * 3600))  # "waiting" for three hours: lost
    assert dumps.schedule() is True and _rebuild_jobs(queue) == 1
    queue.empty()
    redis.delete(dumps.PENDING_KEY)


def test_rows_written_are_announced_only_after_their_commit(stewards):
    """A receiver of ``ROWS_WRITTEN`` (the dumps' rebuild) that reads the table finds
    the announced rows: inside ``datastore_sql.transaction`` (sensor series,
    SensorThings mirrors) the signal waits for the commit; a rolled-back batch
    announces nothing."""
    import sqlalchemy as sa

    from ckanext.udp import datastore_sql

    pkg = stewards.draft(title="Reihe", resources=[{"url": "", "format": "CSV", "name": "Reihe"}])
    fields = [{"id": "nr", "type": "int"}, {"id": "wert", "type": "text"}]
    rid = pkg["resources"][0]["id"]
    tk.get_action("datastore_create")(
        {"user": stewards.sysadmin["name"]},
        {"resource_id": rid, "fields": fields, "primary_key": ["nr"], "force": True},
    )
    engine = datastore_sql.write_engine()
    seen: list[int] = []

    def receiver(sender, **kwargs):  # what a reader on another connection finds when told
        with engine.connect() as other:  # before the commit the table is locked: fail, do not wait
            other.execute(sa.text("SET lock_timeout = '5s'"))
            seen.append(other.execute(sa.text(f'SELECT count(*) FROM "{rid}"')).scalar_one())

    datastore_sql.ROWS_WRITTEN.connect(receiver, sender=rid)
    try:
        with datastore_sql.transaction(engine) as conn:
            datastore_sql.insert_rows(conn, rid, fields, ["nr"], [{"nr": 1, "wert": "a"}, {"nr": 2, "wert": "b"}])
        assert seen == [2]
        with pytest.raises(RuntimeError), datastore_sql.transaction(engine) as conn:
            datastore_sql.insert_rows(conn, rid, fields, ["nr"], [{"nr": 3, "wert": "c"}])
            raise RuntimeError("the batch fails after the insert")
        assert seen == [2]  # rolled back: nothing announced
    finally:
        datastore_sql.ROWS_WRITTEN.disconnect(receiver, sender=rid)
        engine.dispose()


@pytest.mark.ckan_config("ckanext.udp.api.dumps_debounce_seconds", "0")
def test_a_rebuild_waits_while_another_build_runs(dumps_dir, monkeypatch):
    """Two job workers: a rebuild queued during a running build must not build beside
    it (an older build finishing last would replace the newer files); it re-queues
    itself, keeping the pending flag, and builds once the first build is done."""
    import time

    from ckan.lib.jobs import get_queue

    from ckanext.udp import compat

    queue = get_queue()
    queue.empty()
    redis = compat.redis_connection()
    built: list[bool] = []
    monkeypatch.setattr(dumps, "build", lambda: built.append(True))
    monkeypatch.setattr(dumps.time, "sleep", lambda s: None)
    redis.set(dumps.PENDING_KEY, repr(time.time()))
    running = redis.lock(dumps.BUILD_LOCK_KEY, timeout=60)
    assert running.acquire(blocking=False)  # another worker's build is running
    try:
        dumps.rebuild_job()
        assert built == [] and _rebuild_jobs(queue) == 1 and redis.exists(dumps.PENDING_KEY)
    finally:
        running.release()
    queue.empty()
    dumps.rebuild_job()
    assert built == [True] and not redis.exists(dumps.PENDING_KEY) and not redis.exists(dumps.BUILD_LOCK_KEY)


@pytest.mark.ckan_config("ckanext.udp.api.dumps_debounce_seconds", "0")
def test_a_long_build_keeps_its_lock_and_a_killed_one_loses_it_soon(dumps_dir, monkeypatch):
    """The build lock is short (a killed build must not hold back an urgent rebuild for
    long) and renewed while a build runs (a long build must not be overtaken)."""
    import threading
    import time

    from ckanext.udp import compat

    redis = compat.redis_connection()
    redis.delete(dumps.BUILD_LOCK_KEY)
    redis.set(dumps.PENDING_KEY, repr(time.time()))
    monkeypatch.setattr(dumps, "BUILD_LOCK_SECONDS", 1)
    monkeypatch.setattr(dumps, "BUILD_LOCK_RENEW", 0.2)
    held: list[int] = []

    def long_build() -> None:  # three lock lifetimes
        threading.Event().wait(3.0)
        held.append(redis.exists(dumps.BUILD_LOCK_KEY))

    monkeypatch.setattr(dumps, "build", long_build)
    dumps.rebuild_job()
    assert held == [1] and not redis.exists(dumps.BUILD_LOCK_KEY)
    # a build killed while holding the lock: it is gone after its lifetime, not hours later
    assert redis.lock(dumps.BUILD_LOCK_KEY, timeout=dumps.BUILD_LOCK_SECONDS).acquire(blocking=False)
    threading.Event().wait(1.5)
    assert not redis.exists(dumps.BUILD_LOCK_KEY)
