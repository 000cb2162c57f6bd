"""The dataset and resource forms as a steward fills them (Flask test client,
real databases): empty optional fields never fail, the title is the one error
when it is missing, a web address is derived from a German title, city
districts become a spatial coverage, a dataset cannot be finished without
data, and there is no private/public field."""

from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from ckanext.udp.dcatde import districts


def schema() -> dict[str, Any]:
    return tk.get_action("scheming_dataset_schema_show")({}, {"type": "dataset"})


def empty_form(fields: list[dict[str, Any]]) -> dict[str, str]:
    """Every field of the schema as the form posts it when left empty."""
    data: dict[str, str] = {}
    for field in fields:
        name = field["field_name"]
        if field.get("repeating_subfields"):
            for sub in field["repeating_subfields"]:
                data[f"{name}-0-{sub['field_name']}"] = ""
        else:
            data[name] = ""
    return data


def show(name: str) -> dict[str, Any]:
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": name})


@pytest.fixture
def steward(with_plugins, clean_db, clean_index):
    user = factories.UserWithToken()
    org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
    return user, org


def post(app, url: str, data: dict[str, str], user: dict[str, Any], status: int | None = None):
    return app.post(url, data=data, headers={"Authorization": user["token"]}, status=status, follow_redirects=False)


def test_every_optional_field_left_empty_never_fails(app, steward):
    user, org = steward
    fields = schema()
    data = empty_form(fields["dataset_fields"])
    data.update(
        {
            "title": "Leere Felder",
            "notes": "Nur die Pflichtfelder.",
            "owner_org": org["id"],
            "save": "",
            "_ckan_phase": "dataset_new_1",
        }
    )
    answer = post(app, "/dataset/new", data, user)
    assert answer.status_code == 302, answer.body
    pkg = show("leere-felder")
    assert pkg["state"] == "draft"

    resource = empty_form(fields["resource_fields"])
    resource.update({"url": "https://example.org/daten.csv", "save": "go-metadata", "id": ""})
    answer = post(app, f"/dataset/{pkg['name']}/resource/new", resource, user)
    assert answer.status_code == 302, answer.body
    pkg = show("leere-felder")
    assert pkg["state"] == "active" and len(pkg["resources"]) == 1
    assert pkg["resources"][0].get("size") is None  # the empty "Größe in Bytes" (it was a 500)


def test_missing_title_is_reported_at_the_title_only(app, steward):
    user, org = steward
    data = {
        "title": "",
        "name": "",
        "notes": "Ohne Titel",
        "owner_org": org["id"],
        "save": "",
        "_ckan_phase": "dataset_new_1",
    }
    body = post(app, "/dataset/new", data, user, status=200).body
    summary = re.search(r'id="udp-error-summary".*?</div>', body, re.S).group(0)
    assert 'href="#field-title"' in summary and "Titel" in summary
    assert "field-name" not in summary and "Webadresse" not in summary


def test_web_address_is_derived_from_a_german_title(app, steward):
    user, org = steward
    for _ in range(2):
        data = {
            "title": "Bäume in Grünwinkel",
            "name": "",
            "notes": "Baumkataster",
            "owner_org": org["id"],
            "save": "",
            "_ckan_phase": "dataset_new_1",
        }
        assert post(app, "/dataset/new", data, user).status_code == 302
    assert show("baeume-in-gruenwinkel")["title"] == "Bäume in Grünwinkel"
    assert show("baeume-in-gruenwinkel-2")["title"] == "Bäume in Grünwinkel"


def test_districts_become_a_spatial_coverage_and_a_facet(steward):
    user, org = steward
    context = {"user": user["name"]}
    pkg = tk.get_action("package_create")(
        context,
        {
            "name": "durlach-nordstadt",
            "title": "Durlach und Nordstadt",
            "notes": "Zwei Stadtteile",
            "owner_org": org["id"],
            "stadtteile": ["19", "Nordstadt"],
        },
    )
    assert pkg["stadtteile"] == ["19", "27"]
    derived = [a for a in pkg["spatial_coverage"] if a.get("source") == "stadtteile"]
    assert len(derived) == 1 and "Durlach" in derived[0]["text"] and "Nordstadt" in derived[0]["text"]
    west, south = json.loads(derived[0]["bbox"])["coordinates"][0][0]
    durlach = districts.by_number()["19"]
    assert west < durlach.lon and south < durlach.lat

    # the facet field and the map search see it (real Solr)
    found = tk.get_action("package_search")(
        {"user": user["name"]},
        {"q": "*:*", "include_private": True, "facet.field": ["vocab_stadtteile"], "fq": "vocab_stadtteile:Durlach"},
    )
    assert [r["name"] for r in found["results"]] == ["durlach-nordstadt"]
    assert {i["name"] for i in found["search_facets"]["vocab_stadtteile"]["items"]} == {"Durlach", "Nordstadt"}
    in_box = tk.get_action("package_search")(
        {"user": user["name"]},
        {
            "q": "*:*",
            "include_private": True,
            "extras": {
                "ext_bbox": f"{durlach.lon - 0.01},{durlach.lat - 0.01},{durlach.lon + 0.01},{durlach.lat + 0.01}"
            },
        },
    )
    assert "durlach-nordstadt" in [r["name"] for r in in_box["results"]]

    # another choice replaces the derived area, a drawn one is kept
    drawn = {
        "source": "karte",
        "text": "Gezeichnet",
        "bbox": json.dumps(
            {"type": "Polygon", "coordinates": [[[8.3, 49.0], [8.31, 49.0], [8.31, 49.01], [8.3, 49.01], [8.3, 49.0]]]}
        ),
    }
    pkg = tk.get_action("package_update")(
        context, dict(pkg, stadtteile=["01"], spatial_coverage=pkg["spatial_coverage"] + [drawn])
    )
    sources = [a.get("source") for a in pkg["spatial_coverage"]]
    assert sources == ["stadtteile", "karte"]
    assert "Innenstadt-Ost" in pkg["spatial_coverage"][0]["text"]


def test_unknown_district_is_an_error(steward):
    user, org = steward
    with pytest.raises(tk.ValidationError) as error:
        tk.get_action("package_create")(
            {"user": user["name"]},
            {"name": "atlantis", "title": "Atlantis", "notes": "x", "owner_org": org["id"], "stadtteile": ["Atlantis"]},
        )
    assert "stadtteile" in error.value.error_dict


def test_a_huge_byte_size_is_an_error_not_a_500(steward):
    user, org = steward
    pkg = factories.Dataset(owner_org=org["id"], user=user)
    with pytest.raises(tk.ValidationError) as error:
        tk.get_action("resource_create")(
            {"user": user["name"]}, {"package_id": pkg["id"], "url": "https://example.org/a.csv", "size": 10**20}
        )
    assert "size" in error.value.error_dict


def test_a_dataset_cannot_be_finished_without_data(app, steward):
    user, org = steward
    data = {
        "title": "Ohne Daten",
        "name": "",
        "notes": "Leer",
        "owner_org": org["id"],
        "save": "",
        "_ckan_phase": "dataset_new_1",
    }
    assert post(app, "/dataset/new", data, user).status_code == 302
    for save in ("go-metadata", "go-metadata-publish"):
        body = post(
            app, "/dataset/ohne-daten/resource/new", {"save": save, "id": "", "url": "", "name": ""}, user, status=200
        ).body
        assert "Ohne Daten kann ein Datensatz nicht fertiggestellt werden" in body
    pkg = show("ohne-daten")
    assert pkg["state"] == "draft" and pkg["resources"] == []


def test_the_form_has_no_private_public_field(app, steward):
    user, _org = steward
    body = app.get("/dataset/new", headers={"Authorization": user["token"]}).body
    assert 'name="private"' not in body
    assert 'name="title"' in body and 'name="stadtteile"' in body
    # multiple values are checkboxes, never a Ctrl-click list
    assert "<select multiple" not in body and 'multiple=""' not in body
