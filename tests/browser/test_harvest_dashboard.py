"""A data steward adds a harvest source in the German dashboard, runs it and
reads what the run did: created datasets, and each error with its record and
reason. axe finds nothing, at desktop width and at 375 px.

The run itself is done by the test process with the consumers' own stage
functions (``ckanext.udp.harvest.runner``): the test stack runs no gather or
fetch consumer."""

from __future__ import annotations

import pathlib
import re
import sys

import ckan.plugins.toolkit as tk
from browserlib import assert_fits
from ckan.tests import factories
from ckanext.harvest.model import HarvestJob
from playwright.sync_api import expect

from ckanext.udp.harvest import runner

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from localsources.site import Site  # noqa: E402

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/c> a dcat:Catalog ; dcat:dataset <http://example.invalid/d/1>, [] .
<http://example.invalid/d/1> a dcat:Dataset ; dct:title "Baumkataster der Nachbarstadt" ;
    dct:description "Alle Straßenbäume" .
[] a dcat:Dataset ; dct:title "Ohne Kennung" ; dct:description "x" ."""


def test_a_steward_adds_runs_and_reads_a_source(new_page, make_user, axe_check, steps):
    steward = make_user(fullname="Gerda Gärtner")
    factories.Organization(title="Gartenbauamt", users=[{"name": steward["name"], "capacity": "editor"}])
    with Site() as site:
        site.put("/katalog.ttl", CATALOG, "text/turtle")
        page = new_page(steward)
        page.goto("/dashboard/harvest")
        assert page.locator("[role=main] h1").inner_text() == "Harvesting"
        expect(page.get_by_text("Sie verwalten noch keine Harvest-Quellen.")).to_be_visible()
        axe_check(page, "the empty dashboard")
        steps.shot(page, "dashboard-leer")

        page.get_by_role("link", name="Quelle anlegen").click()
        axe_check(page, "the form")
        # a source pointing inside the city's network is refused, in German
        page.get_by_label("Titel").fill("Bäume der Nachbarstadt")
        page.get_by_label("Adresse der Quelle").fill("http://169.254.169.254/latest/meta-data")
        page.get_by_label("Art der Quelle").select_option(label="DCAT-AP.de (RDF)")
        page.get_by_label("Neue Datensätze starten als").select_option(label="In Prüfung")
        page.get_by_role("button", name="Quelle anlegen").click()
        expect(page.get_by_text("Die Quelle wurde nicht angelegt.")).to_be_visible()
        expect(page.get_by_text(re.compile("Diese Quelle kann nicht geharvestet werden"))).to_be_visible()
        assert page.get_by_label("Adresse der Quelle").get_attribute("aria-invalid") == "true"
        axe_check(page, "the form with an error")
        steps.shot(page, "formular-fehler")

        page.get_by_label("Adresse der Quelle").fill(site.url("/katalog.ttl"))
        page.get_by_role("button", name="Quelle anlegen").click()
        expect(page.get_by_text("Die Quelle wurde angelegt.")).to_be_visible()
        assert page.locator("[role=main] h1").inner_text() == "Bäume der Nachbarstadt"
        facts = page.locator("dl.udp-harvest-facts").inner_text()
        assert "In Prüfung" in facts and "Gartenbauamt" in facts and "Nur von Hand" in facts
        expect(page.get_by_text("Noch nicht gelaufen.")).to_be_visible()

        page.get_by_role("button", name="Jetzt ausführen").click()
        expect(page.get_by_text("Der Lauf wurde eingereiht")).to_be_visible()
        source_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        job = HarvestJob.filter(source_id=source_id).one()  # queued by the button
        runner.run_source(source_id, job_id=job.id)  # what the consumers would do

    page.reload()
    row = page.locator("table tbody tr").first
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[1:] == ["Beendet", "1", "0", "0", "0", "1"]
    errors = page.locator(".udp-harvest-errors")
    assert errors.locator("h3").inner_text().startswith("Fehler des Laufs vom")
    text = errors.inner_text()
    assert "Lesen der Quelle" in text and "Ohne Kennung" in text and "weder eine URI noch" in text
    axe_check(page, "the source with a finished run")
    steps.shot(page, "quelle-mit-lauf")

    page.goto("/dashboard/harvest")
    expect(page.get_by_role("link", name="Bäume der Nachbarstadt")).to_be_visible()
    assert "In Prüfung" in page.locator("dl.udp-harvest-facts").inner_text()
    axe_check(page, "the dashboard with a source")

    phone = new_page(steward, mobile=True)
    for path in ("/dashboard/harvest", f"/dashboard/harvest/{source_id}", "/dashboard/harvest/new"):
        phone.goto(path)
        assert_fits(phone)
        axe_check(phone, f"{path} at 375 px")
    steps.shot(phone, "quelle-375px")


def test_others_do_not_see_a_source(new_page, make_user):
    steward, stranger = make_user(), make_user()
    org = factories.Organization(users=[{"name": steward["name"], "capacity": "editor"}])
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    with Site() as site:
        created = tk.get_action("harvest_source_create")(
            {"user": site_user["name"], "ignore_auth": True},
            {
                "name": "fremde-quelle",
                "title": "Fremde Quelle",
                "url": site.url("/katalog.ttl"),
                "source_type": "udp_dcat",
                "owner_org": org["id"],
                "frequency": "MANUAL",
            },
        )
    page = new_page(stranger)
    answer = page.goto(f"/dashboard/harvest/{created['id']}")
    assert answer.status == 403
    page.goto("/dashboard/harvest")
    expect(page.get_by_text("Sie verwalten noch keine Harvest-Quellen.")).to_be_visible()
    anonymous = new_page()
    assert anonymous.goto("/dashboard/harvest").status == 403
