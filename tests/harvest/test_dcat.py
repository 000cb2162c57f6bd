"""The DCAT-AP.de harvester (type ``udp_dcat``) against real local HTTP servers:
the real Rostock catalog in pages, and small catalogs that misbehave the way
real ones do. Each anchor defect of ckanext-dcat 2.4.4's DCATRDFHarvester has
a test here showing ours does not have it (named in the test's docstring)."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from harvestlib import harvested, make_source, run_job, sysadmin_context
from localsources import catalogs
from localsources.site import Route

from ckanext.udp.harvesters.dcat import DcatApDeHarvester

HARVESTER = DcatApDeHarvester()


def ttl_catalog(slugs: list[str], next_url: str | None = None, page_url: str = "http://x.invalid/p") -> str:
    """A small DCAT-AP.de catalog page in Turtle."""
    datasets = "\n".join(
        f"""
<http://example.invalid/dataset/{s}> a dcat:Dataset ;
    dct:identifier "{s}" ;
    dct:title "Datensatz {s}"@de ;
    dct:description "Beschreibung von {s}"@de ;
    dcat:keyword "Umwelt" ;
    dcatde:contributorID <http://dcat-ap.de/def/contributors/stadtKarlsruhe> ;
    dcat:distribution <http://example.invalid/dataset/{s}/csv> .
<http://example.invalid/dataset/{s}/csv> a dcat:Distribution ;
    dct:title "CSV" ;
    dcat:accessURL <https://example.invalid/{s}.csv> ;
    dct:format <http://publications.europa.eu/resource/authority/file-type/CSV> ;
    dct:license <http://dcat-ap.de/def/licenses/cc-zero> .
<http://example.invalid/catalog> dcat:dataset <http://example.invalid/dataset/{s}> ."""
        for s in slugs
    )
    paging = ""
    if next_url:
        paging = f"""<{page_url}> a hydra:PagedCollection ; hydra:next <{next_url}> ; hydra:nextPage <{next_url}> ."""
    return f"""@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix dcatde: <http://dcat-ap.de/def/dcatde/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<http://example.invalid/catalog> a dcat:Catalog ; dct:title "Testkatalog" .
{datasets}
{paging}
"""


def serve_pages(site, pages: list[list[str]], prefix: str = "/p", **route) -> str:
    """Pages 1..n of Turtle, each linking the next; returns page 1's URL."""
    for n, slugs in enumerate(pages, 1):
        next_url = site.url(f"{prefix}{n + 1}") if n < len(pages) else None
        site.put(f"{prefix}{n}", ttl_catalog(slugs, next_url, site.url(f"{prefix}{n}")), "text/turtle", **route)
    return site.url(f"{prefix}1")


def titles(source: dict) -> list[str]:
    return [d["title"] for d in harvested(source)]


def states(source: dict) -> dict[str, str]:
    return {d["title"]: d["udp_workflow_state"] for d in harvested(source)}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRealCatalog:
    def test_rostock_in_pages_keeps_its_dcatde_properties(self, site, org, shared_dir):
        """Anchor: stock euro_dcat_ap_3 drops all dcatde:* properties; ours keeps them,
        with the namespace variants (https://www.dcat-ap.de/...) normalised. The real
        Rostock catalog, its first 30 datasets in three pages."""
        parts = catalogs.split(catalogs.load(shared_dir, "rostock-catalog-2021.rdf"))[:30]
        for n, body in enumerate(catalogs.pages(parts, 10, lambda n: site.url(f"/rostock/{n}")), 1):
            site.put(f"/rostock/{n}", body, "application/rdf+xml")
        source = make_source(site.url("/rostock/1"), "udp_dcat", org)
        run = run_job(source, HARVESTER)
        assert run.errors == []
        assert run.stats["added"] == 30
        assert [p for p in site.requests if p.startswith("/rostock")] == ["/rostock/1", "/rostock/2", "/rostock/3"]
        datasets = harvested(source)
        assert len(datasets) == 30
        assert all(d["contributor_id"].startswith("http://dcat-ap.de/def/contributors/") for d in datasets)
        assert all(
            d["political_geocoding_level_uri"].startswith("http://dcat-ap.de/def/politicalGeocoding/Level/")
            for d in datasets
        )
        assert all(d["political_geocoding_uri"] for d in datasets)
        assert all(d["dcatde_maintainer"] for d in datasets)
        assert all(d["owner_org"] == org["id"] for d in datasets)
        variants = "www.dcat-ap.de" in repr(datasets)  # (a bool: pytest's diff of a huge text takes minutes)
        assert not variants, "a namespace variant of dcat-ap.de was kept"
        licences = {d.get("license_id") for d in datasets}
        licences |= {r.get("license") for d in datasets for r in d["resources"]}
        assert all(lic.startswith("http://dcat-ap.de/def/licenses/") for lic in licences - {None})
        # a re-harvest with nothing changed writes no dataset
        before = {d["id"]: d["metadata_modified"] for d in datasets}
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["not modified"] == 30 and run.stats["added"] == 0
        assert {d["id"]: d["metadata_modified"] for d in harvested(source)} == before


@pytest.mark.parametrize(
    "name,count",
    [("brandenburg-catalog-2021.rdf", 112), ("bremen-catalog-2021.rdf", 153), ("destatis-catalog-2021.rdf", 135)],
)
def test_the_other_real_catalogs_are_read_page_by_page(site, shared_dir, with_plugins, name, count):
    """The gather stage over the other three real catalogs, in pages of 50: every
    dataset is read once and maps without an error (that the mapped dicts pass the
    schema, tests/dcatde/test_catalogs.py shows)."""
    parts = catalogs.split(catalogs.load(shared_dir, name))
    for n, body in enumerate(catalogs.pages(parts, 50, lambda n: site.url(f"/k/{n}")), 1):
        site.put(f"/k/{n}", body, "application/rdf+xml")
    from ckanext.udp import fetch
    from ckanext.udp.harvest import dcat

    with fetch.Fetcher() as fetcher:
        records = list(dcat.catalog_records(site.url("/k/1"), {}, fetcher))
    assert [r.error for r in records if r.error] == []
    assert len({r.guid for r in records}) == len(records) == count
    assert len([p for p in site.requests if p.startswith("/k/")]) == -(-count // 50)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestGuards:
    def test_a_cycle_of_two_pages_stops_and_archives_nothing(self, site, org):
        """Anchor: stock compares each page only with page 1, so p1 -> p2 -> p3 -> p2
        runs forever (#260). Ours keeps every page it read."""
        url = serve_pages(site, [["a"], ["b"], ["c"]])
        source = make_source(url, "udp_dcat", org, {"udp_workflow_state": "published"})
        assert run_job(source, HARVESTER).stats["added"] == 3
        # the source now loops back from page 3 to page 2, and page 2 lost "b"
        site.put("/p2", ttl_catalog([], site.url("/p3"), site.url("/p2")), "text/turtle")
        site.put("/p3", ttl_catalog(["c"], site.url("/p2"), site.url("/p3")), "text/turtle")
        run = run_job(source, HARVESTER)
        assert len(run.gather_errors) == 1 and "/p2" in run.gather_errors[0], run.gather_errors
        assert site.requests.count("/p2") == 2  # once per run: the cycle was not followed
        assert states(source) == {"Datensatz a": "published", "Datensatz b": "published", "Datensatz c": "published"}

    def test_a_server_ignoring_its_paging_is_stopped(self, site, org):
        """Every page URL is new (?page=n), the content the same: stopped after page 2."""
        site.routes["/cat"] = lambda path: Route(
            ttl_catalog(["a", "b"], site.url(f"/cat?page={len(site.requests) + 1}")).encode(), "text/turtle"
        )
        source = make_source(site.url("/cat"), "udp_dcat", org)
        run = run_job(source, HARVESTER)
        assert len(site.requests) == 2
        assert run.stats["added"] == 2 and "paging" in run.gather_errors[0].lower()

    @pytest.mark.parametrize("failure", ["404", "500", "trickle", "hang", "refused_xml"])
    def test_a_source_failing_mid_run_archives_nothing(self, site, org, failure, ckan_config, monkeypatch):
        """A 404 or 500 mid-run, a page that trickles or never answers (anchor: stock has
        no request timeouts), a hostile page: the run stops with a gather error, the
        pages read before are imported, nothing is archived."""
        monkeypatch.setitem(ckan_config, "ckanext.udp.fetch.deadline", "2")
        monkeypatch.setitem(ckan_config, "ckanext.udp.fetch.read_timeout", "2")
        url = serve_pages(site, [["a"], ["b"], ["c"]])
        source = make_source(url, "udp_dcat", org, {"udp_workflow_state": "published"})
        assert run_job(source, HARVESTER).stats["added"] == 3
        # page 1 changes, page 2 fails; without the failure "b" and "c" would be archived
        site.put("/p1", ttl_catalog(["a", "neu"], site.url("/p2"), site.url("/p1")), "text/turtle")
        body = ttl_catalog([], None)
        if failure == "404":
            site.put("/p2", "weg", "text/plain", status=404)
        elif failure == "500":
            site.put("/p2", "kaputt", "text/plain", status=500)
        elif failure == "trickle":
            site.put("/p2", body, "text/turtle", trickle=0.2)
        elif failure == "hang":
            site.put("/p2", body, "text/turtle", hang=True)
        else:
            site.put(
                "/p2",
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
                "application/rdf+xml",
            )
        import time

        started = time.monotonic()
        run = run_job(source, HARVESTER)
        assert time.monotonic() - started < 30
        assert len(run.gather_errors) == 1, run.gather_errors
        assert "nothing was archived" in run.gather_errors[0] or "nichts archiviert" in run.gather_errors[0]
        assert run.stats.get("archived", 0) == 0 and run.stats["added"] == 1
        assert states(source) == {
            "Datensatz a": "published",
            "Datensatz b": "published",
            "Datensatz c": "published",
            "Datensatz neu": "published",
        }

    def test_an_empty_catalog_deletes_nothing(self, site, org):
        """Anchor: a valid empty catalog makes stock delete every dataset of the source."""
        url = serve_pages(site, [["a", "b"]])
        source = make_source(url, "udp_dcat", org, {"udp_workflow_state": "published"})
        run_job(source, HARVESTER)
        site.put("/p1", ttl_catalog([]), "text/turtle")
        run = run_job(source, HARVESTER)
        assert (
            len(run.gather_errors) == 1
            and "no datasets" in run.gather_errors[0].lower()
            or "keine datensätze" in run.gather_errors[0].lower()
        )
        assert states(source) == {"Datensatz a": "published", "Datensatz b": "published"}

    def test_vanished_datasets_are_archived_within_the_cap_and_restored_when_back(self, site, org):
        url = serve_pages(site, [["a", "b", "c", "d"]])
        source = make_source(url, "udp_dcat", org, {"udp_workflow_state": "published", "max_archive_per_run": 2})
        run_job(source, HARVESTER)
        site.put("/p1", ttl_catalog(["a"]), "text/turtle")
        run = run_job(source, HARVESTER)  # three gone, more than the cap of two: none archived
        assert "3" in run.gather_errors[0] and "max_archive_per_run" in run.gather_errors[0]
        assert set(states(source).values()) == {"published"}
        site.put("/p1", ttl_catalog(["a", "b"]), "text/turtle")
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["archived"] == 2
        assert states(source) == {
            "Datensatz a": "published",
            "Datensatz b": "published",
            "Datensatz c": "archived",
            "Datensatz d": "archived",
        }
        site.put("/p1", ttl_catalog(["a", "b", "c"]), "text/turtle")
        run_job(source, HARVESTER)
        assert states(source)["Datensatz c"] == "published"  # back, restored
        assert states(source)["Datensatz d"] == "archived"
        trail = tk.get_action("udp_audit_list")(sysadmin_context(), {"id": harvested(source)[2]["id"]})
        assert [t["action"] for t in trail][-2:] == ["archive", "restore"]

    def test_other_sources_and_deleted_datasets_are_never_matched(self, site, org):
        """Anchor: on CKAN 2.12 stock's _read_datasets_from_db matches deleted datasets and
        other sources' guids. Here two sources list the same dataset URIs: each keeps its own
        dataset; one a steward deleted is not brought back or updated."""
        url = serve_pages(site, [["a", "b"]])
        first = make_source(url, "udp_dcat", org)
        second = make_source(url, "udp_dcat", factories.Organization(), {"max_pages": 5})
        run_job(first, HARVESTER)
        run_job(second, HARVESTER)
        mine, theirs = harvested(first), harvested(second)
        assert {d["id"] for d in mine}.isdisjoint(d["id"] for d in theirs)
        assert {d["owner_org"] for d in theirs} == {second["owner_org"]}
        tk.get_action("package_delete")(sysadmin_context(), {"id": mine[0]["id"]})
        site.put("/p1", ttl_catalog(["a", "b"]).replace("Beschreibung", "Neue Beschreibung"), "text/turtle")
        run = run_job(first, HARVESTER)
        assert run.errors == []
        gone = tk.get_action("package_show")(sysadmin_context(), {"id": mine[0]["id"]})
        assert gone["state"] == "deleted" and gone["notes"] == mine[0]["notes"]
        assert [d["notes"] for d in harvested(first) if d["state"] == "active"] == ["Neue Beschreibung von b"]
        assert [d["notes"] for d in harvested(second)] == ["Beschreibung von a", "Beschreibung von b"]

    def test_a_record_without_identity_is_an_error_naming_it(self, site, org):
        body = (
            ttl_catalog(["a"])
            + """
[] a dcat:Dataset ; dct:title "Ohne Kennung"@de ; dct:description "x"@de .
<http://example.invalid/catalog> dcat:dataset [] ."""
        )
        site.put("/p1", body, "text/turtle")
        source = make_source(site.url("/p1"), "udp_dcat", org)
        run = run_job(source, HARVESTER)
        assert run.stats["added"] == 1
        assert len(run.object_errors) == 1 and "Ohne Kennung" in run.object_errors[0][1]

    def test_new_datasets_enter_the_configured_state(self, site, org):
        url = serve_pages(site, [["a"]])
        draft = make_source(url, "udp_dcat", org)
        review = make_source(url + "?r", "udp_dcat", org, {"udp_workflow_state": "in_review"})
        internal = make_source(
            url + "?i", "udp_dcat", org, {"udp_workflow_state": "published", "udp_access_class": "internal"}
        )
        for source in (draft, review, internal):
            run_job(source, HARVESTER)
        assert states(draft) == {"Datensatz a": "draft"}
        assert states(review) == {"Datensatz a": "in_review"}
        (shown,) = harvested(internal)
        assert (shown["udp_workflow_state"], shown["udp_access_class"], shown["private"]) == (
            "published",
            "internal",
            True,
        )
        # nothing of it is public
        found = tk.get_action("package_search")({"user": "", "ignore_auth": False}, {"q": "Datensatz"})
        assert found["count"] == 0

    def test_the_source_configuration_is_checked_when_saved(self, site, org):
        with pytest.raises(tk.ValidationError, match="udp_workflow_state"):
            make_source(site.url("/p1"), "udp_dcat", org, {"udp_workflow_state": "archived"})
        with pytest.raises(tk.ValidationError, match="max_pages"):
            make_source(site.url("/p1"), "udp_dcat", org, {"max_pages": 0})
