"""The batched import of the DCAT-AP.de harvester (``import_batch_size``): the
datasets of one job are written in one transaction, each in a savepoint of its
own. A record that fails in the middle of a batch leaves nothing of itself and
becomes an error on its harvest object; the others of the batch are imported.
A batched import writes exactly what the import one by one writes. Nothing of a
batch is public before it is published, Solr holds every dataset a batch
imported, and a batch whose transaction something inside tries to commit keeps
nothing of itself and is imported one by one (no dataset written twice)."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckanext.harvest.model import HarvestObject, HarvestObjectExtra
from harvestlib import harvested, make_source, run_job, sysadmin_context
from test_dcat import serve_pages, ttl_catalog

from ckanext.udp.harvest.base import BATCH_KEY

SLUGS = ["a", "b", "c", "d", "e", "f"]


def _poisoned(site, how: str = "nul", slug: str = "d") -> str:
    """One page of six datasets with one (``slug``) poisoned. ``nul``: a NUL
    character in its distribution's description (it passes the schema and its
    validators and fails while it is written, after its dataset row was flushed).
    ``schema``: an FTP address as its distribution's URL, which the mapping
    keeps and the portal's DCAT-AP.de schema refuses (``package_create`` calls ``Session.rollback()``
    before it raises the ValidationError)."""
    body = ttl_catalog(SLUGS, page_url=site.url("/p1"))
    if how == "nul":
        body = body.replace(
            f"<http://example.invalid/dataset/{slug}/csv> a dcat:Distribution ;",
            f"<http://example.invalid/dataset/{slug}/csv> a dcat:Distribution ;\n"
            '    dct:description "Null\\u0000Byte" ;',
        )
    else:
        body = body.replace(f"<https://example.invalid/{slug}.csv>", f"<ftp://example.invalid/{slug}.csv>")
    assert body != ttl_catalog(SLUGS, page_url=site.url("/p1"))
    site.put("/p1", body, "text/turtle")
    return site.url("/p1")


def _rows(sql: str, **params: Any) -> list[Any]:
    return list(model.Session.execute(sa.text(sql), params).fetchall())


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestBatch:
    @pytest.mark.parametrize("how", ["nul", "schema"])
    def test_a_poisoned_record_in_the_middle_of_a_batch(self, site, org, how):
        """A poisoned record in the middle of one batch of six, failing while it is
        written or refused by the schema: it becomes an error on its own harvest
        object, nothing of it is written (no dataset, no resource, no current
        harvest object), the five others are imported, committed and searchable,
        and their objects report "added"."""
        source = make_source(_poisoned(site, how), "udp_dcat", org, {"import_batch_size": 6})
        run = run_job(source)
        errors = dict(run.object_errors)
        assert sorted(errors) == ["http://example.invalid/dataset/d"], errors
        message = errors["http://example.invalid/dataset/d"]
        if how == "nul":
            assert "NUL" in message
        else:  # the schema's verdict, in German on the job (the portal's default language)
            assert "Das Schema des Portals hat den Datensatz abgelehnt" in message, message
            assert "Bitte eine Webadresse angeben" in message, message
            shown = tk.get_action("harvest_job_show")(sysadmin_context(), {"id": run.job_id})
            assert shown["stats"].get("errored") == 1, shown["stats"]
        assert run.stats["added"] == 5 and run.stats["errored"] == 1, run.stats
        assert run.gather_errors == []
        # one batch: the five others carry the result the first object's import stored for them
        marks = {
            o.guid.rsplit("/", 1)[1]: v
            for o, v in model.Session.query(HarvestObject, HarvestObjectExtra.value)
            .join(HarvestObjectExtra, HarvestObjectExtra.harvest_object_id == HarvestObject.id)
            .filter(HarvestObject.harvest_job_id == run.job_id, HarvestObjectExtra.key == BATCH_KEY)
        }
        assert marks == {"b": "ok", "c": "ok", "d": "error", "e": "ok", "f": "ok"}
        assert sorted(d["title"] for d in harvested(source)) == [f"Datensatz {s}" for s in "abcef"]
        # nothing half-written of "d" (its row and resource were flushed before the NUL failed)
        assert _rows("SELECT id FROM package WHERE title = 'Datensatz d'") == []
        assert _rows("SELECT id FROM resource WHERE url LIKE '%/d.csv'") == []
        assert _rows("SELECT id FROM package WHERE owner_org = :o AND type = 'dataset'", o=org["id"]).__len__() == 5
        objects = HarvestObject.filter(harvest_job_id=run.job_id).all()
        assert {o.guid.rsplit("/", 1)[1]: (o.state, o.report_status, o.current) for o in objects} == {
            "a": ("COMPLETE", "added", True),
            "b": ("COMPLETE", "added", True),
            "c": ("COMPLETE", "added", True),
            "d": ("ERROR", "errored", False),
            "e": ("COMPLETE", "added", True),
            "f": ("COMPLETE", "added", True),
        }
        found = tk.get_action("package_search")(sysadmin_context(), {"q": "title:Datensatz", "include_private": True})
        assert sorted(d["title"] for d in found["results"]) == [f"Datensatz {s}" for s in "abcef"]
        # the next run imports the mended records, and writes nothing of the others
        site.put("/p1", ttl_catalog(SLUGS, page_url=site.url("/p1")), "text/turtle")
        run = run_job(source)
        assert run.errors == [] and run.stats["added"] == 1 and run.stats["not modified"] == 5, run.stats

    def test_a_batched_import_writes_what_the_import_one_by_one_writes(self, site, org):
        """The same catalog into two sources, one imported one by one
        (``import_batch_size`` 1), one in batches of 4 (two batches for six): the
        same datasets with the same fields, states, resources, activities and audit
        rows; then a changed catalog (an update, a vanished dataset archived) the same
        way in both."""
        url = serve_pages(site, [SLUGS[:3], SLUGS[3:]])
        config = {"udp_workflow_state": "published", "max_archive_per_run": 5}
        one = make_source(url, "udp_dcat", org, dict(config, import_batch_size=1))
        many = make_source(url, "udp_dcat", org, dict(config, import_batch_size=4))
        for source in (one, many):
            run = run_job(source)
            assert run.errors == [] and run.stats["added"] == 6, run.stats
        _same(_written(one), _written(many))
        batched = _rows(
            "SELECT count(*) FROM harvest_object_extra e JOIN harvest_object o ON o.id = e.harvest_object_id "
            "WHERE o.harvest_source_id = :s AND e.key = :k",
            s=many["id"],
            k=BATCH_KEY,
        )
        assert batched[0][0] == 4  # six objects in batches of four: 3 + 1 carried by the first of each batch
        # the source changes: "b" gets a new title, "f" is gone (archived through the workflow)
        changed = [s for s in SLUGS if s != "f"]
        for n, slugs in enumerate([changed[:3], changed[3:]], 1):
            nxt = site.url(f"/p{n + 1}") if n == 1 else None
            body = ttl_catalog(slugs, nxt, site.url(f"/p{n}")).replace("Datensatz b", "Datensatz B neu")
            site.put(f"/p{n}", body, "text/turtle")
        for source in (one, many):
            run = run_job(source)
            assert run.errors == [], run.errors
            assert (run.stats["updated"], run.stats["not modified"]) == (1, 4), run.stats
        _same(_written(one), _written(many))
        assert {d["title"]: d["udp_workflow_state"] for d in harvested(many)}["Datensatz f"] == "archived"


# what a dataset is, apart from what differs between any two datasets (ids, names, times)
_VOLATILE = {"id", "name", "metadata_created", "metadata_modified", "package_id", "created", "last_modified", "url"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE and not k.startswith("harvest")}
    if isinstance(value, list):  # extras naming the harvest object and source differ, too
        return [_strip(v) for v in value if not (isinstance(v, dict) and str(v.get("key", "")).startswith("harvest"))]
    return value


def _written(source: dict) -> list[tuple[Any, ...]]:
    """Each dataset of the source as written: its dict (without ids, names and
    times), its activity types, its audit rows (action, state, comment) and its
    harvest objects' results, by title."""
    out = []
    for dataset in harvested(source):
        activities = _rows(
            "SELECT activity_type FROM activity WHERE object_id = :p ORDER BY timestamp", p=dataset["id"]
        )
        trail = tk.get_action("udp_audit_list")(sysadmin_context(), {"id": dataset["id"]})
        objects = _rows(
            "SELECT state, report_status, current FROM harvest_object WHERE package_id = :p ORDER BY gathered",
            p=dataset["id"],
        )
        audit = [(e["action"], e["from_state"], e["to_state"], e["comment"], e["actor_name"]) for e in trail]
        out.append((_strip(dataset), [a[0] for a in activities], audit, [tuple(o) for o in objects]))
    return sorted(out, key=lambda d: d[0]["title"])


def _same(one: list[tuple[Any, ...]], many: list[tuple[Any, ...]]) -> None:
    """Equal, and where not: the differing keys (pytest's diff of these dicts is unreadable)."""
    assert len(one) == len(many)
    for a, b in zip(one, many, strict=True):
        keys = sorted(k for k in set(a[0]) | set(b[0]) if a[0].get(k) != b[0].get(k))
        assert keys == [], {k: (a[0].get(k), b[0].get(k)) for k in keys}
        assert a[1:] == b[1:]


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_the_batch_size_is_checked_and_needs_no_portal_switch(org):
    """udp_dcat imports in batches of 50 unless its source says otherwise (1: one
    by one); sizes outside 1..500 are refused when the source is saved."""
    for bad in (0, 501, "4", True):
        with pytest.raises(tk.ValidationError):
            make_source("http://127.0.0.1:9/katalog.ttl", "udp_dcat", org, {"import_batch_size": bad})
    for good in (1, 4, 500):
        assert make_source("http://127.0.0.1:9/katalog.ttl", "udp_dcat", org, {"import_batch_size": good})["id"]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestBatchGuards:
    def test_nothing_of_a_draft_batch_is_public_and_solr_holds_every_dataset(self, app, site, org):
        """Ten datasets in two pages, imported in batches of four by a source that
        does not publish: after the run Solr holds every one of them (the
        editor's search finds exactly the source's datasets), and the anonymous
        public sees none (search, package_show, the catalog)."""
        slugs = [f"x{n}" for n in range(10)]
        source = make_source(serve_pages(site, [slugs[:5], slugs[5:]]), "udp_dcat", org, {"import_batch_size": 4})
        run = run_job(source)
        assert run.errors == [] and run.stats["added"] == 10, run.stats
        datasets = harvested(source)
        assert {d["udp_workflow_state"] for d in datasets} == {"draft"}
        found = tk.get_action("package_search")(
            sysadmin_context(), {"q": "title:Datensatz", "include_private": True, "include_drafts": True, "rows": 50}
        )
        assert sorted(d["id"] for d in found["results"]) == sorted(d["id"] for d in datasets)
        anonymous = app.get("/api/3/action/package_search", query_string={"q": "title:Datensatz", "rows": 50})
        assert anonymous.json["result"]["count"] == 0
        for dataset in datasets:
            shown = app.get("/api/3/action/package_show", query_string={"id": dataset["id"]}, status=None)
            assert shown.status_code in (403, 404)
        catalog = app.get("/catalog.ttl", status=None).get_data(as_text=True)
        assert not any(d["name"] in catalog or d["id"] in catalog for d in datasets)

    @pytest.mark.parametrize("swallowed", [False, True])
    def test_a_commit_inside_a_batch_writes_nothing_twice(self, site, org, monkeypatch, swallowed):
        """A hook that commits while the third record of a batch is written (as the
        views hook did once), and a later record of the same batch whose failure
        rolls back the whole transaction (so the batch must be imported one by one):
        the batch keeps nothing of itself, its records are imported one by one and
        each dataset is written exactly once (one activity, one current harvest
        object), also when the hook swallows the refusal of its commit; the failed
        record is an error and leaves nothing. Without the refusal the first three
        would be committed mid-batch and written a second time by the fallback."""
        from ckanext.udp.harvesters.dcat import DcatApDeHarvester

        def hook(self, harvest_object, package_id, payload, config):
            if harvest_object.guid.endswith("/c"):
                try:
                    model.Session.commit()
                except Exception:
                    if not swallowed:
                        raise
            elif harvest_object.guid.endswith("/e"):
                model.Session.rollback()  # in a batch: its own savepoint ...
                model.Session.rollback()  # ... and then everything (alone: nothing left to roll back)
                raise RuntimeError("e is broken")

        monkeypatch.setattr(DcatApDeHarvester, "after_write", hook)
        source = make_source(serve_pages(site, [SLUGS]), "udp_dcat", org, {"import_batch_size": 6})
        run = run_job(source)
        assert [g.rsplit("/", 1)[1] for g, _ in run.object_errors] == ["e"], run.object_errors
        assert run.stats["added"] == 5 and run.stats["errored"] == 1, run.stats
        good = [s for s in SLUGS if s != "e"]
        assert [d["title"] for d in harvested(source)] == [f"Datensatz {s}" for s in good]
        titles = _rows("SELECT title FROM package WHERE owner_org = :o AND type = 'dataset'", o=org["id"])
        assert sorted(t[0] for t in titles) == [f"Datensatz {s}" for s in good]
        # written once each: one activity ("new"), no update after it; one hash and one object per dataset
        activities = _rows(
            "SELECT p.title, a.activity_type FROM activity a JOIN package p ON p.id = a.object_id "
            "WHERE p.owner_org = :o AND p.type = 'dataset' ORDER BY p.title",
            o=org["id"],
        )
        assert activities == [(f"Datensatz {s}", "new package") for s in good]
        hashes = _rows(
            "SELECT o.guid FROM harvest_object_extra e JOIN harvest_object o ON o.id = e.harvest_object_id "
            "WHERE o.harvest_source_id = :s AND e.key = 'udp_hash' ORDER BY o.guid",
            s=source["id"],
        )
        assert [h[0].rsplit("/", 1)[1] for h in hashes] == good


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_a_batch_names_its_datasets_from_one_lookup_and_never_twice(site, org):
    """A batch looks up the portal's names once (not once per new dataset, each a
    scan of the package table) and gives out names from that lookup plus its own:
    three records of one batch with the title of a dataset another source already
    harvested get the next free names, each its own, all imported; without the
    batch's own names the second and third would collide with the first, without
    the lookup the first with the existing dataset."""
    site.put(
        "/alt",
        ttl_catalog(["alt"], page_url=site.url("/alt")).replace("Datensatz alt", "Gleicher Titel"),
        "text/turtle",
    )
    first = make_source(site.url("/alt"), "udp_dcat", org, {"import_batch_size": 1})
    assert run_job(first).stats["added"] == 1
    assert [d["name"] for d in harvested(first)] == ["gleicher-titel"]
    body = ttl_catalog(["a", "b", "c"], page_url=site.url("/p1"))
    for slug in "abc":
        body = body.replace(f"Datensatz {slug}", "Gleicher Titel")
    site.put("/p1", body, "text/turtle")
    source = make_source(site.url("/p1"), "udp_dcat", org, {"import_batch_size": 6})
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "package.name ILIKE" in statement:
            lookups.append(statement)

    sa.event.listen(model.meta.engine, "before_cursor_execute", count)
    try:
        run = run_job(source)
    finally:
        sa.event.remove(model.meta.engine, "before_cursor_execute", count)
    assert run.errors == [] and run.stats["added"] == 3, (run.stats, run.errors)
    assert sorted(d["name"] for d in harvested(source)) == ["gleicher-titel1", "gleicher-titel2", "gleicher-titel3"]
    assert len(lookups) == 1, lookups  # one batch, one lookup


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_updates_in_one_batch_leave_one_current_object_per_record(site, org):
    """Two changed records updated in one batch: each keeps its dataset (found by
    the batch's one lookup of the current objects), and the objects they replace
    stop being current before the batch commits (one statement for the batch), so
    each record has exactly one current harvest object and the next run finds
    nothing changed."""
    url = serve_pages(site, [["a", "b", "c"]])
    source = make_source(url, "udp_dcat", org, {"import_batch_size": 6})
    assert run_job(source).stats["added"] == 3
    ids = {d["title"]: d["id"] for d in harvested(source)}
    body = ttl_catalog(["a", "b", "c"], page_url=site.url("/p1"))
    site.put("/p1", body.replace("Beschreibung von a", "Neu a").replace("Beschreibung von b", "Neu b"), "text/turtle")
    run = run_job(source)
    assert run.errors == [] and (run.stats["updated"], run.stats["not modified"]) == (2, 1), run.stats
    assert {d["title"]: d["id"] for d in harvested(source)} == ids
    assert {d["title"]: d["notes"] for d in harvested(source)}["Datensatz b"] == "Neu b"
    current = _rows(
        "SELECT guid, count(*) FROM harvest_object WHERE harvest_source_id = :s AND current "
        "GROUP BY guid ORDER BY guid",
        s=source["id"],
    )
    assert [(g.rsplit("/", 1)[1], n) for g, n in current] == [("a", 1), ("b", 1), ("c", 1)]
    again = run_job(source)
    assert again.errors == [] and again.stats["not modified"] == 3, again.stats
