"""The steward form (scheming) stores a DCAT-AP.de dataset and shows German errors."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

EU = "http://publications.europa.eu/resource/authority/"


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestStewardForm:
    def _form(self, org_id: str, **extra: str) -> dict[str, str]:
        data = {
            "save": "",
            "_ckan_phase": "dataset_new_1",
            "name": "spielplaetze-formular",
            "title": "Spielplätze",
            "notes": "Alle Spielplätze",
            "owner_org": org_id,
            "theme": EU + "data-theme/SOCI",
            "license_id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
            "license_attribution_by_text": "Stadt Karlsruhe, Gartenbauamt",
            "contact-0-name": "Gartenbauamt",
            "contact-0-email": "gba@demo.udp-karlsruhe.invalid",
            "temporal_coverage-0-start": "2024-01-01",
            "temporal_coverage-0-end": "2024-12-31",
            "frequency": EU + "frequency/ANNUAL",
        }
        data.update(extra)
        return data

    def test_form_creates_the_dataset(self, app):
        user = factories.SysadminWithToken()
        org = factories.Organization()
        app.post("/dataset/new", data=self._form(org["id"]), headers={"Authorization": user["token"]})
        pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": "spielplaetze-formular"})
        assert pkg["theme"] == [EU + "data-theme/SOCI"]
        assert pkg["contact"] == [{"name": "Gartenbauamt", "email": "gba@demo.udp-karlsruhe.invalid"}]
        assert pkg["temporal_coverage"][0]["end"] == "2024-12-31"
        assert pkg["political_geocoding_uri"]  # default from config
        assert pkg["publisher"][0]["name"] == org["title"]

    def test_form_shows_german_errors_and_stores_nothing(self, app):
        user = factories.SysadminWithToken()
        org = factories.Organization()
        body = app.post(
            "/dataset/new",
            data=self._form(org["id"], license_attribution_by_text="", **{"temporal_coverage-0-end": "2023-01-01"}),
            headers={"Authorization": user["token"]},
        ).body
        assert "verlangt einen Namensnennungstext (K35)" in body
        assert "Das Ende des Zeitraums darf nicht vor seinem Beginn liegen." in body
        with pytest.raises(tk.ObjectNotFound):
            tk.get_action("package_show")({}, {"id": "spielplaetze-formular"})
