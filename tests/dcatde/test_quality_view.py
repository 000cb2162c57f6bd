"""The stewards' quality view: /dataset/{id}/qualitaet."""
from __future__ import annotations

import pytest

from ckan.tests import factories


@pytest.fixture
def shapes(ckan_config, monkeypatch, shared_dir):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(shared_dir / "dcat-ap-de"))


@pytest.fixture
def world():
    editor = factories.User()
    outsider = factories.User()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    pkg = factories.Dataset(owner_org=org["id"], title="Luftqualität", notes="Messwerte")
    return {"editor": editor, "outsider": outsider, "pkg": pkg}


def _get(app, url, user=None, status=200):
    headers = {}
    if user is not None:
        headers["Authorization"] = factories.APIToken(user=user["name"])["token"]
    return app.get(url, headers=headers, status=status)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "shapes")
class TestQualityView:
    def test_editor_sees_the_report_in_german(self, app, world):
        body = _get(app, f"/dataset/{world['pkg']['name']}/qualitaet", world["editor"]).body
        assert "DCAT-AP.de-Qualitätsprüfung" in body
        assert "Konform: keine Verstöße." in body
        # the real warning of the official shapes for a 2.0 property we still write
        assert "politicalGeocodingURI" in body
        assert "Warnung" in body

    def test_editor_finds_the_tab_on_the_dataset_page(self, app, world):
        body = _get(app, f"/dataset/{world['pkg']['name']}", world["editor"]).body
        assert f"/dataset/{world['pkg']['name']}/qualitaet" in body

    @pytest.mark.parametrize("who", [None, "outsider"])
    def test_others_are_refused(self, app, world, who):
        user = world[who] if who else None
        body = _get(app, f"/dataset/{world['pkg']['name']}/qualitaet", user, status=403).body
        assert "Luftqualität" not in body

    def test_unknown_dataset(self, app, world):
        _get(app, "/dataset/gibt-es-nicht/qualitaet", world["editor"], status=404)
