"""Changes that went live without review, found by an independent probe:
resource views, relationships, four-eyes through views, harvest sources that
publish, type=harvest datasets, delete and revival, bulk actions, and the
DataStore rule for published tables."""

from __future__ import annotations

import json
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories, helpers
from govworld import World, act


def _sys(world: World) -> dict[str, Any]:
    return {"user": world.sysadmin["name"], "ignore_auth": True}


def _views(world: World, resource_id: str) -> list[dict[str, Any]]:
    return act(world.sysadmin, "resource_view_list", id=resource_id)


def _image(world: World, **kw: Any) -> dict[str, Any]:
    return world.published(resources=[{"url": "http://example.invalid/karte.png", "name": "Karte"}], **kw)


class TestResourceViews:
    def test_a_view_on_a_published_dataset_is_refused(self, world: World):
        pkg = _image(world)
        rid = pkg["resources"][0]["id"]
        before = _views(world, rid)
        with pytest.raises(tk.ValidationError) as err:
            act(
                world.editor,
                "resource_view_create",
                resource_id=rid,
                view_type="image_view",
                title="Ungeprüfte Ansicht",
                image_url="http://example.invalid/karte.png",
            )
        assert "view" in err.value.error_dict
        assert _views(world, rid) == before

    def test_changing_or_deleting_a_live_view_is_refused(self, world: World):
        pkg = world.dataset(resources=[{"url": "http://example.invalid/karte.png", "name": "Karte"}])
        rid = pkg["resources"][0]["id"]
        view = act(
            world.editor,
            "resource_view_create",
            resource_id=rid,
            view_type="image_view",
            title="Karte",
            image_url="http://example.invalid/karte.png",
        )
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        with pytest.raises(tk.ValidationError):
            act(
                world.editor,
                "resource_view_update",
                id=view["id"],
                title="Ungeprüft",
                image_url="http://example.invalid/karte.png",
            )
        with pytest.raises(tk.ValidationError):
            act(world.editor, "resource_view_delete", id=view["id"])
        with pytest.raises(tk.ValidationError):
            act(
                world.reviewer,
                "resource_view_create",
                resource_id=rid,
                view_type="image_view",
                title="x",
                image_url="http://example.invalid/karte.png",
            )
        assert [v["title"] for v in _views(world, rid)] == ["Karte"]

    def test_a_reviewer_who_adds_a_view_to_a_submission_cannot_approve_it(self, world: World):
        pkg = world.dataset(resources=[{"url": "http://example.invalid/karte.png", "name": "Karte"}])
        act(world.editor, "udp_submit", id=pkg["id"])
        act(
            world.reviewer,
            "resource_view_create",
            resource_id=pkg["resources"][0]["id"],
            view_type="image_view",
            title="Eigener Text des Prüfers",
            image_url="http://example.invalid/k.png",
        )
        with pytest.raises(tk.NotAuthorized):
            act(world.reviewer, "udp_approve", id=pkg["id"])
        act(world.admin, "udp_approve", id=pkg["id"])
        assert world.state(pkg) == "published"


class TestRelationshipWrites:
    def test_a_relationship_from_a_published_dataset_is_refused(self, world: World):
        public, draft = world.published(), world.dataset()
        with pytest.raises(tk.ValidationError) as err:
            act(
                world.editor,
                "package_relationship_create",
                subject=public["id"],
                object=draft["id"],
                type="links_to",
                comment="Ungeprüft",
            )
        assert "relationship" in err.value.error_dict
        assert act(world.sysadmin, "package_relationships_list", id=public["id"]) == []

    def test_relationships_between_drafts_are_fine(self, world: World):
        one, two = world.dataset(), world.dataset()
        act(world.editor, "package_relationship_create", subject=one["id"], object=two["id"], type="links_to")
        assert len(act(world.member, "package_relationships_list", id=one["id"])) == 1

    def test_package_patch_with_relationships_does_not_crash(self, app, world: World):
        one, two = world.dataset(), world.dataset()
        token = {"Authorization": factories.APIToken(user=world.editor["name"])["token"]}
        res = app.post(
            "/api/3/action/package_patch",
            headers=token,
            json={"id": one["id"], "relationships_as_subject": [{"object": two["id"], "type": "links_to"}]},
        )
        assert res.status_code == 409, res.get_data(as_text=True)  # a clear error: use the relationship actions
        assert "relationships_as_subject" in res.json["error"]
        assert act(world.member, "package_relationships_list", id=one["id"]) == []
        act(world.editor, "package_patch", id=one["id"], notes="Noch ein Stand")  # still editable

    def test_reactivating_a_dataset_with_a_relationship_does_not_crash(self, app, world: World):
        one, two = world.dataset(), world.dataset()
        act(world.editor, "package_relationship_create", subject=one["id"], object=two["id"], type="links_to")
        act(world.editor, "package_delete", id=one["id"])
        token = {"Authorization": factories.APIToken(user=world.editor["name"])["token"]}
        res = app.post("/api/3/action/package_patch", headers=token, json={"id": one["id"], "state": "active"})
        assert res.status_code == 200, res.get_data(as_text=True)
        assert act(world.member, "package_show", id=one["id"])["state"] == "active"


def _harvest_source(world: World, by: dict[str, Any], url: str, state: str = "published") -> dict[str, Any]:
    return act(
        by,
        "harvest_source_create",
        name=f"quelle-{state}-{by['name'][:8]}",
        title="Quelle",
        url=url,
        source_type="dcat_rdf",
        owner_org=world.org["id"],
        config=json.dumps({"rdf_format": "turtle", "udp_workflow_state": state}),
    )


CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/catalog> a dcat:Catalog ; dcat:dataset <http://example.invalid/dataset/{slug}> .
<http://example.invalid/dataset/{slug}> a dcat:Dataset ; dct:identifier "{slug}" ;
    dct:title "Geharvestet {slug}" ; dct:description "Aus einer Quelle" .
"""


def _run(source_id: str) -> dict[str, Any]:
    from ckanext.dcat.harvesters import DCATRDFHarvester
    from ckanext.harvest.model import HarvestJob, HarvestObject
    from ckanext.harvest.tests.lib import run_harvest_job

    job = HarvestJob(source_id=source_id)
    job.save()
    (result,) = run_harvest_job(job, DCATRDFHarvester()).values()
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": HarvestObject.get(result["obj_id"]).package_id})


class TestHarvestSources:
    @pytest.fixture
    def server(self, http_server):
        http_server.responder = lambda path: (
            200,
            "text/turtle",
            CATALOG.replace("{slug}", path.strip("/").split(".")[0]).encode(),
        )
        return http_server.url

    def test_an_editor_cannot_configure_a_source_that_publishes(self, world: World, server: str):
        with pytest.raises(tk.ValidationError) as err:
            _harvest_source(world, world.editor, f"{server}/editor.ttl")
        assert "config" in err.value.error_dict
        source = _harvest_source(world, world.editor, f"{server}/entwurf.ttl", state="in_review")
        with pytest.raises(tk.ValidationError):
            act(
                world.editor,
                "harvest_source_patch",
                id=source["id"],
                config=json.dumps({"rdf_format": "turtle", "udp_workflow_state": "published"}),
            )

    def test_a_reviewers_source_publishes_and_the_audit_names_the_reviewer(self, world: World, server: str):
        source = _harvest_source(world, world.reviewer, f"{server}/geprueft.ttl")
        pkg = _run(source["id"])
        assert pkg["udp_workflow_state"] == "published"
        created = act(world.member, "udp_audit_list", id=pkg["id"])[0]
        assert created["details"]["harvest"]["approved_by"] == world.reviewer["name"]
        assert created["details"]["harvest"]["harvest_source"] == source["id"]

    def test_a_source_changed_behind_the_approval_harvests_drafts(self, world: World, server: str):
        source = _harvest_source(world, world.reviewer, f"{server}/umgebogen.ttl")
        from ckanext.harvest.model import HarvestSource

        row = HarvestSource.get(source["id"])
        row.url = f"{server}/anderswo.ttl"  # changed without the workflow (e.g. directly in the database)
        row.save()
        assert _run(source["id"])["udp_workflow_state"] == "draft"

    def test_a_source_whose_approver_lost_the_role_harvests_drafts(self, world: World, server: str):
        source = _harvest_source(world, world.reviewer, f"{server}/ehemals.ttl")
        act(world.admin, "udp_reviewer_remove", organization_id=world.org["id"], user=world.reviewer["name"])
        assert _run(source["id"])["udp_workflow_state"] == "draft"

    def test_a_source_is_never_public(self, world: World, server: str):
        source = act(
            world.editor,
            "harvest_source_create",
            name="offen-gemeint",
            title="Quelle",
            url=f"{server}/offen.ttl",
            source_type="dcat_rdf",
            owner_org=world.org["id"],
            private=False,
        )
        assert act(world.sysadmin, "package_show", id=source["id"])["private"] is True
        with pytest.raises(tk.NotAuthorized):
            act(None, "package_show", id=source["id"])


class TestHarvestTypeDatasets:
    def test_an_editors_type_harvest_dataset_is_not_public(self, app, world: World):
        token = {"Authorization": factories.APIToken(user=world.editor["name"])["token"]}
        res = app.post(
            "/api/3/action/package_create",
            headers=token,
            json={
                "type": "harvest",
                "name": "getarnt",
                "title": "Beliebiger Titel",
                "notes": "Beliebiger Text",
                "owner_org": world.org["id"],
                "private": False,
                "url": "http://127.0.0.1:9/x",  # allow-listed in test.ini
                "source_type": "dcat_rdf",
            },
        )
        assert res.status_code == 200, res.get_data(as_text=True)
        assert app.get("/api/3/action/package_show", query_string={"id": "getarnt"}).status_code == 403
        assert "getarnt" not in json.dumps(act(None, "package_search", q="*:*", include_private=True))
        assert "getarnt" not in act(None, "package_list")
        with pytest.raises(tk.ValidationError):
            act(
                world.editor,
                "package_patch",
                id="getarnt",
                private=False,
                config=json.dumps({"udp_workflow_state": "published"}),
            )
        assert act(world.sysadmin, "package_show", id="getarnt")["private"] is True


class TestDeleteAndRevival:
    def test_deleting_a_published_dataset_is_refused(self, world: World):
        pkg = world.published()
        with pytest.raises(tk.ValidationError) as err:
            act(world.editor, "package_delete", id=pkg["id"])
        assert "state" in err.value.error_dict
        assert act(None, "package_show", id=pkg["id"])["state"] == "active"

    def test_a_withdrawn_dataset_may_be_deleted_and_revives_as_a_draft(self, world: World):
        pkg = world.published()
        act(world.editor, "udp_withdraw", id=pkg["id"], reason="Veraltet")
        act(world.editor, "package_delete", id=pkg["id"])
        act(world.editor, "package_patch", id=pkg["id"], state="active")
        assert world.state(pkg) == "draft"
        with pytest.raises(tk.NotAuthorized):
            act(None, "package_show", id=pkg["id"])

    def test_a_dataset_the_system_deleted_while_published_revives_as_a_draft(self, world: World):
        pkg = world.published()
        helpers.call_action("package_delete", context=_sys(world), id=pkg["id"])
        act(world.editor, "package_patch", id=pkg["id"], state="active")
        assert act(world.sysadmin, "package_show", id=pkg["id"])["state"] == "active"
        assert world.state(pkg) == "draft"
        with pytest.raises(tk.NotAuthorized):
            act(None, "package_show", id=pkg["id"])
        assert pkg["name"] not in act(None, "package_list")
        trail = act(world.member, "udp_audit_list", id=pkg["id"])
        assert (trail[-1]["action"], trail[-1]["from_state"], trail[-1]["to_state"]) == ("revive", "published", "draft")

    def test_the_audit_trail_of_a_deleted_dataset_stays_readable(self, world: World):
        pkg = world.dataset()
        act(world.editor, "package_delete", id=pkg["id"])
        for user in (world.sysadmin, world.member):
            assert [e["action"] for e in act(user, "udp_audit_list", id=pkg["id"])] == ["create", "delete"]
        assert "delete" in act(world.sysadmin, "udp_audit_export", id=pkg["id"])["csv"]
        with pytest.raises(tk.NotAuthorized):
            act(world.outsider, "udp_audit_list", id=pkg["id"])


class TestBulkActions:
    def test_bulk_public_cannot_publish_a_draft(self, world: World):
        draft = world.dataset()
        with pytest.raises(tk.ValidationError):
            act(world.admin, "bulk_update_public", datasets=[draft["id"]], org_id=world.org["id"])
        assert draft["name"] not in act(None, "package_list")
        assert model.Package.get(draft["id"]).private is True

    def test_bulk_private_and_delete_cannot_take_a_published_dataset_offline(self, world: World):
        pkg = world.published()
        for action in ("bulk_update_private", "bulk_update_delete"):
            with pytest.raises(tk.ValidationError):
                act(world.admin, action, datasets=[pkg["id"]], org_id=world.org["id"])
        assert act(None, "package_show", id=pkg["id"])["state"] == "active"


class TestDataStoreOnPublishedTables:
    """The rule: a table of a published (or archived) dataset changes through
    the workflow; only tables declared live (resource field udp_live_table,
    set by the system for sensor series or through a reviewed edit) take
    DataStore writes while published. Drafts and submissions take writes,
    which make the writer the last editor (four-eyes)."""

    def _table(self, world: World, pkg: dict[str, Any], **resource: Any) -> str:
        return helpers.call_action(
            "datastore_create",
            context=_sys(world),
            resource={"package_id": pkg["id"], "name": "Tabelle", **resource},
            fields=[{"id": "wert", "type": "int"}],
            records=[{"wert": 1}],
            force=True,
        )["resource_id"]

    def _rows(self, world: World, rid: str) -> list[int]:
        return [r["wert"] for r in act(world.sysadmin, "datastore_search", resource_id=rid)["records"]]

    def test_writes_to_a_published_table_are_refused(self, world: World):
        pkg = world.dataset()
        rid = self._table(world, pkg)
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        for action, extra in (
            ("datastore_upsert", {"records": [{"wert": 2}], "method": "insert"}),
            ("datastore_delete", {"filters": {"wert": 1}}),
            ("datastore_records_delete", {"filters": {"wert": 1}}),
            ("datastore_create", {"records": [{"wert": 3}]}),
        ):
            with pytest.raises(tk.ValidationError) as err:
                act(world.editor, action, resource_id=rid, force=True, **extra)
            assert "resource_id" in err.value.error_dict
        assert self._rows(world, rid) == [1]

    def test_a_table_declared_live_takes_writes_while_published(self, world: World):
        pkg = world.dataset()
        rid = self._table(world, pkg, udp_live_table=True)
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        act(world.editor, "datastore_upsert", resource_id=rid, force=True, method="insert", records=[{"wert": 2}])
        assert self._rows(world, rid) == [1, 2]

    def test_a_reviewer_writing_to_a_submission_cannot_approve_it(self, world: World):
        pkg = world.dataset()
        rid = self._table(world, pkg)
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "datastore_upsert", resource_id=rid, force=True, method="insert", records=[{"wert": 2}])
        with pytest.raises(tk.NotAuthorized):
            act(world.reviewer, "udp_approve", id=pkg["id"])

    def test_sensor_series_are_declared_live(self, world: World, tmp_path):
        import yaml

        from ckanext.udp.sensors.logic.series import ensure_all
        from ckanext.udp.sensors.logic.sources import load_sources

        pkg = world.published()
        path = tmp_path / "sources.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "sources": [
                        {
                            "name": "probe",
                            "title": "Probe",
                            "flavour": "tts",
                            "topics": ["probe/+/up"],
                            "columns": [{"field": "wert", "name": "wert", "type": "numeric"}],
                            "devices": [{"id": "dev-1", "dataset": pkg["name"]}],
                        }
                    ]
                }
            )
        )
        ensure_all(load_sources(path))
        resources = act(world.sysadmin, "package_show", id=pkg["id"])["resources"]
        assert resources and all(tk.asbool(r.get("udp_live_table")) for r in resources)
