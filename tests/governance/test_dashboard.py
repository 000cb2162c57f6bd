"""Steward queues (action and dashboard page) and the German workflow UI."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from govworld import World, act


def _names(queue: dict) -> set[str]:
    return {i["name"] for i in queue["items"]}


class TestStewardQueues:
    def test_queues_and_counts(self, world: World):
        draft = world.dataset()
        submitted = world.dataset()
        act(world.editor, "udp_submit", id=submitted["id"])
        own = world.dataset(by=world.reviewer)
        act(world.reviewer, "udp_submit", id=own["id"])
        published = world.published()
        act(world.editor2, "package_patch", id=published["id"], title="Änderung")

        mine = act(world.editor, "udp_steward_queues")
        assert _names(mine["my_drafts"]) == {draft["name"]}
        assert mine["my_drafts"]["count"] == 1
        assert mine["to_review"]["count"] == 0
        assert mine["recently_published"]["count"] == 1

        review = act(world.reviewer, "udp_steward_queues")
        # the reviewer's own submission is not theirs to approve (four-eyes)
        assert _names(review["to_review"]) == {submitted["name"], published["name"]}
        assert review["to_review"]["count"] == 2
        assert [i["pending_edit"] for i in review["to_review"]["items"]].count(True) == 1

        outsider = act(world.outsider, "udp_steward_queues")
        assert all(q["count"] == 0 for q in outsider.values())

    def test_anonymous_has_no_queues(self, world: World):
        with pytest.raises(tk.NotAuthorized):
            act(None, "udp_steward_queues")

    def test_dashboard_page_is_german(self, world: World, app):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        headers = {"Authorization": factories.APIToken(user=world.reviewer["name"])["token"]}
        body = app.get("/dashboard/governance", headers=headers).body
        assert "Warten auf meine Prüfung" in body and "Meine Entwürfe" in body
        assert "Kürzlich veröffentlicht" in body
        assert pkg["title"] in body
        app.get("/dashboard/governance", status=403)


class TestDatasetPage:
    def test_state_badge_and_buttons(self, world: World, app):
        pkg = world.dataset()
        editor = {"Authorization": factories.APIToken(user=world.editor["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=editor).body
        assert "Entwurf" in body and "Zur Prüfung einreichen" in body
        assert "Freigeben" not in body

    def test_archived_is_flagged(self, world: World, app):
        pkg = world.published()
        act(world.admin, "udp_archive", id=pkg["id"])
        outsider = {"Authorization": factories.APIToken(user=world.outsider["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=outsider).body
        assert "Dieser Datensatz ist archiviert" in body
        found = act(world.outsider, "package_search", q=f"id:{pkg['id']}", include_private=True)["results"]
        assert [r["udp_workflow_state"] for r in found] == ["archived"]

    def test_buttons_post_transitions(self, world: World, app):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        password = "Correct-Horse-4711"
        reviewer = factories.User(password=password)
        act(world.admin, "organization_member_create", id=world.org["id"], username=reviewer["name"], role="editor")
        act(world.admin, "udp_reviewer_add", organization_id=world.org["id"], user=reviewer["name"])
        # a real browser session: login form, CSRF token, form post
        app.post("/user/login", data={"login": reviewer["name"], "password": password})
        body = app.get(f"/dataset/{pkg['name']}").body
        assert "Freigeben" in body
        token = body.split('name="_csrf_token" value="')[1].split('"')[0]
        app.post(f"/dataset/{pkg['name']}/governance/approve", data={"_csrf_token": token})
        assert world.state(pkg) == "published"
