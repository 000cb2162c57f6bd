"""udp_semantic in the browser: a visitor sees "Ähnliche Datensätze" on a
dataset page (public datasets only, never the office's hidden draft); a steward
asks the form for "Vorschläge" and accepts a category and a keyword with a
click, and nothing is ticked before that click. axe finds nothing, at 375 px too."""

from __future__ import annotations

from typing import Any

import pytest
from browserlib import assert_fits
from ckan.tests import factories
from playwright.sync_api import expect
from udp_testing import public_dataset

ENABLED = "ckanext.udp.semantic.enabled"
ENVI = "http://publications.europa.eu/resource/authority/data-theme/ENVI"
EDUC = "http://publications.europa.eu/resource/authority/data-theme/EDUC"


def LIVE_SERVER_CONFIG() -> dict[str, str]:  # noqa: N802 (the harness's name)
    return {ENABLED: "true"}


@pytest.mark.ckan_config(ENABLED, "true")  # this process indexes the datasets: with vectors
def test_similar_datasets_and_suggestions(new_page: Any, make_user: Any, axe_check: Any, steps: Any) -> None:
    steward = make_user()
    org = factories.Organization(name="gartenbauamt", users=[{"name": steward["name"], "capacity": "editor"}])
    public_dataset(
        name="spielplaetze",
        title="Spielplätze",
        notes="Öffentliche Spielplätze in Karlsruhe mit Lage und Ausstattung.",
        tags=[{"name": "Kinder"}, {"name": "Freizeit"}],
        theme=[EDUC],
        owner_org=org["id"],
    )
    public_dataset(
        name="kitas",
        title="Kindertageseinrichtungen",
        notes="Kitas und Kindergärten mit Trägern und Plätzen.",
        tags=[{"name": "Kinder"}, {"name": "Bildung"}],
        owner_org=org["id"],
    )
    public_dataset(
        name="baumkataster",
        title="Baumkataster",
        notes="Standorte und Arten der städtischen Bäume.",
        tags=[{"name": "Stadtgrün"}, {"name": "Umwelt"}],
        theme=[ENVI],
        owner_org=org["id"],
    )
    factories.Dataset(  # a draft of the office: nobody outside it sees it
        context={"user": factories.Sysadmin()["name"]},
        name="spielgeraete-pruefung",
        title="Spielgeräte: Prüfprotokolle (intern)",
        notes="Prüfungen der Spielgeräte auf Spielplätzen.",
        owner_org=org["id"],
    )

    page = new_page()
    page.goto("/dataset/spielplaetze")
    similar = page.locator("section.udp-similar")
    expect(similar.get_by_role("heading", name="Ähnliche Datensätze")).to_be_visible()
    expect(similar.locator("a")).to_have_count(2)
    expect(similar.get_by_role("link", name="Kindertageseinrichtungen")).to_be_visible()
    expect(similar).not_to_contain_text("Prüfprotokolle")
    axe_check(page, "a dataset page with similar datasets")
    steps.shot(page, "similar")
    phone = new_page(mobile=True)
    phone.goto("/dataset/spielplaetze")
    expect(phone.locator("section.udp-similar a")).to_have_count(2)
    assert_fits(phone)
    axe_check(phone, "similar datasets at 375 px")
    steps.shot(phone, "similar-375px")

    form = new_page(steward, mobile=True)
    form.goto("/dataset/new")
    form.locator("#field-title").fill("Straßenbäume in Durlach")
    form.locator("#field-notes").fill("Standorte, Arten und Pflanzjahre der Bäume an Straßen.")
    box = form.locator("section.udp-suggest")
    expect(box.get_by_role("heading", name="Vorschläge")).to_be_visible()
    box.get_by_role("button", name="Kategorien und Schlagwörter vorschlagen").click()
    theme = box.locator("button.udp-suggest-item", has_text="Kategorie: Umwelt")
    expect(theme).to_be_visible(timeout=60_000)
    envi = form.locator(f"#field-theme input[value='{ENVI}']")
    tags = form.locator("#field-tag_string")
    # shown, not applied: nothing ticked or typed before the steward's click
    expect(envi).not_to_be_checked()
    expect(tags).to_have_value("")
    assert_fits(form)
    axe_check(form, "the form with suggestions at 375 px")
    steps.shot(form, "suggestions-375px")
    theme.click()
    expect(envi).to_be_checked()
    expect(theme).to_be_disabled()
    keyword = box.locator("button.udp-suggest-item", has_text="Schlagwort:").first
    name = keyword.inner_text().split(":", 1)[1].strip()
    keyword.click()
    expect(tags).to_have_value(name)
    steps.shot(form, "suggestions-accepted")
