"""The harvest dashboard writes its run dates the German way, in the portal's
time zone: "31. Dezember 2025, 00:30", not CKAN's fixed English order
("Dezember 31, 2026, 00:30 (MEZ)", with the week-based year)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from ckan import model
from ckan.tests import factories
from ckanext.harvest.model import HarvestJob
from harvestlib import make_source, run_job

ENGLISH_MONTHS = ("January", "February", "March", "May", "June", "July", "October", "December")
# month name before the day, CKAN's "MMMM d, YYYY" in any language
MONTH_FIRST = re.compile(r"\b[A-ZÄÖÜ][a-zäöü]+ \d{1,2}, \d{4}")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_run_dates_are_german(app, site):
    site.put(
        "/katalog.ttl",
        "@prefix dcat: <http://www.w3.org/ns/dcat#> . <http://example.invalid/c> a dcat:Catalog .",
        "text/turtle",
    )
    editor = factories.User()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    source = make_source(site.url("/katalog.ttl"), "udp_dcat", org)
    run = run_job(source)
    job = model.Session.get(HarvestJob, run.job_id)
    # 23:30 UTC on 30 December 2025 is 00:30 on New Year's Eve in Karlsruhe,
    # in ISO week 1 of 2026
    job.created = dt.datetime(2025, 12, 30, 23, 30)
    model.Session.commit()

    token = factories.APIToken(user=editor["name"])["token"]
    for url in ("/dashboard/harvest", f"/dashboard/harvest/{source['id']}"):
        body = app.get(url, headers={"Authorization": token}).body
        text = re.sub(r"<[^>]+>", " ", body)
        assert "31. Dezember 2025, 00:30" in text, url
        assert not MONTH_FIRST.search(text), (url, MONTH_FIRST.search(text))
        assert not any(month in text for month in ENGLISH_MONTHS), url
