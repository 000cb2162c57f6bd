"""States, transitions and per-role authorization of udp_governance."""

from __future__ import annotations

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from govworld import World, act

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import action, auth


class TestTransitionTable:
    """The actions and auth functions of the transitions come from one table."""

    def test_each_transition_of_the_table_has_its_action_and_auth_function(self):
        actions, auths = action.get_actions(), auth.get_auth_functions()
        for name in wf.ACTIONS:
            assert f"udp_{name}" in actions and f"udp_{name}" in auths
            # four-eyes transitions hold for sysadmins too
            assert bool(getattr(auths[f"udp_{name}"], "auth_sysadmins_check", False)) is wf.four_eyes_applies(name)
        reasons = {t.action for t in wf.TRANSITIONS if t.reason_required}
        for name in wf.ACTIONS:
            with pytest.raises(tk.ValidationError) as e:
                actions[f"udp_{name}"]({"user": ""}, {"id": "", "reason": ""})
            assert ("reason" in e.value.error_dict) is (name in reasons)

    def test_the_plugin_registers_its_own_actions_and_chained_core_actions_only(self):
        actions, auths = action.get_actions(), auth.get_auth_functions()
        own = {name for name in actions if name.startswith("udp_")}
        assert own == set(auths)  # every action of its own has its auth function
        for name in set(actions) - own:
            assert getattr(actions[name], "chained_action", False), name


class TestCreate:
    def test_new_dataset_is_a_private_draft(self, world: World):
        pkg = world.dataset()
        assert pkg["private"] is True
        assert pkg["udp_workflow_state"] == "draft"
        assert pkg["udp_access_class"] == "open"
        assert model.Package.get(pkg["id"]).private is True

    def test_private_false_is_overridden_for_a_draft(self, world: World):
        pkg = world.dataset(private=False)
        assert pkg["private"] is True

    def test_state_cannot_be_set_on_create(self, world: World):
        with pytest.raises(tk.ValidationError) as e:
            act(
                world.editor,
                "package_create",
                name="versuch",
                owner_org=world.org["id"],
                udp_workflow_state="published",
            )
        assert "udp_workflow_state" in e.value.error_dict
        assert "udp_submit" in e.value.error_dict["udp_workflow_state"][0]

    def test_bad_access_class_on_create_is_refused(self, world: World):
        with pytest.raises(tk.ValidationError) as e:
            world.dataset(udp_access_class="secret")
        assert "udp_access_class" in e.value.error_dict

    def test_system_callers_may_start_elsewhere(self, world: World):
        # factories call actions as the system (ignore_auth), like harvesters
        pkg = world.dataset(udp_workflow_state="published")
        assert pkg["udp_workflow_state"] == "published" and pkg["private"] is False

    def test_access_class_can_be_given_on_create(self, world: World):
        pkg = world.dataset(udp_access_class="restricted")
        assert pkg["udp_access_class"] == "restricted"

    def test_state_cannot_be_changed_on_update(self, world: World):
        pkg = world.dataset()
        with pytest.raises(tk.ValidationError) as e:
            act(world.editor, "package_patch", id=pkg["id"], udp_workflow_state="published")
        assert "udp_workflow_state" in e.value.error_dict
        assert world.state(pkg) == "draft"

    def test_access_class_cannot_be_changed_on_update(self, world: World):
        pkg = world.dataset()
        with pytest.raises(tk.ValidationError) as e:
            act(world.editor, "package_patch", id=pkg["id"], udp_access_class="restricted")
        assert "udp_set_access_class" in e.value.error_dict["udp_access_class"][0]

    def test_round_trip_of_show_and_update_is_accepted(self, world: World):
        pkg = world.dataset()
        shown = act(world.editor, "package_show", id=pkg["id"])
        shown["title"] = "Neuer Titel"
        out = act(world.editor, "package_update", **shown)
        assert out["title"] == "Neuer Titel"
        assert out["udp_workflow_state"] == "draft"

    def test_private_cannot_be_switched_off_on_update(self, world: World):
        pkg = world.dataset()
        out = act(world.editor, "package_patch", id=pkg["id"], private=False)
        assert out["private"] is True


class TestTransitions:
    def test_full_life_cycle(self, world: World):
        pkg = world.dataset()
        assert act(world.editor, "udp_submit", id=pkg["id"])["state"] == "in_review"
        out = act(world.reviewer, "udp_approve", id=pkg["id"])
        assert out["state"] == "published" and out["private"] is False
        assert act(world.admin, "udp_archive", id=pkg["id"])["state"] == "archived"
        assert act(world.admin, "udp_restore", id=pkg["id"])["state"] == "published"
        out = act(world.editor, "udp_withdraw", id=pkg["id"], reason="Fehler in den Daten")
        assert out["state"] == "withdrawn" and out["private"] is True
        assert act(world.editor, "udp_restore", id=pkg["id"])["state"] == "draft"

    def test_reject_needs_a_reason_and_returns_to_draft(self, world: World):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        with pytest.raises(tk.ValidationError) as e:
            act(world.reviewer, "udp_reject", id=pkg["id"])
        assert "reason" in e.value.error_dict
        assert world.state(pkg) == "in_review"
        assert act(world.reviewer, "udp_reject", id=pkg["id"], reason="Lizenz fehlt")["state"] == "draft"

    def test_withdraw_needs_a_reason(self, world: World):
        pkg = world.published()
        with pytest.raises(tk.ValidationError):
            act(world.editor, "udp_withdraw", id=pkg["id"], reason="")
        assert world.state(pkg) == "published"

    @pytest.mark.parametrize(
        "action,state",
        [
            ("approve", "draft"),
            ("archive", "draft"),
            ("restore", "draft"),
            ("withdraw", "draft"),
            ("reject", "draft"),
        ],
    )
    def test_transition_from_a_wrong_state_is_refused(self, world: World, action: str, state: str):
        pkg = world.dataset()
        with pytest.raises(tk.ValidationError) as e:
            act(world.sysadmin, f"udp_{action}", id=pkg["id"], reason="x")
        assert "state" in e.value.error_dict
        assert world.state(pkg) == state

    def test_unknown_dataset(self, world: World):
        with pytest.raises(tk.ObjectNotFound):
            act(world.editor, "udp_submit", id="does-not-exist")


# who may do what: (action, role -> allowed), each from the action's source state
ROLES = ("sysadmin", "admin", "reviewer", "editor", "member", "outsider", "anonymous")
MATRIX = {
    "submit": {"sysadmin", "admin", "reviewer", "editor"},
    "approve": {"sysadmin", "admin", "reviewer"},
    "reject": {"sysadmin", "admin", "reviewer"},
    "withdraw": {"sysadmin", "admin", "reviewer", "editor"},
    "archive": {"sysadmin", "admin", "reviewer"},
    "restore_archived": {"sysadmin", "admin", "reviewer"},
    "restore_withdrawn": {"sysadmin", "admin", "reviewer", "editor"},
}


def _prepare(world: World, action: str) -> dict:
    # datasets are created and submitted by editor2, so four-eyes does not
    # interfere with the role check of the other users
    pkg = world.dataset(by=world.editor2)
    if action == "submit":
        return pkg
    act(world.editor2, "udp_submit", id=pkg["id"])
    if action in ("approve", "reject"):
        return pkg
    act(world.admin, "udp_approve", id=pkg["id"])
    if action == "restore_archived":
        act(world.admin, "udp_archive", id=pkg["id"])
    if action == "restore_withdrawn":
        act(world.admin, "udp_withdraw", id=pkg["id"], reason="test")
    return pkg


class TestRoles:
    @pytest.mark.parametrize("action", sorted(MATRIX))
    @pytest.mark.parametrize("role", ROLES)
    def test_role(self, world: World, action: str, role: str):
        pkg = _prepare(world, action)
        before = world.state(pkg)
        user = None if role == "anonymous" else getattr(world, role)
        name = action.split("_")[0]
        allowed = role in MATRIX[action]
        try:
            act(user, f"udp_{name}", id=pkg["id"], reason="Begründung")
            done = True
        except tk.NotAuthorized:
            done = False
        assert done is allowed, f"{role} {'should' if allowed else 'should not'} {action}"
        assert (world.state(pkg) != before) is allowed

    def test_set_access_class_editor_on_draft_reviewer_on_published(self, world: World):
        pkg = world.dataset()
        act(world.editor, "udp_set_access_class", id=pkg["id"], access_class="internal")
        with pytest.raises(tk.NotAuthorized):
            act(world.member, "udp_set_access_class", id=pkg["id"], access_class="open")
        act(world.editor, "udp_set_access_class", id=pkg["id"], access_class="open")
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized):
            act(world.editor, "udp_set_access_class", id=pkg["id"], access_class="restricted")
        out = act(world.reviewer, "udp_set_access_class", id=pkg["id"], access_class="restricted")
        assert out["access_class"] == "restricted" and out["private"] is True

    def test_bad_access_class_is_refused(self, world: World):
        pkg = world.dataset()
        with pytest.raises(tk.ValidationError):
            act(world.editor, "udp_set_access_class", id=pkg["id"], access_class="geheim")


class TestFourEyes:
    def test_submitter_cannot_approve(self, world: World):
        pkg = world.dataset(by=world.reviewer)
        act(world.reviewer, "udp_submit", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized) as e:
            act(world.reviewer, "udp_approve", id=pkg["id"])
        assert "Four-eyes" in str(e.value) or "Vier-Augen" in str(e.value)
        assert world.state(pkg) == "in_review"
        act(world.admin, "udp_approve", id=pkg["id"])
        assert world.state(pkg) == "published"

    def test_last_editor_cannot_approve(self, world: World):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "package_patch", id=pkg["id"], notes="vom Prüfer geändert")
        with pytest.raises(tk.NotAuthorized) as e:
            act(world.reviewer, "udp_approve", id=pkg["id"])
        assert "Four-eyes" in str(e.value) or "Vier-Augen" in str(e.value)

    def test_sysadmin_is_bound_by_four_eyes_too(self, world: World):
        pkg = world.dataset(by=world.sysadmin)
        act(world.sysadmin, "udp_submit", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized):
            act(world.sysadmin, "udp_approve", id=pkg["id"])

    def test_four_eyes_can_be_switched_off_per_organization(self, world: World):
        with pytest.raises(tk.NotAuthorized):
            act(world.admin, "udp_org_settings_update", organization_id=world.org["id"], four_eyes=False)
        act(world.sysadmin, "udp_org_settings_update", organization_id=world.org["id"], four_eyes=False)
        assert act(world.member, "udp_org_settings_show", organization_id=world.org["id"])["four_eyes"] is False
        pkg = world.dataset(by=world.reviewer)
        act(world.reviewer, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        assert world.state(pkg) == "published"

    def test_four_eyes_message_is_translated(self, world: World, app):
        pkg = world.dataset(by=world.reviewer)
        act(world.reviewer, "udp_submit", id=pkg["id"])
        token = factories.APIToken(user=world.reviewer["name"])["token"]
        res = app.post(
            "/api/3/action/udp_approve", json={"id": pkg["id"]}, headers={"Authorization": token}, status=403
        )
        assert "Vier-Augen-Prinzip" in res.json["error"]["message"]


class TestReviewers:
    def test_designated_reviewer_must_be_member(self, world: World):
        with pytest.raises(tk.ValidationError):
            act(world.admin, "udp_reviewer_add", organization_id=world.org["id"], user=world.outsider["name"])

    def test_only_admins_manage_reviewers(self, world: World):
        with pytest.raises(tk.NotAuthorized):
            act(world.editor, "udp_reviewer_add", organization_id=world.org["id"], user=world.editor2["name"])

    def test_list_and_remove(self, world: World):
        listed = act(world.member, "udp_reviewer_list", organization_id=world.org["id"])
        # admins by role (the site user created the organization, so it is one too)
        assert {r["user"] for r in listed if r["admin"]} >= {world.admin["name"]}
        assert {r["user"] for r in listed if r["designated"]} == {world.reviewer["name"]}
        assert world.editor["name"] not in {r["user"] for r in listed}
        act(world.admin, "udp_reviewer_remove", organization_id=world.org["id"], user=world.reviewer["name"])
        assert not wf.is_reviewer(model.User.get(world.reviewer["id"]), world.org["id"])
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        with pytest.raises(tk.NotAuthorized):
            act(world.reviewer, "udp_approve", id=pkg["id"])


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_an_invented_dataset_type_cannot_bypass_review(app):
    from ckan.tests import factories as f

    editor = f.User()
    org = f.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    with pytest.raises(tk.ValidationError) as raised:
        tk.get_action("package_create")(
            {"user": editor["name"]}, {"name": "umgehung", "type": "x", "owner_org": org["id"], "private": False}
        )
    assert "type" in raised.value.error_dict
    assert tk.get_action("package_search")({}, {"q": "name:umgehung"})["count"] == 0
