"""udp_views: previews are made automatically, for existing resources by the
CLI, and follow the visibility of their dataset."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.cli.cli import ckan as ckan_cli
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp.portal import demo

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def system() -> dict[str, Any]:
    """The context of the system (the site user)."""
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


GEOJSON = "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
WMS = "http://publications.europa.eu/resource/authority/file-type/WMS_SRVC"
CSV = "http://publications.europa.eu/resource/authority/file-type/CSV"


def view_types(resource_id: str, context: dict[str, Any] | None = None) -> list[str]:
    views = tk.get_action("resource_view_list")(context or system(), {"id": resource_id})
    return sorted(v["view_type"] for v in views)


def fill_table(resource_id: str) -> None:
    tk.get_action("datastore_create")(
        system(),
        {
            "resource_id": resource_id,
            "force": True,
            "fields": [{"id": "stadtteil", "type": "text"}, {"id": "einwohner", "type": "int"}],
            "records": [{"stadtteil": "Durlach", "einwohner": 31000}],
        },
    )


def test_a_datastore_table_gets_the_table_view_even_on_a_published_dataset():
    """The demo, the sensor series and API clients fill tables with
    datastore_create (no xloader): the table still gets its preview, also
    when the dataset is published (views change only through the workflow)."""
    dataset = public_dataset(
        owner_org=factories.Organization()["id"], resources=[{"name": "Tabelle", "url": "", "format": CSV}]
    )
    resource_id = dataset["resources"][0]["id"]
    assert view_types(resource_id) == []
    fill_table(resource_id)
    assert view_types(resource_id) == ["datatables_view"]
    fill_table(resource_id)  # a second load adds no second view
    assert view_types(resource_id) == ["datatables_view"]


def test_geojson_and_wms_get_the_map_and_other_formats_do_not():
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[
            {"name": "Punkte", "url": "https://daten.example/punkte.geojson", "format": GEOJSON},
            {"name": "Plan", "url": "https://daten.example/wms?SERVICE=WMS&LAYERS=bplan", "format": WMS},
            {"name": "Liste", "url": "https://daten.example/liste.csv", "format": CSV},
        ],
    )
    found = {r["name"]: view_types(r["id"]) for r in dataset["resources"]}
    assert found == {"Punkte": ["udp_map"], "Plan": ["udp_map"], "Liste": []}
    # a resource added later gets its map too
    added = tk.get_action("resource_create")(
        system(),
        {"package_id": dataset["id"], "name": "Mehr", "url": "https://x.example/a.json", "format": "GeoJSON"},
    )
    assert view_types(added["id"]) == ["udp_map"]


def test_hourly_sensor_values_get_the_chart():
    dataset = public_dataset(owner_org=factories.Organization()["id"])
    hourly = tk.get_action("resource_create")(
        system(),
        {"package_id": dataset["id"], "name": "Stundenwerte", "url": f"/dataset/{dataset['name']}/sensors/hourly.csv"},
    )
    latest = tk.get_action("resource_create")(
        system(),
        {"package_id": dataset["id"], "name": "Aktuell", "url": f"/dataset/{dataset['name']}/sensors/latest.csv"},
    )
    assert view_types(hourly["id"]) == ["udp_chart"]
    assert view_types(latest["id"]) == []


def _drop_all_views() -> None:
    model.Session.query(model.ResourceView).delete()
    model.Session.commit()


def test_the_cli_gives_existing_resources_their_views_once(cli):
    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[
            {"name": "Tabelle", "url": "", "format": CSV},
            {"name": "Punkte", "url": "https://daten.example/punkte.geojson", "format": GEOJSON},
        ],
    )
    hidden = factories.Dataset(private=True, owner_org=factories.Organization()["id"])
    hidden_res = factories.Resource(package_id=hidden["id"], url="https://x.example/p.geojson", format="GeoJSON")
    table, points = (r["id"] for r in dataset["resources"])
    fill_table(table)
    _drop_all_views()  # as on a portal that ran before udp_views was installed
    assert view_types(table) == view_types(points) == view_types(hidden_res["id"]) == []

    result = cli.invoke(ckan_cli, ["udp", "views", "create-missing"])
    assert result.exit_code == 0, result.output
    assert "3 views created" in result.output
    assert view_types(table) == ["datatables_view"]
    assert view_types(points) == ["udp_map"]
    assert view_types(hidden_res["id"]) == ["udp_map"]

    again = cli.invoke(ckan_cli, ["udp", "views", "create-missing"])
    assert again.exit_code == 0 and "0 views created" in again.output


def test_views_of_a_hidden_dataset_stay_hidden(app):
    """A view is shown only to whoever may see its dataset (issue 10's rule):
    the list of views and the view page itself."""
    org = factories.Organization()
    hidden = factories.Dataset(private=True, owner_org=org["id"])
    resource = factories.Resource(package_id=hidden["id"], url="", format=CSV)
    fill_table(resource["id"])
    views = tk.get_action("resource_view_list")(system(), {"id": resource["id"]})
    assert [v["view_type"] for v in views] == ["datatables_view"]
    with pytest.raises(tk.NotAuthorized):
        tk.get_action("resource_view_list")({"user": ""}, {"id": resource["id"]})
    with pytest.raises(tk.NotAuthorized):
        tk.get_action("resource_view_show")({"user": ""}, {"id": views[0]["id"]})
    page = app.get(f"/dataset/{hidden['id']}/resource/{resource['id']}/view/{views[0]['id']}")
    assert page.status_code in (403, 404)
    api = app.get(f"/api/3/action/resource_view_list?id={resource['id']}")
    assert api.status_code == 403

    # the published counterpart: anonymous visitors see its preview
    shown = public_dataset(
        owner_org=factories.Organization()["id"], resources=[{"name": "T", "url": "", "format": CSV}]
    )
    fill_table(shown["resources"][0]["id"])
    assert view_types(shown["resources"][0]["id"], {"user": ""}) == ["datatables_view"]


def test_every_previewable_demo_resource_has_a_view():
    demo.load()
    previewable = []
    for dataset in tk.get_action("package_search")({}, {"rows": 1000})["results"]:
        for res in dataset["resources"]:
            kind = (res.get("format") or "").rsplit("/", 1)[-1].upper()
            if res.get("datastore_active") or kind in {"GEOJSON", "WMS_SRVC", "WFS_SRVC"}:
                previewable.append(res)
    assert len(previewable) >= 6
    empty = [r["name"] for r in previewable if not view_types(r["id"], {"user": ""})]
    assert empty == []


def test_views_made_inside_a_deferred_write_do_not_commit_it():
    """A caller that writes with ``defer_commit`` (a harvest import, which links the
    harvest object in the same transaction; CKAN passes the key on to the default-views
    actions) keeps its transaction: the views join it instead of committing it early,
    so a rollback leaves nothing behind."""
    from ckanext.udp.views import logic

    dataset = public_dataset(
        owner_org=factories.Organization()["id"],
        resources=[{"name": "Liste", "url": "https://daten.example/liste.csv", "format": CSV}],
    )
    res = dataset["resources"][0]
    as_geojson = dict(res, format=GEOJSON)  # a resource that wants the map
    assert logic.ensure_views(res["id"], resource=as_geojson, defer_commit=True) == ["udp_map"]
    model.Session.rollback()
    assert view_types(res["id"]) == []  # rolled back with the caller's transaction
    assert logic.ensure_views(res["id"], resource=as_geojson) == ["udp_map"]
    model.Session.rollback()
    assert view_types(res["id"]) == ["udp_map"]  # without a deferred caller: committed
