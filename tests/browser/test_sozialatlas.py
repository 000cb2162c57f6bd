"""A visitor opens the Sozialatlas: the map draws the 27 districts of the
published demo table, the ranking shows the DataStore's values ("gesperrt" for
withheld ones), the form works by keyboard, axe finds nothing, at 375 px too."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from browserlib import assert_fits
from ckan.tests import factories
from playwright.sync_api import expect

from ckanext.udp.sozialatlas import demo


def test_the_atlas_draws_27_districts_and_the_ranking_matches_the_datastore(new_page, axe_check, steps):
    factories.Organization(name=demo.ORG, title="Amt für Stadtentwicklung")
    result = demo.load()
    anonymous: dict[str, Any] = {"user": "", "ignore_auth": False}
    records = tk.get_action("datastore_search")(anonymous, {"resource_id": result["resource_id"], "limit": 1000})[
        "records"
    ]
    column = "g_95_und_älter"
    latest = {r["stadtteil_nr"]: r for r in records if r["jahr"] == max(demo.YEARS) and r["stadtteil_nr"] != "00"}

    page = new_page()
    page.goto("/sozialatlas")
    expect(page.locator("svg a[data-stadtteil] path")).to_have_count(27)
    # keyboard: choose the indicator and submit without a mouse
    page.locator("#sa-merkmal").focus()
    page.keyboard.press("End")
    page.locator("#sa-merkmal").select_option(column)
    page.locator("#sa-anzeigen").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**merkmal=*")
    expect(page.locator("svg a[data-stadtteil] path")).to_have_count(27)
    for number, rec in latest.items():
        cell = page.locator(f"#sa-rangliste tr[data-stadtteil='{number}'] td.num")
        want = "gesperrt" if rec[column] is None else f"{rec[column]:,}".replace(",", ".")
        expect(cell).to_have_text(want)
    assert any(r[column] is None for r in latest.values())
    axe_check(page, "the social atlas")
    steps.shot(page, "sozialatlas")

    phone = new_page(mobile=True)
    phone.goto("/sozialatlas")
    expect(phone.locator("svg a[data-stadtteil] path")).to_have_count(27)
    assert_fits(phone)
    axe_check(phone, "the social atlas at 375 px")
    steps.shot(phone, "sozialatlas-375px")
