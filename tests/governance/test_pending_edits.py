"""Edits to a published dataset wait for review; the published version stays live."""

from __future__ import annotations

import io
import json
import pathlib

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories, helpers
from govworld import World, act

from ckanext.udp.governance.model import AuditEntry


class TestPendingEdits:
    def test_edit_waits_and_live_version_stays(self, world: World):
        pkg = world.published()
        out = act(world.editor, "package_patch", id=pkg["id"], title="Vorgeschlagener Titel")
        assert out["title"] == pkg["title"]
        assert out["udp_pending_edit"] is True
        assert act(None, "package_show", id=pkg["id"])["title"] == pkg["title"]
        found = act(None, "package_search", q=f"id:{pkg['id']}")["results"]
        assert [r["title"] for r in found] == [pkg["title"]]
        assert world.state(pkg) == "published"

    def test_approval_keeps_resources_added_since_the_proposal(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Neu")
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        added = tk.get_action("resource_create")(
            {"user": site["name"], "ignore_auth": True},
            {"package_id": pkg["id"], "url": "https://x.invalid/messwerte.csv", "name": "Messwerte"},
        )
        act(world.reviewer, "udp_approve", id=pkg["id"])
        live = act(None, "package_show", id=pkg["id"])
        assert live["title"] == "Neu"
        assert added["id"] in [r["id"] for r in live["resources"]]

    def test_new_datastore_table_on_a_live_dataset_is_refused_clearly(self, world: World):
        pkg = world.published()
        with pytest.raises(tk.ValidationError) as raised:
            act(
                world.editor,
                "datastore_create",
                resource={"package_id": pkg["id"], "name": "Tabelle"},
                fields=[{"id": "a", "type": "text"}],
                records=[{"a": "x"}],
            )
        assert "resource" in raised.value.error_dict
        assert act(None, "package_show", id=pkg["id"])["resources"] == pkg["resources"]

    def test_reviewer_sees_a_diff_and_approval_applies_it(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Neu", notes="Neue Beschreibung")
        pending = act(world.reviewer, "udp_pending_edit_show", id=pkg["id"])
        diff = {c["field"]: (c["old"], c["new"]) for c in pending["diff"]}
        assert diff == {"title": (pkg["title"], "Neu"), "notes": (pkg["notes"], "Neue Beschreibung")}
        assert pending["proposed_by_name"] == world.editor["name"]
        out = act(world.reviewer, "udp_approve", id=pkg["id"])
        assert out["pending_edit"] is False and out["state"] == "published"
        live = act(None, "package_show", id=pkg["id"])
        assert (live["title"], live["notes"]) == ("Neu", "Neue Beschreibung")
        assert live["private"] is False
        with pytest.raises(tk.ObjectNotFound):
            act(world.reviewer, "udp_pending_edit_show", id=pkg["id"])

    def test_diff_shows_resource_changes(self, world: World):
        pkg = world.published(resources=[{"url": "http://example.invalid/a.csv", "name": "A"}])
        live = act(world.editor, "package_show", id=pkg["id"])
        live["resources"][0]["url"] = "http://example.invalid/b.csv"
        live["resources"].append({"url": "http://example.invalid/c.csv", "name": "C"})
        act(world.editor, "package_update", **live)
        diff = act(world.reviewer, "udp_pending_edit_show", id=pkg["id"])["diff"]
        assert {
            "field": "resources[0].url",
            "old": "http://example.invalid/a.csv",
            "new": "http://example.invalid/b.csv",
        } in diff
        assert {"field": "resources[1]", "old": None, "new": "C"} in diff
        assert len(act(None, "package_show", id=pkg["id"])["resources"]) == 1
        act(world.admin, "udp_approve", id=pkg["id"])
        assert len(act(None, "package_show", id=pkg["id"])["resources"]) == 2

    def test_approval_is_refused_when_the_live_dataset_changed_since(self, world: World):
        pkg = world.published(title="Luftqualität", notes="Alt")
        act(world.editor, "package_patch", id=pkg["id"], notes="Neue Beschreibung")
        # meanwhile a harvest (a system write) changes the live dataset
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        tk.get_action("package_patch")(
            {"user": site["name"], "ignore_auth": True}, {"id": pkg["id"], "title": "Luftqualität (geerntet)"}
        )
        shown = act(world.reviewer, "udp_pending_edit_show", id=pkg["id"])
        assert [c["field"] for c in shown["changed_since_proposal"]] == ["title"]
        with pytest.raises(tk.ValidationError) as refused:
            act(world.reviewer, "udp_approve", id=pkg["id"])
        message = " ".join(refused.value.error_dict["pending_edit"])
        assert "title" in message
        live = act(None, "package_show", id=pkg["id"])
        assert (live["title"], live["notes"]) == ("Luftqualität (geerntet)", "Alt")
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is True
        act(world.reviewer, "udp_reject", id=pkg["id"], reason="Bitte neu vorschlagen")
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is False

    def test_page_tells_reviewers_that_a_proposal_is_outdated(self, world: World, app):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], notes="Vorschlag")
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        tk.get_action("package_patch")(
            {"user": site["name"], "ignore_auth": True}, {"id": pkg["id"], "title": "Geerntet"}
        )
        reviewer = {"Authorization": factories.APIToken(user=world.reviewer["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=reviewer).body
        assert "seit dem Vorschlag geändert (title)" in body

    def test_datastore_flags_set_since_the_proposal_survive_its_approval(self, world: World):
        # a table declared live (as sensor series are): the only kind that takes writes while published
        pkg = world.published(resources=[{"url": "http://example.invalid/t.csv", "name": "T", "udp_live_table": True}])
        rid = pkg["resources"][0]["id"]
        act(world.editor, "package_patch", id=pkg["id"], title="Neuer Titel")
        helpers.call_action(
            "datastore_create",
            context={"user": world.editor["name"], "ignore_auth": False},
            resource_id=rid,
            fields=[{"id": "v", "type": "int"}],
            records=[{"v": 1}],
            force=True,
        )
        act(world.reviewer, "udp_approve", id=pkg["id"])
        live = act(None, "package_show", id=pkg["id"])
        assert live["title"] == "Neuer Titel"
        assert live["resources"][0]["datastore_active"] is True

    def test_reject_discards_it(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Falsch")
        with pytest.raises(tk.ValidationError):
            act(world.reviewer, "udp_reject", id=pkg["id"])
        act(world.reviewer, "udp_reject", id=pkg["id"], reason="Titel passt nicht")
        assert act(None, "package_show", id=pkg["id"])["title"] == pkg["title"]
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is False

    def test_four_eyes_for_edits(self, world: World):
        pkg = world.published()
        act(world.reviewer, "package_patch", id=pkg["id"], title="Vom Prüfer")
        with pytest.raises(tk.NotAuthorized) as e:
            act(world.reviewer, "udp_approve", id=pkg["id"])
        assert "Vier-Augen" in str(e.value) or "Four-eyes" in str(e.value)
        act(world.admin, "udp_approve", id=pkg["id"])
        assert act(None, "package_show", id=pkg["id"])["title"] == "Vom Prüfer"

    def test_editors_cannot_approve_edits(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="X")
        with pytest.raises(tk.NotAuthorized):
            act(world.editor2, "udp_approve", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized):
            act(world.member, "package_patch", id=pkg["id"], title="Y")
        with pytest.raises(tk.NotAuthorized):
            act(world.outsider, "udp_pending_edit_show", id=pkg["id"])

    def test_invalid_proposal_is_refused_at_once(self, world: World):
        pkg = world.published()
        with pytest.raises(tk.ValidationError) as e:
            act(world.editor, "package_patch", id=pkg["id"], name="Kein gültiger Name!")
        assert "name" in e.value.error_dict
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is False

    def test_datastore_flag_is_not_an_edit(self, world: World):
        # a table declared live: the only kind that takes writes while published
        pkg = world.published(resources=[{"url": "http://example.invalid/t.csv", "name": "T", "udp_live_table": True}])
        rid = pkg["resources"][0]["id"]
        helpers.call_action(
            "datastore_create",
            context={"user": world.editor["name"], "ignore_auth": False},
            resource_id=rid,
            fields=[{"id": "v", "type": "int"}],
            records=[{"v": 1}],
            force=True,
        )
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is False
        assert act(None, "resource_show", id=rid)["datastore_active"] is True

    def test_drafts_are_edited_directly(self, world: World):
        pkg = world.dataset()
        assert act(world.editor, "package_patch", id=pkg["id"], title="Direkt")["title"] == "Direkt"

    def test_page_shows_the_diff_to_reviewers(self, world: World, app):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Vorschlag XY")
        reviewer = {"Authorization": factories.APIToken(user=world.reviewer["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=reviewer).body
        assert "Vorschlag XY" in body and "wartet auf Prüfung" in body
        assert "Vorschlag XY" not in app.get(f"/dataset/{pkg['name']}").body


class TestResourcesOfPublishedDatasets:
    def test_resource_create_becomes_a_pending_edit(self, world: World):
        pkg = world.published()
        out = act(
            world.editor, "resource_create", package_id=pkg["id"], url="http://example.invalid/neu.csv", name="Neu"
        )
        assert out["udp_pending_edit"] is True and "id" not in out
        assert act(None, "package_show", id=pkg["id"])["resources"] == []
        diff = act(world.reviewer, "udp_pending_edit_show", id=pkg["id"])["diff"]
        assert {"field": "resources[0]", "old": None, "new": "Neu"} in diff
        act(world.reviewer, "udp_approve", id=pkg["id"])
        assert [r["name"] for r in act(None, "package_show", id=pkg["id"])["resources"]] == ["Neu"]

    def test_resource_update_becomes_a_pending_edit(self, world: World):
        pkg = world.published(resources=[{"url": "http://example.invalid/a.csv", "name": "A"}])
        rid = pkg["resources"][0]["id"]
        act(world.editor, "resource_patch", id=rid, name="B")
        assert act(None, "resource_show", id=rid)["name"] == "A"
        act(world.reviewer, "udp_approve", id=pkg["id"])
        assert act(None, "resource_show", id=rid)["name"] == "B"

    def test_file_uploads_are_refused_in_german(self, world: World, app):
        # through the API as a steward's client sends them: multipart with a file
        pkg = world.published(resources=[{"url": "http://example.invalid/a.csv", "name": "A"}])
        rid = pkg["resources"][0]["id"]
        token = {"Authorization": factories.APIToken(user=world.editor["name"])["token"]}
        storage = tk.config.get("ckan.storage_path")
        files_before = sorted(p.name for p in pathlib.Path(storage).rglob("*") if p.is_file())
        for action, fields in [
            ("resource_create", {"package_id": pkg["id"], "name": "Neu"}),
            ("resource_update", {"id": rid, "name": "A"}),
            ("resource_patch", {"id": rid}),
        ]:
            data = dict(fields, upload=(io.BytesIO(b"a,b\n1,2\n"), "daten.csv"))
            resp = app.post(f"/api/3/action/{action}", data=data, headers=token, content_type="multipart/form-data")
            assert resp.status_code == 409, (action, resp.body[:300])
            error = json.loads(resp.body)["error"]
            assert "hochgeladen" in " ".join(error["upload"]), action
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is False
        assert act(None, "package_show", id=pkg["id"])["resources"] == pkg["resources"]
        assert sorted(p.name for p in pathlib.Path(storage).rglob("*") if p.is_file()) == files_before


class TestPendingEditsAndTransitions:
    def test_withdraw_discards_the_pending_edit(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Nie veröffentlicht")
        act(world.editor, "udp_withdraw", id=pkg["id"], reason="Datenschutz")
        shown = act(world.editor, "udp_governance_show", id=pkg["id"])
        assert shown["pending_edit"] is False and shown["state"] == "withdrawn"
        actions = [e["action"] for e in act(world.member, "udp_audit_list", id=pkg["id"])]
        assert actions[-2:] == ["withdraw", "discard_edit"]
        act(world.editor, "udp_restore", id=pkg["id"])
        assert act(world.editor, "package_show", id=pkg["id"])["title"] == pkg["title"]

    def test_archive_keeps_the_pending_edit(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Später")
        act(world.admin, "udp_archive", id=pkg["id"])
        assert act(world.editor, "udp_governance_show", id=pkg["id"])["pending_edit"] is True

    def test_delete_is_audited(self, world: World):
        pkg = world.published()
        # a published dataset is withdrawn (with a reason) before it may be deleted
        act(world.admin, "udp_withdraw", id=pkg["id"], reason="Veraltet")
        act(world.admin, "package_delete", id=pkg["name"])
        # the trail outlives the dataset (udp_audit_list answers only for live datasets)
        actions = [
            a
            for (a,) in model.Session.query(AuditEntry.action)
            .filter(AuditEntry.package_id == pkg["id"])
            .order_by(AuditEntry.id)
        ]
        assert actions == ["create", "submit", "approve", "withdraw", "delete"]
