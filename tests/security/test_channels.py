"""Channels outside the dataset pages that showed hidden datasets, or
answered 500 instead of 403/404 (udp_security's channel guards). Each test
names one hole an independent probe found; the leak matrix
(tests/governance/test_leak_matrix.py) covers every channel in general."""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories, helpers
from govworld import World, act


def _token(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": factories.APIToken(user=user["name"])["token"]}


def _sys(world: World) -> dict[str, Any]:
    return {"user": world.sysadmin["name"], "ignore_auth": True}


# --- tags ----------------------------------------------------------------------------------


@pytest.fixture
def tagged(world: World) -> dict[str, Any]:
    draft = world.dataset(tags=[{"name": "entwurfsgeheimnis"}])
    internal = world.published(access_class="internal", tags=[{"name": "dienstgeheimnis"}])
    public = world.published(tags=[{"name": "offenesdatum"}])
    return {"draft": draft, "internal": internal, "public": public}


class TestTags:
    def test_tag_list_only_names_tags_of_visible_datasets(self, world: World, tagged):
        assert act(None, "tag_list") == ["offenesdatum"]
        assert act(None, "tag_list", query="geheim") == []
        assert [t["name"] for t in act(None, "tag_list", all_fields=True)] == ["offenesdatum"]
        assert sorted(act(world.outsider, "tag_list")) == ["dienstgeheimnis", "offenesdatum"]
        assert sorted(act(world.member, "tag_list")) == ["dienstgeheimnis", "entwurfsgeheimnis", "offenesdatum"]

    def test_tag_search_and_autocomplete(self, world: World, tagged):
        assert act(None, "tag_search", query="geheim") == {"count": 0, "results": []}
        found = act(world.outsider, "tag_search", query="geheim")
        assert found["count"] == 1 and [t["name"] for t in found["results"]] == ["dienstgeheimnis"]
        assert act(None, "tag_autocomplete", q="geheim") == []
        assert sorted(act(world.member, "tag_autocomplete", q="geheim")) == ["dienstgeheimnis", "entwurfsgeheimnis"]

    @pytest.mark.parametrize("url", ["/api/2/util/tag/autocomplete", "/api/util/tag/autocomplete"])
    def test_autocomplete_urls(self, app, world: World, tagged, url: str):
        body = app.get(url, query_string={"incomplete": "geheim"}).get_data(as_text=True)
        assert "geheimnis" not in body
        body = app.get(url, query_string={"incomplete": "geheim"}, headers=_token(world.member)).get_data(as_text=True)
        assert "entwurfsgeheimnis" in body

    def test_tag_show_of_a_hidden_tag_is_not_found(self, app, world: World, tagged):
        res = app.get("/api/3/action/tag_show", query_string={"id": "entwurfsgeheimnis"})
        assert res.status_code == 404
        assert act(world.member, "tag_show", id="entwurfsgeheimnis")["name"] == "entwurfsgeheimnis"
        assert act(None, "tag_show", id="offenesdatum")["name"] == "offenesdatum"

    def test_bad_paging_is_a_clear_error(self, app, world: World, tagged):
        res = app.get("/api/3/action/tag_search", query_string={"query": "o", "limit": "viele"})
        assert res.status_code == 409


# --- activities ----------------------------------------------------------------------------


class TestActivities:
    def test_view_activities_of_a_draft_stay_out_of_the_users_stream(self, app, world: World):
        draft = world.dataset(resources=[{"url": "http://example.invalid/a.png", "name": "Bild"}])
        act(
            world.editor,
            "resource_view_create",
            resource_id=draft["resources"][0]["id"],
            view_type="image_view",
            title="Geheime Ansicht",
            image_url="http://example.invalid/a.png",
        )
        shown = json.dumps(act(world.outsider, "user_activity_list", id=world.editor["name"]))
        assert draft["id"] not in shown and "Geheime Ansicht" not in shown
        with pytest.raises(tk.NotAuthorized):  # users' streams are for logged-in users
            act(None, "user_activity_list", id=world.editor["name"])
        page = app.get(f"/user/activity/{world.editor['name']}", headers=_token(world.outsider))
        assert draft["id"] not in page.get_data(as_text=True)
        mine = json.dumps(act(world.member, "user_activity_list", id=world.editor["name"]))
        assert "Geheime Ansicht" in mine

    def test_dashboard_of_a_follower_after_the_dataset_went_hidden(self, world: World):
        pkg = world.published(resources=[{"url": "http://example.invalid/a.png", "name": "Bild"}])
        act(world.outsider, "follow_dataset", id=pkg["id"])
        act(world.editor, "udp_withdraw", id=pkg["id"], reason="Fehler")
        shown = json.dumps(act(world.outsider, "dashboard_activity_list"))
        assert pkg["id"] not in shown


# --- relationships --------------------------------------------------------------------------


class TestRelationships:
    def test_a_published_dataset_does_not_name_a_draft_it_relates_to(self, world: World):
        public, draft = world.published(), world.dataset()
        helpers.call_action(
            "package_relationship_create",
            context=_sys(world),
            subject=public["id"],
            object=draft["id"],
            type="links_to",
            comment="Geheimer Kommentar",
        )
        for viewer in (None, world.outsider):
            assert act(viewer, "package_relationships_list", id=public["id"]) == []
            shown = act(viewer, "package_show", id=public["id"])
            assert draft["id"] not in json.dumps(shown)
        listed = act(world.member, "package_relationships_list", id=public["id"])
        assert [r["comment"] for r in listed] == ["Geheimer Kommentar"]

    def test_search_results_carry_no_relationships(self, world: World):
        public, draft = world.published(), world.dataset()
        helpers.call_action(
            "package_relationship_create",
            context=_sys(world),
            subject=public["id"],
            object=draft["id"],
            type="links_to",
            comment="Geheim",
        )
        from ckan.lib.search import rebuild

        rebuild(public["id"])  # CKAN indexes relationships (or crashed doing so: KeyError object_package_id)
        found = act(None, "package_search", q=f"id:{public['id']}", fl="id,validated_data_dict")
        assert draft["id"] not in json.dumps(found)


# --- Solr pseudo-fields ------------------------------------------------------------------------


class TestSearchFunctions:
    @pytest.mark.parametrize(
        "fl",
        [
            "id,n:docfreq(name,'{name}')",
            "id,n:docfreq(text,'Entwurf')",
            "id,[explain]",
            "id,score",
            "id,n:termfreq(owner_org,'{org}')",
        ],
    )
    def test_functions_in_fl_are_refused(self, app, world: World, fl: str):
        draft = world.dataset(name="entwurf-mit-namen", notes="Entwurf")
        world.published()
        res = app.get(
            "/api/3/action/package_search", query_string={"fl": fl.format(name=draft["name"], org=world.org["id"])}
        )
        assert res.status_code == 409, res.get_data(as_text=True)
        assert "fl" in res.json["error"]

    def test_plain_fields_still_work(self, world: World):
        pkg = world.published()
        found = act(None, "package_search", fl="id,name,title")
        assert found["results"] == [{"id": pkg["id"], "name": pkg["name"], "title": pkg["title"]}]

    def test_function_query_hooks_are_refused(self, app, world: World):
        res = app.get("/api/3/action/package_search", query_string={"q": "_val_:\"docfreq(name,'x')\""})
        assert res.status_code == 409


# --- harvest ------------------------------------------------------------------------------------

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/catalog> a dcat:Catalog ; dcat:dataset <http://example.invalid/dataset/roh> .
<http://example.invalid/dataset/roh> a dcat:Dataset ; dct:identifier "roh" ;
    dct:title "Rohdaten Entwurf" ; dct:description "Geheime Rohbeschreibung" .
"""


@pytest.fixture
def harvested(world: World, http_server) -> dict[str, Any]:
    from ckanext.dcat.harvesters import DCATRDFHarvester
    from ckanext.harvest.model import HarvestJob, HarvestObject
    from ckanext.harvest.tests.lib import run_harvest_job

    http_server.responder = lambda path: (200, "text/turtle", CATALOG.encode())
    source = act(
        world.admin,
        "harvest_source_create",
        name="geheime-quelle",
        title="Geheime Quelle",
        url=f"{http_server.url}/intern.ttl",
        source_type="dcat_rdf",
        owner_org=world.org["id"],
        config=json.dumps({"rdf_format": "turtle"}),
    )
    job = HarvestJob(source_id=source["id"])
    job.save()
    (result,) = run_harvest_job(job, DCATRDFHarvester()).values()
    obj = HarvestObject.get(result["obj_id"])
    return {"source": source, "object_id": obj.id, "dataset_id": obj.package_id}


class TestHarvest:
    def test_sources_are_listed_to_their_organization_only(self, app, world: World, harvested):
        for viewer in (None, world.outsider):
            assert act(viewer, "harvest_source_list") == []
        for query in ({}, {"organization_id": world.org["id"]}):
            res = app.get("/api/3/action/harvest_source_list", query_string=query)
            assert harvested["source"]["id"] not in res.get_data(as_text=True)
            assert "intern.ttl" not in res.get_data(as_text=True)
        assert [s["id"] for s in act(world.member, "harvest_source_list")] == [harvested["source"]["id"]]

    def test_a_source_is_private_to_its_organization(self, app, world: World, harvested):
        with pytest.raises(tk.NotAuthorized):
            act(None, "harvest_source_show", id=harvested["source"]["id"])
        assert app.get(f"/harvest/{harvested['source']['name']}").status_code in (403, 404)

    def test_raw_records_of_hidden_datasets_are_refused(self, app, world: World, harvested):
        obj, dataset = harvested["object_id"], harvested["dataset_id"]
        for viewer in (None, world.outsider):
            headers = _token(viewer) if viewer else {}
            res = app.post("/api/3/action/harvest_object_list", json={}, headers=headers)
            assert res.status_code == 403 and obj not in res.get_data(as_text=True)
            for query in ({"id": obj}, {"dataset_id": dataset}):
                res = app.get("/api/3/action/harvest_object_show", query_string=query, headers=headers)
                assert res.status_code == 403 and "Geheime Rohbeschreibung" not in res.get_data(as_text=True)
            for url in (f"/harvest/object/{obj}", f"/dataset/harvest_object/{obj}"):
                res = app.get(url, headers=headers)
                assert res.status_code in (403, 404) and "Geheime Rohbeschreibung" not in res.get_data(as_text=True)
        shown = act(world.member, "harvest_object_show", id=obj)
        assert "Geheime Rohbeschreibung" in shown["content"]

    def test_the_harvest_log_is_for_sysadmins(self, app, world: World, harvested):
        res = app.get("/api/3/action/harvest_log_list", headers=_token(world.editor))
        assert res.status_code == 403
        assert act(world.sysadmin, "harvest_log_list") is not None

    @pytest.mark.parametrize("helper", ["get_mail_extra_vars", "prepare_summary_mail", "send_mail", "InactiveSource"])
    def test_harvest_helpers_are_not_api_actions(self, app, world: World, helper: str):
        res = app.post(f"/api/3/action/{helper}", json={"source_id": "x", "status": {}}, headers=_token(world.sysadmin))
        assert res.status_code == 404
        assert res.json["success"] is False


# --- governance status ---------------------------------------------------------------------------


def test_the_public_sees_no_user_ids_in_the_workflow_status(world: World):
    pkg = world.published()
    shown = act(None, "udp_governance_show", id=pkg["id"])
    assert shown["state"] == "published"
    assert "submitted_by" not in shown and "last_editor" not in shown
    assert world.editor["id"] not in json.dumps(shown) and world.reviewer["id"] not in json.dumps(shown)
    assert act(world.member, "udp_governance_show", id=pkg["id"])["submitted_by"] == world.editor["id"]


# --- clean 403/404 instead of 500 -------------------------------------------------------------------


def _table_view_of_a_draft(world: World, value: int) -> dict[str, Any]:
    """A datatables view of a DataStore table with one row, on a draft."""
    draft = world.dataset()
    table = helpers.call_action(
        "datastore_create",
        context=_sys(world),
        resource={"package_id": draft["id"], "name": "Tabelle"},
        fields=[{"id": "wert", "type": "int"}],
        records=[{"wert": value}],
        force=True,
    )
    return act(
        world.editor,
        "resource_view_create",
        resource_id=table["resource_id"],
        view_type="datatables_view",
        title="Tabelle",
    )


class TestNoServerErrors:
    def test_collaborators_of_a_hidden_dataset_as_anonymous(self, app, world: World):
        draft = world.dataset()
        res = app.get("/api/3/action/package_collaborator_list", query_string={"id": draft["id"]})
        assert res.status_code == 403 and res.json["success"] is False

    @pytest.mark.parametrize("url", ["/api/2/util/user/autocomplete", "/api/util/user/autocomplete"])
    def test_user_autocomplete_as_anonymous(self, app, world: World, url: str):
        res = app.get(url, query_string={"q": "edi"})
        assert res.status_code == 403
        assert res.headers["Content-Type"].startswith("application/json")

    def test_changes_of_a_hidden_dataset(self, app, world: World):
        draft = world.dataset()
        act(world.editor, "package_patch", id=draft["id"], notes="Zweiter Stand")
        ids = [a["id"] for a in act(world.member, "package_activity_list", id=draft["id"])]
        res = app.get("/dataset/changes_multiple", query_string={"new_id": ids[0], "old_id": ids[-1]})
        assert res.status_code in (403, 404)
        assert draft["name"] not in res.get_data(as_text=True)

    @pytest.mark.parametrize("path", ["/datatables/ajax/{view}", "/datatables/filtered-download/{view}"])
    def test_datatables_of_a_hidden_resource(self, app, world: World, path: str):
        view = _table_view_of_a_draft(world, 718293)
        res = app.post(
            path.format(view=view["id"]),
            data={
                "draw": "1",
                "start": "0",
                "length": "10",
                "search[value]": "",
                "order[0][column]": "0",
                "order[0][dir]": "asc",
                "columns[0][data]": "wert",
                "columns[0][name]": "wert",
                "params": '{"draw": "1", "start": "0", "length": "10", "search": {"value": ""}, "order": [], '
                '"columns": []}',
                "format": "csv",
                "visible": "[]",
            },
        )
        assert res.status_code == 403
        assert "718293" not in res.get_data(as_text=True)

    @pytest.mark.parametrize(
        "form",
        [
            {},
            {"params": "{kaputt"},
            {"params": "{}"},
            {"params": '{"search": {"value": ""}, "order": [{"column": "99"}]}'},
            {"draw": "x", "start": "0", "length": "10", "search[value]": ""},
        ],
    )
    @pytest.mark.parametrize("path", ["/datatables/ajax/{view}", "/datatables/filtered-download/{view}"])
    def test_datatables_refuse_malformed_forms(self, app, world: World, path: str, form: dict[str, str]):
        """A member who may see the table sends a malformed form: 400, not 500."""
        view = _table_view_of_a_draft(world, 1)
        res = app.post(path.format(view=view["id"]), data=form, headers=_token(world.member))
        assert res.status_code == 400, res.get_data(as_text=True)[:300]
