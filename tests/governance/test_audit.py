"""The audit trail: recorded for every transition and published change,
visible to organization members, exported as CSV, not editable."""

from __future__ import annotations

import csv
import io

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from govworld import World, act


def _trail(world: World, pkg: dict) -> list[dict]:
    return act(world.member, "udp_audit_list", id=pkg["id"])


class TestAuditTrail:
    def test_every_transition_is_recorded(self, world: World):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"], reason="Bitte prüfen")
        act(world.reviewer, "udp_reject", id=pkg["id"], reason="Lizenz fehlt")
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        act(world.reviewer, "udp_set_access_class", id=pkg["id"], access_class="internal")
        act(world.admin, "udp_archive", id=pkg["id"])
        trail = _trail(world, pkg)
        assert [(e["action"], e["from_state"], e["to_state"], e["actor_name"]) for e in trail] == [
            ("create", None, "draft", world.editor["name"]),
            ("submit", "draft", "in_review", world.editor["name"]),
            ("reject", "in_review", "draft", world.reviewer["name"]),
            ("submit", "draft", "in_review", world.editor["name"]),
            ("approve", "in_review", "published", world.reviewer["name"]),
            ("set_access_class", "published", "published", world.reviewer["name"]),
            ("archive", "published", "archived", world.admin["name"]),
        ]
        assert trail[1]["comment"] == "Bitte prüfen"
        assert trail[2]["comment"] == "Lizenz fehlt"
        assert trail[5]["details"] == {"from_access_class": "open", "to_access_class": "internal"}
        assert all(e["created"] for e in trail)

    def test_published_changes_are_recorded(self, world: World):
        pkg = world.published()
        act(world.editor, "package_patch", id=pkg["id"], title="Neuer Titel")
        act(world.reviewer, "udp_approve", id=pkg["id"])
        actions = [e["action"] for e in _trail(world, pkg)]
        assert actions[-2:] == ["propose_edit", "apply_edit"]
        apply = _trail(world, pkg)[-1]
        assert {"field": "title", "old": pkg["title"], "new": "Neuer Titel"} in apply["details"]["changes"]

    @pytest.mark.parametrize("viewer", ["outsider", "anonymous"])
    def test_only_members_see_it(self, world: World, viewer: str):
        pkg = world.published()
        user = None if viewer == "anonymous" else getattr(world, viewer)
        with pytest.raises(tk.NotAuthorized):
            act(user, "udp_audit_list", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized):
            act(user, "udp_audit_export", id=pkg["id"])

    def test_csv_export(self, world: World):
        pkg = world.published()
        out = act(world.member, "udp_audit_export", id=pkg["id"])
        assert out["filename"] == f"audit-{pkg['name']}.csv"
        rows = list(csv.DictReader(io.StringIO(out["csv"])))
        assert [r["action"] for r in rows] == ["create", "submit", "approve"]
        assert rows[2]["actor_name"] == world.reviewer["name"]
        assert rows[2]["from_state"] == "in_review" and rows[2]["to_state"] == "published"

    def test_csv_export_neutralises_formulas(self, world: World):
        # a comment that a spreadsheet would run as a formula (CSV injection)
        pkg = world.dataset()
        reasons = {
            "submit": '=HYPERLINK("http://evil.invalid","klick")',
            "reject": "+1+2",
            "approve": "@SUM(1+1)*cmd|' /C calc'!A0",
            "withdraw": "-2+3",
            "restore": "\t=1+1",
        }
        act(world.editor, "udp_submit", id=pkg["id"], reason=reasons["submit"])
        act(world.reviewer, "udp_reject", id=pkg["id"], reason=reasons["reject"])
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"], reason=reasons["approve"])
        act(world.editor, "udp_withdraw", id=pkg["id"], reason=reasons["withdraw"])
        act(world.editor, "udp_restore", id=pkg["id"], reason=reasons["restore"])
        act(world.editor, "udp_submit", id=pkg["id"], reason="\r=1+1")
        text = act(world.member, "udp_audit_export", id=pkg["id"])["csv"]
        rows = list(csv.reader(io.StringIO(text)))
        cells = [cell for row in rows for cell in row]
        assert [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
        comments = {r["action"]: r["comment"] for r in csv.DictReader(io.StringIO(text)) if r["comment"]}
        assert comments["reject"] == "'+1+2" and comments["withdraw"] == "'-2+3"
        assert comments["approve"] == "'" + reasons["approve"]
        # the audit trail itself keeps what was written
        assert {e["comment"] for e in _trail(world, pkg)} >= set(reasons.values())

    def test_no_action_edits_it(self, world: World):
        for name in ("udp_audit_update", "udp_audit_delete", "udp_audit_create", "udp_audit_patch"):
            with pytest.raises(KeyError):
                tk.get_action(name)

    def test_the_database_refuses_changes(self, world: World):
        pkg = world.dataset()
        for statement in ("UPDATE udp_governance_audit SET comment = 'forged'", "DELETE FROM udp_governance_audit"):
            with pytest.raises(sa.exc.InternalError, match="append-only"):
                model.Session.execute(sa.text(statement))
            model.Session.rollback()
        assert len(_trail(world, pkg)) == 1

    def test_dataset_page_shows_it_to_members_only(self, world: World, app):
        pkg = world.published()
        act(world.editor, "udp_withdraw", id=pkg["id"], reason="Personenbezug entdeckt")
        act(world.editor, "udp_restore", id=pkg["id"])
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.admin, "udp_approve", id=pkg["id"])
        member = {"Authorization": factories.APIToken(user=world.member["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=member).body
        assert "Prüfprotokoll" in body and "Personenbezug entdeckt" in body
        assert f"/dataset/{pkg['name']}/governance/audit.csv" in body
        outsider = {"Authorization": factories.APIToken(user=world.outsider["name"])["token"]}
        body = app.get(f"/dataset/{pkg['name']}", headers=outsider).body
        assert "Prüfprotokoll" not in body and "Personenbezug" not in body
        assert "Prüfprotokoll" not in app.get(f"/dataset/{pkg['name']}").body

    def test_csv_download(self, world: World, app):
        pkg = world.published()
        member = {"Authorization": factories.APIToken(user=world.member["name"])["token"]}
        res = app.get(f"/dataset/{pkg['name']}/governance/audit.csv", headers=member)
        assert res.headers["Content-Type"].startswith("text/csv")
        assert "approve" in res.body
        app.get(f"/dataset/{pkg['name']}/governance/audit.csv", status=403)
