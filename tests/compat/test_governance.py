"""The CKAN internals udp_governance uses through ``ckanext.udp.compat``: each
test fails loudly when a CKAN upgrade changes the internal (its name,
signature or column) or the wrapper stops doing its job on the real stack."""

from __future__ import annotations

import inspect
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat


def _params(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


@pytest.fixture
def org_world(with_plugins: None, clean_db: None, clean_index: None) -> dict[str, Any]:
    admin, editor, member, outsider = (factories.User() for _ in range(4))
    org = factories.Organization(
        users=[
            {"name": admin["name"], "capacity": "admin"},
            {"name": editor["name"], "capacity": "editor"},
            {"name": member["name"], "capacity": "member"},
        ]
    )
    return {"admin": admin, "editor": editor, "member": member, "outsider": outsider, "org": org}


def _public_dataset(world: dict[str, Any]) -> dict[str, Any]:
    """A published, open dataset (``private`` False)."""
    return public_dataset(owner_org=world["org"]["id"])


class TestAuthz:
    def test_users_role_for_group_or_org(self, org_world: dict[str, Any]):
        from ckan import authz

        assert _params(authz.users_role_for_group_or_org)[:2] == ["group_id", "user_name"]
        org = org_world["org"]["id"]
        assert compat.org_role(org, org_world["admin"]["name"]) == "admin"
        assert compat.org_role(org, org_world["editor"]["name"]) == "editor"
        assert compat.org_role(org, org_world["member"]["name"]) == "member"
        assert compat.org_role(org, org_world["outsider"]["name"]) is None

    def test_has_user_permission_for_group_or_org(self, org_world: dict[str, Any]):
        from ckan import authz

        assert _params(authz.has_user_permission_for_group_or_org)[:3] == ["group_id", "user_name", "permission"]
        org = org_world["org"]["id"]
        assert compat.has_org_permission(org, org_world["editor"]["name"], "update_dataset") is True
        assert compat.has_org_permission(org, org_world["member"]["name"], "update_dataset") is False
        assert compat.has_org_permission(org, org_world["outsider"]["name"], "read") is False


class TestPermissionLabels:
    def test_default_dataset_labels(self, org_world: dict[str, Any]):
        from ckan.lib.plugins import DefaultPermissionLabels

        assert callable(DefaultPermissionLabels().get_dataset_labels)
        org = org_world["org"]["id"]
        pkg = factories.Dataset(owner_org=org, private=True)
        assert compat.default_dataset_labels(model.Package.get(pkg["id"])) == [f"member-{org}"]
        public = _public_dataset(org_world)
        assert compat.default_dataset_labels(model.Package.get(public["id"])) == ["public"]

    def test_default_user_labels(self, org_world: dict[str, Any]):
        org = org_world["org"]["id"]
        editor = model.User.get(org_world["editor"]["id"])
        labels = compat.default_user_labels(editor)
        assert {"public", f"creator-{editor.id}", f"member-{org}"} <= set(labels)
        assert compat.default_user_labels(None) == ["public"]

    def test_get_permission_labels_is_the_governance_plugin(self, org_world: dict[str, Any]):
        from ckan.lib.plugins import get_permission_labels

        assert _params(get_permission_labels) == []
        editor = model.User.get(org_world["editor"]["id"])
        # the active IPermissionLabels plugin (udp_governance) adds the staff label
        assert "udp-internal" in compat.user_labels(editor)
        assert "udp-internal" not in compat.default_user_labels(editor)


class TestPackagePlugins:
    def test_lookup_package_plugin_tells_registered_types(self, with_plugins: None):
        from ckan.lib.plugins import lookup_package_plugin

        assert _params(lookup_package_plugin) == ["package_type"]
        assert compat.dataset_type_registered("harvest") is True  # ckanext-harvest's sources
        assert compat.dataset_type_registered(None) is True
        assert compat.dataset_type_registered("no-such-type-anywhere") is False

    def test_plugin_validate_with_the_types_update_schema(self, org_world: dict[str, Any]):
        from ckan.lib.plugins import plugin_validate

        assert _params(plugin_validate) == ["plugin", "context", "data_dict", "schema", "action"]
        pkg_dict = factories.Dataset(owner_org=org_world["org"]["id"])
        pkg = model.Package.get(pkg_dict["id"])
        context = {"user": org_world["editor"]["name"]}
        assert compat.validate_dataset_update(pkg, context, dict(pkg_dict)) == {}  # type: ignore[arg-type]
        errors = compat.validate_dataset_update(pkg, context, dict(pkg_dict, name="Kein gültiger Name!"))  # type: ignore[arg-type]
        assert "name" in errors
        # nothing was saved
        model.Session.rollback()
        assert model.Package.get(pkg_dict["id"]).name == pkg_dict["name"]


class TestSearch:
    def test_rebuild_and_remove(self, org_world: dict[str, Any]):
        from ckan.lib import search

        assert "package_id" in _params(search.rebuild)
        assert callable(search.index_for(model.Package).remove_dict)
        pkg_dict = _public_dataset(org_world)
        # changed in the database only: the index still has the old title
        model.Session.execute(
            sa.update(model.package_table)
            .where(model.package_table.c.id == pkg_dict["id"])
            .values(title="Neu indexiert")
        )
        model.repo.commit()

        def indexed_title() -> Any:
            found = tk.get_action("package_search")({"ignore_auth": True}, {"fq": f"id:{pkg_dict['id']}"})
            return found["results"][0]["title"] if found["count"] else None

        assert indexed_title() == pkg_dict["title"]
        compat.index_dataset(pkg_dict["id"])
        assert indexed_title() == "Neu indexiert"


class TestActivityLabels:
    def test_permission_labels_column_updated(self, org_world: dict[str, Any]):
        from ckanext.activity.model import Activity

        assert "permission_labels" in Activity.__table__.columns
        pkg = _public_dataset(org_world)
        before = model.Session.query(Activity).filter(Activity.object_id == pkg["id"]).all()
        assert before and all(a.permission_labels == ["public"] for a in before)
        changed = compat.relabel_activities(pkg["id"], ["member-x"])
        model.repo.commit()
        assert changed == len(before)
        model.Session.expire_all()  # the update went to the database, past the session's objects
        after = model.Session.query(Activity).filter(Activity.object_id == pkg["id"]).all()
        assert all(a.permission_labels == ["member-x"] for a in after)
