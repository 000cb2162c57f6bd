"""Nothing harvested is public before it is published: datasets of a harvest
(DCAT-AP.de) that enter as draft, in review, or published but internal are
invisible to the anonymous public on every public channel; the one that
enters published and open is visible on all of them, and so is its DataStore
table (file drop)."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from harvestlib import harvested, make_source, run_job

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/c> a dcat:Catalog ; dcat:dataset <http://example.invalid/d/{slug}> .
<http://example.invalid/d/{slug}> a dcat:Dataset ; dct:title "Geheimnis {slug}" ;
    dct:description "Geharvestet als {slug}" ;
    dcat:distribution <http://example.invalid/d/{slug}/csv> .
<http://example.invalid/d/{slug}/csv> a dcat:Distribution ; dcat:accessURL <https://example.invalid/{slug}.csv> ."""
CONFIGS = {
    "entwurf": {},
    "pruefung": {"udp_workflow_state": "in_review"},
    "intern": {"udp_workflow_state": "published", "udp_access_class": "internal"},
    "offen": {"udp_workflow_state": "published", "udp_access_class": "open"},
}


def public_channels(app, pkg: dict) -> dict[str, bool]:
    """Whether the anonymous public sees the dataset on each channel."""

    def get(url: str, **params) -> tuple[int, str]:
        res = app.get(url, query_string=params, status=None)
        return res.status_code, res.get_data(as_text=True)

    seen = {}
    status, _body = get(f"/dataset/{pkg['name']}")
    seen["dataset page"] = status == 200
    status, body = get("/api/3/action/package_show", id=pkg["id"])
    seen["package_show"] = status == 200
    status, body = get("/api/3/action/package_search", q=f'"{pkg["title"]}"', rows=10)
    seen["package_search"] = pkg["id"] in body
    status, body = get("/api/3/action/package_list")
    seen["package_list"] = pkg["name"] in body
    status, body = get("/dataset/", q=pkg["title"])
    seen["search page"] = pkg["name"] in body
    status, body = get("/catalog.ttl")
    seen["catalog.ttl"] = pkg["name"] in body or pkg["id"] in body
    status, body = get(f"/dataset/{pkg['id']}.ttl")
    seen["dataset.ttl"] = status == 200
    status, body = get("/feeds/dataset.atom")
    seen["feed"] = pkg["name"] in body
    return seen


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_only_published_open_is_public(app, site, org):
    datasets = {}
    for slug, config in CONFIGS.items():
        site.put(f"/{slug}.ttl", CATALOG.replace("{slug}", slug), "text/turtle")
        source = make_source(site.url(f"/{slug}.ttl"), "udp_dcat", org, config)
        assert run_job(source).stats["added"] == 1
        (datasets[slug],) = harvested(source)
    for slug, pkg in datasets.items():
        seen = public_channels(app, pkg)
        if slug == "offen":
            assert all(seen.values()), seen
        else:
            assert not any(seen.values()), (slug, seen)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_a_harvested_table_is_as_private_as_its_dataset(app, site, org, tmp_path, ckan_config, monkeypatch):
    monkeypatch.setitem(ckan_config, "ckanext.udp.filedrop.allowed_dirs", str(tmp_path))
    for slug, config in (("entwurf", {}), ("offen", {"udp_workflow_state": "published"})):
        folder = tmp_path / slug
        folder.mkdir()
        (folder / f"{slug}.csv").write_text("Stadtteil;Wert\nDurlach;1,5\n", encoding="utf-8")
        source = make_source(f"file://{folder}", "udp_filedrop", org, config)
        assert run_job(source).stats["added"] == 1
        (pkg,) = harvested(source)
        rid = pkg["resources"][0]["id"]
        search = app.get("/api/3/action/datastore_search", query_string={"resource_id": rid}, status=None)
        dump = app.get(f"/datastore/dump/{rid}", status=None)
        sql = app.get("/api/3/action/datastore_search_sql", query_string={"sql": f'SELECT * FROM "{rid}"'}, status=None)
        visible = [search.status_code == 200, dump.status_code == 200, sql.status_code == 200]
        assert visible == ([True] * 3 if slug == "offen" else [False] * 3), (slug, visible)
        if slug == "offen":
            assert json.loads(search.get_data(as_text=True))["result"]["records"][0]["Wert"] == 1.5
    assert tk.get_action("package_search")({"user": "", "ignore_auth": False}, {})["count"] == 1
