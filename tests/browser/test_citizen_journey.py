"""Issue 13: the citizen journey at desktop width and at 375 px, on the demo
portal: search "Bäume", narrow to the district Durlach, open the tree
register, see its table preview, download its CSV (named after the dataset,
parses as CSV). axe (WCAG 2.1 AA) on every page of the way and on the dataset
page of every kind of demo dataset; no page wider than the screen. One demo
world for the module (the other previews are in test_previews.py)."""

from __future__ import annotations

import csv
import io

import ckan.lib.search as search
import ckan.plugins as plugins
import pytest
from browserlib import assert_fits, axe_check

from ckanext.udp.portal import demo

# the dataset page of each kind of demo dataset: a DataStore table (dump),
# uploads (CSV and GeoJSON), a GeoJSON, a JSON document, a sensor dataset
KINDS = [
    "bevoelkerung-nach-stadtteilen",
    "baumkataster",
    "bebauungsplaene",
    "parkhaeuser-belegung",
    "bodenfeuchte-friedrichsplatz",
]


@pytest.fixture(autouse=True)
def _clean_portal(with_plugins: None) -> None:
    """Overrides the harness's per-test cleaning: the demo world is built once."""


@pytest.fixture(scope="module")
def demo_world(reset_db):
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


def test_search_district_dataset_download(demo_world, viewport, new_page, steps):
    mobile = viewport == "mobile"
    page = new_page(mobile=mobile)
    page.goto("/dataset/")
    box = page.locator("#ergebnisse input[name=q]").first
    box.fill("Bäume")
    box.press("Enter")
    page.wait_for_url("**/dataset/?q=*")
    steps.shot(page, "Suche Bäume")
    axe_check(page, "search for Bäume")
    assert_fits(page)

    if mobile:
        # at 375 px the facets fold behind the button "Ergebnisse filtern"
        page.get_by_role("button", name="Ergebnisse filtern").click()
    facet = page.locator("details.udp-facet", has=page.locator("summary", has_text="Stadtteile"))
    facet.locator("summary").click()
    facet.get_by_role("link", name="Durlach").click()
    page.wait_for_url("**vocab_stadtteile=Durlach*")
    steps.shot(page, "Stadtteil Durlach")
    axe_check(page, "search with a district facet")
    assert_fits(page)

    page.locator("#ergebnisse").get_by_role("link", name="Baumkataster").first.click()
    page.wait_for_url("**/dataset/baumkataster")
    steps.shot(page, "Datensatz Baumkataster")
    heading = page.locator("[role=main] h1").first
    assert "Baumkataster" in heading.inner_text()
    # content before the sidebar, in the DOM and on the screen
    assert page.evaluate(
        "() => document.querySelector('[role=main] h1').compareDocumentPosition(document.querySelector('.udp-aside')) & 4"
    )
    axe_check(page, "the dataset page")
    assert_fits(page)

    # the table preview of the CSV: its resource page shows the rows in the table view
    page.locator(".udp-download-name a", has_text="Baumkataster (CSV)").click()
    page.wait_for_url("**/dataset/baumkataster/resource/*")
    frame = page.frame_locator('iframe[data-module="data-viewer"]')
    frame.locator("table thead th", has_text="stadtteil").first.wait_for()
    rows = frame.locator("table tbody tr")
    rows.filter(has_text="KA-00001").first.wait_for()
    assert rows.count() >= 10
    steps.shot(page, "Tabellenvorschau Baumkataster")
    # on the screen, at every width: the title, then the preview, then the information
    # table, then the dataset's other resources (CKAN turns the columns round on phones)
    tops = page.evaluate(
        """() => ['.module-resource h1', '.module-resource iframe', '.wrapper > .primary', '.wrapper > aside.secondary']
            .map(s => document.querySelector(s).getBoundingClientRect().top)"""
    )
    assert tops == sorted(tops), tops
    # no share links to third-party sites
    assert not page.locator("a[href*='facebook.com'], a[href*='twitter.com'], a[href*='x.com/']").count()
    axe_check(page, "the table preview of the tree register")
    assert_fits(page)
    page.go_back()
    page.wait_for_url("**/dataset/baumkataster")

    button = page.get_by_role("link", name="CSV herunterladen")
    assert button.is_visible()
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "baumkataster.csv"
    with open(download.path(), encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert len(rows) > 10 and {"baum_id", "art", "stadtteil"} <= set(rows[0])
    assert "Durlach" in {r["stadtteil"] for r in rows}


def test_dataset_pages_of_every_demo_kind(demo_world, viewport, new_page, steps):
    page = new_page(mobile=viewport == "mobile")
    for name in KINDS:
        page.goto(f"/dataset/{name}")
        steps.shot(page, name)
        buttons = page.locator(".udp-download-button")
        assert buttons.count() >= 1 and all(buttons.nth(i).is_visible() for i in range(buttons.count())), name
        # the technical metadata are collapsed and open by keyboard
        summary = page.locator("details.udp-technical > summary")
        assert not page.locator("details.udp-technical table").is_visible()
        summary.focus()
        page.keyboard.press("Enter")
        assert page.locator("details.udp-technical table").is_visible()
        axe_check(page, name)
        assert_fits(page)
