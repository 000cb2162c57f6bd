"""The CKAN internals the udp (portal), udp_api, udp_catalog and udp_tables
plugins use, each through ``ckanext.udp.compat`` (block ``core``): every test
fails loudly when a CKAN (or extension) upgrade changes the internal."""

from __future__ import annotations

import inspect

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat


def _parameters(func) -> list[str]:
    return list(inspect.signature(func).parameters)


class TestPermissionLabels:
    def test_the_internal_still_exists(self):
        from ckan.lib.plugins import get_permission_labels

        labels = get_permission_labels()
        assert _parameters(labels.get_dataset_labels) == ["dataset_obj"]
        assert _parameters(labels.get_user_dataset_labels) == ["user_obj"]

    @pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
    def test_a_public_dataset_has_the_label_anonymous_search_filters_on(self):
        pkg = model.Package.get(public_dataset(owner_org=factories.Organization()["id"])["id"])
        assert compat.PUBLIC_LABEL in compat.dataset_permission_labels(pkg)
        assert compat.is_public(pkg)
        # the same question an anonymous package_search answers
        found = tk.get_action("package_search")({"user": "", "auth_user_obj": None}, {"q": f"id:{pkg.id}"})
        assert found["count"] == 1

    @pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
    def test_a_private_draft_is_not_public(self):
        org = factories.Organization()
        pkg = model.Package.get(factories.Dataset(owner_org=org["id"], private=True)["id"])
        assert compat.PUBLIC_LABEL not in compat.dataset_permission_labels(pkg)
        assert not compat.is_public(pkg)
        found = tk.get_action("package_search")({"user": "", "auth_user_obj": None}, {"q": f"id:{pkg.id}"})
        assert found["count"] == 0


class TestDataError:
    def test_the_internal_still_exists(self):
        from ckan.lib.navl.dictization_functions import DataError

        error = compat.data_error("kaputt")
        assert isinstance(error, DataError)
        assert "kaputt" in str(error)

    @pytest.mark.usefixtures("with_plugins")
    def test_the_action_api_answers_it_with_400(self, app):
        # udp_changes raises it for a cursor it cannot read
        res = app.get("/api/3/action/udp_changes", query_string={"since": "not-a-cursor"})
        assert res.status_code == 400, res.body[:300]
        assert res.json["success"] is False


class TestApiToken:
    def test_the_internal_still_exists(self):
        from ckan.lib.api_token import get_user_from_token

        assert _parameters(get_user_from_token) == ["token", "update_access_time"]

    @pytest.mark.usefixtures("with_plugins", "clean_db")
    def test_it_finds_the_tokens_user_without_touching_its_access_time(self):
        user = factories.User()
        token = tk.get_action("api_token_create")(
            {"ignore_auth": True, "user": user["name"]}, {"user": user["name"], "name": "compat"}
        )["token"]
        found = compat.user_from_api_token(token)
        assert found is not None and found.id == user["id"]
        assert model.Session.query(model.ApiToken).filter_by(user_id=user["id"]).one().last_access is None
        assert compat.user_from_api_token("not-a-token") is None


class TestDataStoreDump:
    def test_the_internals_still_exist(self):
        formats = compat.datastore_dump_formats()
        assert {"csv", "tsv", "json", "xml"} <= set(formats)
        schema = compat.datastore_dump_schema()
        # the guard drops ``format`` and validates the rest with CKAN's own schema
        assert {"format", "limit", "offset", "q"} <= set(schema)

    @pytest.mark.usefixtures("with_plugins")
    def test_the_guard_answers_a_bad_dump_format_with_400(self, app):
        res = app.get("/datastore/dump/00000000-0000-0000-0000-000000000000", query_string={"format": "docx"})
        assert res.status_code == 400
        assert "csv" in res.body


class TestDcat:
    def test_the_internals_still_exist(self):
        from ckanext.dcat import utils

        assert _parameters(utils.read_dataset_page) == ["_id", "_format"]
        assert _parameters(utils.catalog_uri) == []

    @pytest.mark.usefixtures("with_plugins")
    def test_the_catalog_uri_is_the_sites(self):
        expected = (tk.config.get("ckanext.dcat.base_uri") or tk.config.get("ckan.site_url")).rstrip("/")
        assert compat.dcat_catalog_uri().rstrip("/") == expected

    @pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
    def test_the_dataset_page_serves_rdf(self, app):
        pkg = public_dataset(owner_org=factories.Organization()["id"])
        res = app.get(f"/dataset/{pkg['name']}.ttl")
        assert res.status_code == 200
        assert "dcat:Dataset" in res.body


class TestWsgi:
    def test_the_internals_still_exist(self):
        from ckan.cli import load_config
        from ckan.config.middleware import make_app

        assert _parameters(load_config) == ["ini_path"]
        assert _parameters(make_app) == ["conf"]
