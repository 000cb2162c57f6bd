"""Issue 13, items 1, 2, 3, 5 (API and page level): readable labels,
facets and filters as CKAN users write them, the dataset page, demo
downloads from the portal itself and the link check. One demo world per
module (the demo loader, as ``make run`` loads it)."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlsplit

import ckan.lib.search as search
import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp.dcatde import licenses, linkcheck, vocab
from ckanext.udp.portal import demo

EU = "http://publications.europa.eu/resource/authority/"
DL_BY = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"


@pytest.fixture(scope="module")
def world(reset_db):
    # the plugins as the tests' with_plugins loads them, for the loader only
    plugins.load_all()
    try:
        reset_db()
        search.clear_all()
        demo.load()
    finally:
        plugins.unload_all()
    yield
    search.clear_all()


@pytest.fixture(scope="module")
def app(world):
    """One test client for the module (building one costs ~20 s on the CI box)."""
    from ckan.tests.helpers import _get_test_app

    plugins.load_all()
    try:
        return _get_test_app()
    finally:
        plugins.unload_all()


def found(**params) -> list[str]:
    result = tk.get_action("package_search")({}, dict({"rows": 100}, **params))
    return sorted(d["name"] for d in result["results"])


def facets(field: str, **params) -> dict[str, dict]:
    result = tk.get_action("package_search")({}, dict({"rows": 0, "facet.field": json.dumps([field])}, **params))
    return {i["name"]: i for i in result["search_facets"][field]["items"]}


pytestmark = pytest.mark.usefixtures("world", "with_plugins")


# --- 1. readable everywhere ---------------------------------------------------


def test_formats_are_indexed_by_label_and_keep_their_uri():
    csvs = found(fq="res_format:CSV")
    assert "baumkataster" in csvs and "stadtteile-karlsruhe" in csvs
    assert found(fq="res_format:GeoJSON") == ["baumkataster", "baustellen", "bebauungsplaene"]
    labels = set(facets("res_format"))
    assert labels >= {"CSV", "GeoJSON", "JSON"} and not any("/" in f for f in labels)
    # the stored metadata keeps the EU file-type URI
    pkg = tk.get_action("package_show")({}, {"id": "baumkataster"})
    assert {r["format"] for r in pkg["resources"]} == {EU + "file-type/CSV", EU + "file-type/GEOJSON"}


def test_licences_have_german_names_links_and_filter():
    pkg = tk.get_action("package_show")({}, {"id": "baumkataster"})
    assert pkg["license_title"] == "Datenlizenz Deutschland Namensnennung 2.0"
    assert pkg["license_url"] == "https://www.govdata.de/dl-de/by-2-0"
    assert pkg["isopen"] is True
    assert len(found(fq=f'license_id:"{DL_BY}"')) == 12
    item = facets("license_id")[DL_BY]
    assert item["display_name"] == "Datenlizenz Deutschland Namensnennung 2.0"


def test_the_licence_register_lists_every_dcat_ap_de_licence():
    register = json.loads(licenses.path().read_text(encoding="utf-8"))
    assert register == json.loads(licenses.render()), (
        "licenses.json is out of date: python -m ckanext.udp.dcatde.licenses"
    )
    assert len(register) == len(vocab.get("license").concepts) == 34
    assert {e["id"] for e in register} == {c.uri for c in vocab.get("license").concepts}
    assert tk.config.get("licenses_group_url") == "file://" + str(licenses.path())


@pytest.mark.parametrize("value", [EU + "data-theme/TRAN", "TRAN", "Verkehr"])
def test_theme_filter_by_uri_code_or_label(value):
    assert found(fq=f'theme:"{value}"') == ["baustellen", "parkhaeuser-belegung", "strassenverzeichnis"]


def test_theme_filter_in_the_search_page(app):
    page = app.get("/dataset/", query_string={"theme": EU + "data-theme/TRAN"})
    assert page.status_code == 200
    names = set(re.findall(r'href="/dataset/([a-z0-9-]+)"', page.body))
    assert {"baustellen", "strassenverzeichnis"} <= names and "baumkataster" not in names


def test_theme_facet_shows_german_labels_and_icons(app):
    page = app.get("/dataset/").body
    assert "Umwelt" in page and "Verkehr" in page
    assert re.search(r'<img class="udp-theme-icon" src="/udp_dcatde/themes/envi.svg" alt=""', page)
    assert app.get("/udp_dcatde/themes/envi.svg").status_code == 200


# --- 2. facets --------------------------------------------------------------------


def test_search_page_facets_in_order_with_german_titles(app):
    page = app.get("/dataset/").body
    titles = re.findall(r'<span class="udp-facet-title">([^<]+)</span>', page)
    assert titles == ["Themen", "Stadtteile", "Organisationen", "Formate", "Lizenzen", "Aktualisierung"]
    assert 'id="ergebnisse"' in page
    # no groups or tags facet (the portal has no groups)
    assert "name=groups" not in page and "groups=" not in page
    # collapsed unless chosen: facets are <details>, none open here
    assert page.count('<details class="module module-narrow module-shallow udp-facet" >') == 6


def test_the_header_offers_groups_only_when_one_exists(app):
    def menu() -> str:
        page = app.get("/dataset/").body
        nav = page[page.index('class="navbar-nav ms-auto') :]
        return nav[: nav.index("</ul>")]

    # the demo portal has no groups: no "Gruppen" link (an empty page is a dead end)
    assert tk.get_action("group_list")({}, {}) == []
    assert "/group/" not in menu() and "Gruppen" not in menu()
    assert "/organization/" in menu()
    group = factories.Group(title="Klima")
    try:
        assert 'href="/group/"' in menu() and "Gruppen" in menu()
    finally:
        tk.get_action("group_purge")({"ignore_auth": True}, {"id": group["id"]})
    assert "/group/" not in menu()


def test_district_facet_and_search():
    assert "baumkataster" in found(fq='vocab_stadtteile:"Durlach"')
    assert "baumkataster" in found(q="Durlach")
    assert "baumkataster" not in found(fq='vocab_stadtteile:"Waldstadt"')
    districts = facets("vocab_stadtteile")
    assert districts["Durlach"]["count"] >= 5
    # datasets without districts, geocoded to the city: citywide
    assert "stadtteile-karlsruhe" in found(fq='vocab_stadtteile:"citywide"')


def test_the_chosen_facet_opens_and_shows_its_label(app):
    page = app.get("/dataset/", query_string={"vocab_stadtteile": "citywide", "q": ""}).body
    assert "Gesamtes Stadtgebiet" in page
    assert '<details class="module module-narrow module-shallow udp-facet" open>' in page


def test_districts_are_derived_from_the_spatial_coverage():
    # a drawn rectangle around Durlach's centroid (49.0, 8.47), no districts chosen
    ring = [[8.46, 48.99], [8.49, 48.99], [8.49, 49.01], [8.46, 49.01], [8.46, 48.99]]
    public_dataset(
        name="gebiet-durlach",
        owner_org=factories.Organization()["id"],
        spatial_coverage=[{"geom": json.dumps({"type": "Polygon", "coordinates": [ring]})}],
    )
    try:
        assert "gebiet-durlach" in found(fq='vocab_stadtteile:"Durlach"')
        assert "gebiet-durlach" not in found(fq='vocab_stadtteile:"citywide"')
    finally:
        tk.get_action("dataset_purge")({"ignore_auth": True}, {"id": "gebiet-durlach"})


def test_update_frequency_facet():
    items = facets("vocab_frequency")
    assert EU + "frequency/MONTHLY" in items


# --- 3. the dataset page -------------------------------------------------------------


def test_dataset_page_content_first_downloads_licence_contact(app):
    page = app.get("/dataset/baumkataster").body
    assert page.index("<h1") < page.index("udp-aside")
    downloads = page[page.index('id="dataset-resources"') : page.index("udp-facts")]
    assert "Daten und Downloads" in downloads
    buttons = re.findall(r'class="btn btn-primary udp-download-button" href="([^"]+)">([^<]+)<', downloads)
    assert [b[1] for b in buttons] == ["GeoJSON herunterladen", "CSV herunterladen"]
    assert buttons[1][0].endswith("/download/baumkataster.csv")
    assert "Quelle: Stadt Karlsruhe, Gartenbauamt, Datenlizenz Deutschland Namensnennung 2.0" in page
    assert "gartenbauamt@demo.udp-karlsruhe.invalid" in page
    assert "Aktualisierung" in page and "monatlich" in page
    assert 'href=""' not in page and "<td></td>" not in page
    assert "Stadt Karlsruhe" in page and "regionalKey/082120000000</" not in page
    assert '<details class="additional-info udp-technical">' in page


def test_rdf_links_answer(app):
    page = app.get("/dataset/baumkataster").body
    block = page[page.index('class="udp-rdf-links"') :]
    links = re.findall(r'<a href="([^"]+)" type="[^"]+">', block[: block.index("</p>")])
    assert len(links) == 3
    for link in links:
        assert app.get(link).status_code == 200, link


# --- 5. demo data that works ------------------------------------------------------------


def test_every_demo_distribution_downloads_from_the_portal(app):
    site = tk.config["ckan.site_url"]
    result = tk.get_action("package_search")({}, {"rows": 100})
    for pkg in result["results"]:
        for res in pkg["resources"]:
            url = res["url"]
            assert url.startswith(site), (pkg["name"], url)
            answer = app.get(url[len(site) :])
            assert answer.status_code == 200, (pkg["name"], url)
            disposition = answer.headers.get("Content-Disposition", "")
            name = url.rsplit("/", 1)[-1]
            if "/datastore/dump/" in url:
                assert re.search(rf'filename="{pkg["name"]}(-\d+)?\.csv"', disposition), disposition
            else:
                assert res["url_type"] == "upload" and name.startswith(pkg["name"]), (pkg["name"], name)


def test_the_tree_csv_is_named_after_the_dataset_and_parses(app):
    pkg = tk.get_action("package_show")({}, {"id": "baumkataster"})
    res = next(r for r in pkg["resources"] if r["format"].endswith("/CSV"))
    assert res["url"].endswith("/download/baumkataster.csv")
    rows = list(csv.DictReader(io.StringIO(app.get(urlsplit(res["url"]).path).body)))
    assert len(rows) > 10 and "Durlach" in {r["stadtteil"] for r in rows}
    assert res["datastore_active"]


def test_link_check_marks_broken_links_for_editors_only(app, http_server):
    http_server.responder = lambda path: (200, "text/csv", b"a,b\n") if path == "/da.csv" else (404, "text/plain", b"")
    editor = factories.User()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    pkg = public_dataset(
        name="mit-links",
        owner_org=org["id"],
        resources=[
            {"name": "Vorhanden", "url": http_server.url + "/da.csv", "format": "CSV"},
            {"name": "Verschwunden", "url": http_server.url + "/weg.csv", "format": "CSV"},
        ],
    )
    try:
        results = linkcheck.check_dataset(pkg)
        by_name = {r["name"]: results[r["id"]]["status"] for r in pkg["resources"]}
        assert by_name == {"Vorhanden": "ok", "Verschwunden": "broken"}
        anonymous = app.get("/dataset/mit-links").body
        assert "Link defekt" not in anonymous
        # the helper itself answers nothing to whoever may not edit (not only the template's gate)
        with app.flask_app.test_request_context("/dataset/mit-links"):
            assert linkcheck.broken_for_editors(pkg) == {}
        token = factories.APIToken(user=editor["name"])["token"]
        as_editor = app.get("/dataset/mit-links", headers={"Authorization": token}).body
        assert as_editor.count("Link defekt") == 1
        assert "HTTP 404" in as_editor
        # nothing of it in the public API
        shown = tk.get_action("package_show")({}, {"id": "mit-links"})
        assert "broken" not in json.dumps(shown)
    finally:
        tk.get_action("dataset_purge")({"ignore_auth": True}, {"id": "mit-links"})
