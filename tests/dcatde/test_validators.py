"""Server-side validation of the DCAT-AP.de schema: the Action API and the
forms reject wrong values with a clear (German) error and store nothing."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

EU = "http://publications.europa.eu/resource/authority/"
DL_BY = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"


@pytest.fixture
def org():
    return factories.Organization(name="tiefbauamt", title="Tiefbauamt")


@pytest.fixture
def sysadmin():
    return factories.Sysadmin()


def _create(user: dict[str, Any], **data: Any) -> dict[str, Any]:
    return tk.get_action("package_create")({"user": user["name"]}, data)


def _errors(user: dict[str, Any], **data: Any) -> dict[str, Any]:
    with pytest.raises(tk.ValidationError) as raised:
        _create(user, **data)
    return raised.value.error_dict


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRejectedByTheActionApi:
    @pytest.mark.parametrize(
        "data, key",
        [
            ({"license_id": "http://example.org/my-licence"}, "license_id"),
            ({"license_id": DL_BY}, "license_attribution_by_text"),  # K35
            ({"theme": ["http://example.org/theme/X"]}, "theme"),
            ({"language": ["klingon"]}, "language"),
            ({"frequency": "sometimes"}, "frequency"),
            ({"access_rights": "streng geheim"}, "access_rights"),
            (
                {"contributor_id": ["http://dcat-ap.de/def/contributors/a", "http://dcat-ap.de/def/contributors/b"]},
                "contributor_id",
            ),  # K12/K13
            ({"contributor_id": "http://example.org/me"}, "contributor_id"),
            ({"political_geocoding_uri": ["http://example.org/karlsruhe"]}, "political_geocoding_uri"),
            ({"political_geocoding_level_uri": "http://example.org/level"}, "political_geocoding_level_uri"),
            ({"identifier": "two\nlines"}, "identifier"),  # K25
            ({"url": "ftp://example.org/x"}, "url"),
            ({"documentation": ["not a url"]}, "documentation"),
            ({"hvd_category": ["http://data.europa.eu/bna/nope"]}, "hvd_category"),
        ],
    )
    def test_dataset_field(self, org, sysadmin, data, key):
        errors = _errors(sysadmin, name="kaputt", title="Kaputt", notes="x", owner_org=org["id"], **data)
        assert key in errors, errors
        assert not tk.get_action("package_search")({}, {"q": "name:kaputt"})["count"]
        with pytest.raises(tk.ObjectNotFound):
            tk.get_action("package_show")({}, {"id": "kaputt"})

    @pytest.mark.parametrize(
        "contact, subkey",
        [
            ({"name": "Nur ein Name"}, "name"),  # K01
            ({"name": "A", "email": "kein-at-zeichen"}, "email"),
            ({"name": "A", "url": "www.ohne-schema.de"}, "url"),
        ],
    )
    def test_contact_point(self, org, sysadmin, contact, subkey):
        errors = _errors(sysadmin, name="kaputt", title="K", notes="x", owner_org=org["id"], contact=[contact])
        assert subkey in errors["contact"][0], errors

    def test_temporal_end_before_start(self, org, sysadmin):
        errors = _errors(
            sysadmin,
            name="kaputt",
            title="K",
            notes="x",
            owner_org=org["id"],
            temporal_coverage=[{"start": "2025-01-01", "end": "2024-12-31"}],
        )
        assert "end" in errors["temporal_coverage"][0]

    @pytest.mark.parametrize(
        "resource, key",
        [
            ({"size": -1}, "size"),
            ({"size": "zwölf"}, "size"),
            ({"size": 1.5}, "size"),
            ({"format": "http://example.org/format/X"}, "format"),
            ({"mimetype": "kein medientyp"}, "mimetype"),
            ({"license": "http://example.org/lizenz"}, "license"),
            ({"license": DL_BY}, "license_attribution_by_text"),  # K35 on a distribution
            ({"availability": "forever"}, "availability"),
            ({"status": "fertig"}, "status"),
            ({"download_url": "not-a-url"}, "download_url"),
            ({"hash_algorithm": "crc32"}, "hash_algorithm"),
        ],
    )
    def test_resource_field(self, org, sysadmin, resource, key):
        errors = _errors(
            sysadmin,
            name="kaputt",
            title="K",
            notes="x",
            owner_org=org["id"],
            resources=[dict({"url": "https://x.invalid/a.csv"}, **resource)],
        )
        assert key in errors["resources"][0], errors

    def test_update_with_a_wrong_value_changes_nothing(self, org, sysadmin):
        pkg = _create(
            sysadmin,
            name="gut",
            title="Gut",
            notes="x",
            owner_org=org["id"],
            resources=[{"url": "https://x.invalid/a.csv", "size": 10}],
        )
        broken = dict(pkg, title="Geändert", license_id=DL_BY)
        broken["resources"] = [dict(pkg["resources"][0], size=-5)]
        with pytest.raises(tk.ValidationError):
            tk.get_action("package_update")({"user": sysadmin["name"]}, broken)
        again = tk.get_action("package_show")({"ignore_auth": True}, {"id": "gut"})
        assert again["title"] == "Gut"
        assert again["license_id"] == pkg["license_id"]
        assert again["resources"][0]["size"] == 10


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestAcceptedAndNormalised:
    def test_short_and_legacy_spellings_become_canonical_uris(self, org, sysadmin):
        pkg = _create(
            sysadmin,
            name="gut",
            title="Gut",
            notes="x",
            owner_org=org["id"],
            license_id="dl-by-de/2.0",
            license_attribution_by_text="Stadt Karlsruhe",
            language=["de"],
            theme=["ENVI"],
            frequency="IRREGULAR",
            contributor_id="https://www.dcat-ap.de/def/contributors/stadtKarlsruhe",
            contact=[{"name": "Amt", "email": "mailto:amt@karlsruhe.invalid"}],
            temporal_coverage=[{"start": "2024-01-01"}],  # K38: start alone is fine
            resources=[{"url": "https://x.invalid/a.csv", "format": "csv", "mimetype": "TEXT/CSV", "size": "1234"}],
        )
        assert pkg["license_id"] == DL_BY
        assert pkg["language"] == [EU + "language/DEU"]
        assert pkg["theme"] == [EU + "data-theme/ENVI"]
        assert pkg["frequency"] == EU + "frequency/IRREG"
        assert pkg["contributor_id"] == "http://dcat-ap.de/def/contributors/stadtKarlsruhe"
        assert pkg["contact"][0]["email"] == "amt@karlsruhe.invalid"
        resource = pkg["resources"][0]
        assert resource["format"] == EU + "file-type/CSV"
        assert resource["mimetype"] == "text/csv"
        assert resource["size"] == 1234

    def test_hvd_dataset_gets_the_hvd_regulation(self, org, sysadmin):
        pkg = _create(
            sysadmin,
            name="hvd",
            title="HVD",
            notes="x",
            owner_org=org["id"],
            hvd_category=["http://data.europa.eu/bna/c_b79e35eb"],
        )
        assert "http://data.europa.eu/eli/reg_impl/2023/138/oj" in pkg["applicable_legislation"]

    def test_explicit_values_win_over_defaults(self, org, sysadmin):
        pkg = _create(
            sysadmin,
            name="eigen",
            title="Eigen",
            notes="x",
            owner_org=org["id"],
            publisher=[{"name": "Landesamt", "type": "http://purl.org/adms/publishertype/RegionalAuthority"}],
            political_geocoding_uri=["http://dcat-ap.de/def/politicalGeocoding/stateKey/08"],
            political_geocoding_level_uri="http://dcat-ap.de/def/politicalGeocoding/Level/state",
        )
        assert pkg["publisher"][0]["name"] == "Landesamt"
        assert pkg["political_geocoding_uri"] == ["http://dcat-ap.de/def/politicalGeocoding/stateKey/08"]
        assert pkg["political_geocoding_level_uri"] == "http://dcat-ap.de/def/politicalGeocoding/Level/state"


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestGermanFirst:
    def test_api_error_is_german(self, app, org):
        user = factories.SysadminWithToken()
        resp = app.post(
            "/api/3/action/package_create",
            json={"name": "k", "title": "K", "notes": "x", "owner_org": org["id"], "license_id": DL_BY},
            headers={"Authorization": user["token"]},
            status=409,
        )
        error = resp.json["error"]["license_attribution_by_text"][0]
        assert error == "Die Lizenz Datenlizenz Deutschland Namensnennung 2.0 verlangt einen Namensnennungstext (K35)."

    def test_form_is_german_with_vocabulary_select_lists(self, app, org):
        user = factories.SysadminWithToken()
        body = app.get("/dataset/new", headers={"Authorization": user["token"]}).body
        # plain labels (technical names only in the help texts); a sysadmin also sees the portal's fields
        for text in (
            "Kategorien",
            "Text für die Namensnennung",
            "Kennung als Datenbereitsteller bei GovData",
            "Verwaltungsebene",
            "Zeitraum der Daten",
            "Wie oft aktualisiert",
            "Kontakt für Fragen",
        ):
            assert text in body, text
        assert 'value="http://publications.europa.eu/resource/authority/data-theme/ENVI"' in body
        assert "Umwelt" in body
        assert "Datenlizenz Deutschland Namensnennung 2.0" in body


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_unsafe_url_characters_are_percent_encoded(org, sysadmin):
    pkg = _create(
        sysadmin,
        name="url",
        title="U",
        notes="x",
        owner_org=org["id"],
        url='https://example.org/a?b=1&c=<2>"',
        documentation=["https://example.org/{x}"],
    )
    assert pkg["url"] == "https://example.org/a?b=1&c=%3C2%3E%22"
    assert pkg["documentation"] == ["https://example.org/%7Bx%7D"]
