"""The stewards' quality view: /dataset/{id}/qualitaet."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from ckan.tests import factories

from ckanext.udp.dcatde import findings

SCHEMA = pathlib.Path(findings.__file__).parent / "schemas" / "dcatde_dataset.yaml"
# findings about values the portal sets (the config's contributor ID and
# political geocoding, filled in by logic/defaults.py)
PORTAL_SET = ("politicalGeocodingURI", "contributorID")


@pytest.fixture
def shapes(ckan_config, monkeypatch, shared_dir):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(shared_dir / "dcat-ap-de"))


@pytest.fixture
def world():
    editor = factories.User()
    outsider = factories.User()
    sysadmin = factories.Sysadmin()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    pkg = factories.Dataset(owner_org=org["id"], title="Luftqualität", notes="Messwerte")
    # a checksum without its algorithm: a violation the steward fixes in the resource form
    fixable = factories.Dataset(
        owner_org=org["id"],
        title="Lärmkarte",
        notes="Pegel",
        resources=[{"url": "http://example.org/laerm.csv", "name": "Lärm", "hash": "abc123"}],
    )
    return {"editor": editor, "outsider": outsider, "sysadmin": sysadmin, "pkg": pkg, "fixable": fixable}


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
        assert "0 Warnungen" in body

    def test_editor_sees_only_what_the_steward_can_fix(self, app, world):
        body = _get(app, f"/dataset/{world['fixable']['name']}/qualitaet", world["editor"]).body
        assert "Nicht konform: 1 Verstoß." in body
        assert "spdx.org/rdf/terms#algorithm" in body
        # the official shapes' warnings about the contributor ID and the
        # deprecated political geocoding, both set by the portal: not for stewards
        for name in PORTAL_SET:
            assert name not in body
        assert "2 weitere Befunde betreffen Werte, die das Portal setzt" in body
        assert "Vom Portal gesetzte Werte" not in body

    def test_sysadmin_sees_the_portal_set_findings(self, app, world):
        body = _get(app, f"/dataset/{world['fixable']['name']}/qualitaet", world["sysadmin"]).body
        assert "spdx.org/rdf/terms#algorithm" in body
        assert "Vom Portal gesetzte Werte (nur für Administratoren)" in body
        section = body.split("Vom Portal gesetzte Werte", 1)[1]
        for name in PORTAL_SET:
            assert name in section
        assert "spdx.org/rdf/terms#algorithm" not in section
        assert "weitere Befunde betreffen" not in body

    def test_only_portal_findings_leave_nothing_to_fix(self, app, world, monkeypatch):
        # a dataset that fails only on a portal-set value: the editor learns
        # there is nothing to fix, and not which value it is
        from ckanext.udp.dcatde import validation

        real = validation.validate

        def failing_on_portal(graph, **kw):
            report = real(graph, **kw)
            portal = tuple(r for r in report.warnings if "politicalGeocodingURI" in (r.path or ""))
            return validation.Report(violations=portal, warnings=(), infos=())

        monkeypatch.setattr(validation, "validate", failing_on_portal)
        body = _get(app, f"/dataset/{world['pkg']['name']}/qualitaet", world["editor"]).body
        assert "nur wegen Werten, die das Portal setzt" in body
        assert "politicalGeocodingURI" not in body

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


def test_portal_properties_are_the_schemas_portal_section():
    """Every field the form keeps for sysadmins ("portal" section) has its RDF
    property in findings.PORTAL_PROPERTIES, and nothing else does."""
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    portal = {f["field_name"] for f in schema["dataset_fields"] if f.get("form_section") == "portal"}
    assert portal == set(findings.PORTAL_PROPERTIES)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "shapes")
class TestQualityCache:
    """The check is cached per dataset state; an edit shows the new findings."""

    @pytest.fixture
    def count_checks(self, monkeypatch):
        from ckanext.udp.dcatde import validation

        real = validation.validate
        calls: list[int] = []

        def counting(graph, **kw):
            calls.append(1)
            return real(graph, **kw)

        monkeypatch.setattr(validation, "validate", counting)
        return calls

    def test_a_repeated_view_is_served_from_the_cache(self, app, world, count_checks):
        url = f"/dataset/{world['fixable']['name']}/qualitaet"
        first = _get(app, url, world["editor"]).body
        second = _get(app, url, world["editor"]).body
        assert count_checks == [1]
        assert "Nicht konform: 1 Verstoß." in first and "Nicht konform: 1 Verstoß." in second
        # the sysadmin's view (portal findings) comes from the same entry
        assert "Vom Portal gesetzte Werte" in _get(app, url, world["sysadmin"]).body
        assert count_checks == [1]

    def test_an_edit_shows_the_new_finding(self, app, world, count_checks):
        from ckan.plugins import toolkit as tk

        url = f"/dataset/{world['pkg']['name']}/qualitaet"
        assert "Konform: keine Verstöße." in _get(app, url, world["editor"]).body
        # the steward adds a file with a checksum but no algorithm: a new violation
        tk.get_action("resource_create")(
            {"user": world["sysadmin"]["name"]},
            {"package_id": world["pkg"]["id"], "url": "http://example.org/luft.csv", "name": "Luft", "hash": "abc123"},
        )
        body = _get(app, url, world["editor"]).body
        assert "Nicht konform: 1 Verstoß." in body
        assert "spdx.org/rdf/terms#algorithm" in body
        assert count_checks == [1, 1]
        # and back: the finding goes once the dataset is fixed
        pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": world["pkg"]["id"]})
        tk.get_action("resource_patch")(
            {"user": world["sysadmin"]["name"]}, {"id": pkg["resources"][0]["id"], "hash": ""}
        )
        assert "Konform: keine Verstöße." in _get(app, url, world["editor"]).body
        assert count_checks == [1, 1, 1]

    def test_without_redis_the_view_still_answers(self, app, world, count_checks, ckan_config, monkeypatch):
        monkeypatch.setitem(ckan_config, "ckan.redis.url", "redis://127.0.0.1:1/0")
        url = f"/dataset/{world['fixable']['name']}/qualitaet"
        assert "Nicht konform: 1 Verstoß." in _get(app, url, world["editor"]).body
        assert "Nicht konform: 1 Verstoß." in _get(app, url, world["editor"]).body
        assert count_checks == [1, 1]
