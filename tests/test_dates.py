"""Dates and times on our pages: the portal's time zone, the visitor's
language, converted once (``ckanext.udp.dates``)."""

from __future__ import annotations

import datetime as dt

import ckan.plugins.toolkit as tk
import pytest

from ckanext.udp import dates

WINTER = dt.datetime(2026, 11, 30, 13, 5)  # UTC, 14:05 in Karlsruhe
NEW_YEAR = dt.datetime(2025, 12, 30, 23, 30)  # UTC, 00:30 on 31 December


@pytest.mark.usefixtures("with_plugins")
class TestGerman:
    @pytest.fixture(autouse=True)
    def _request(self, app):
        with app.flask_app.test_request_context("/"):
            yield

    def test_long(self):
        assert dates.display_datetime(NEW_YEAR, "long") == "31. Dezember 2025, 00:30"
        assert dates.display_datetime(NEW_YEAR.isoformat(), "long") == "31. Dezember 2025, 00:30"
        aware = NEW_YEAR.replace(tzinfo=dt.timezone.utc)
        assert dates.display_datetime(aware, "long") == "31. Dezember 2025, 00:30"

    def test_short_is_converted_once(self):
        # the audit trail's format: 13:05 UTC is 14:05 in Karlsruhe, not 15:05
        assert dates.display_datetime(WINTER) == "30.11.26, 14:05"
        assert tk.h.udp_governance_datetime(WINTER.isoformat()) == "30.11.26, 14:05"

    def test_no_value_and_no_date(self):
        assert dates.display_datetime(None) == ""
        assert dates.display_datetime("gestern") == "gestern"

    def test_core_pages_get_the_german_order(self):
        # CKAN's render_datetime(with_hours=True) as used by API tokens and
        # the activity stream, chained by the udp plugin
        assert tk.h.render_datetime(NEW_YEAR, with_hours=True) == "31. Dezember 2025, 00:30"
        assert tk.h.render_datetime(None, with_hours=True) == ""
        assert tk.h.render_datetime(NEW_YEAR, date_format="%Y-%m-%d") == "2025-12-31"  # CKAN: local too
