"""The CKAN internal of block "i13-finish" in ``ckanext.udp.compat``: the
translations of CKAN's JavaScript, which gunicorn (unlike ``ckan run``) never
wrote, so the table preview's controls stayed English."""

from __future__ import annotations

import json
import os

import pytest

from ckanext.udp import compat


@pytest.mark.usefixtures("with_plugins")
def test_build_js_translations_writes_the_german_strings_of_ckans_scripts(app):
    folder = compat.build_js_translations()
    with open(os.path.join(folder, "de.js"), encoding="utf-8") as f:
        built = json.load(f)
    # the table preview's (datatablesview.js) and its filters' (resource-view-filters.js)
    for english, german in {"Sort": "Sortieren", "Add Filter": "Filter hinzufügen", "Print": "Drucken"}.items():
        assert built[english][1] == german, english
    # what the browser gets
    served = app.get("/api/i18n/de").json
    assert served["Sort"][1] == "Sortieren"
