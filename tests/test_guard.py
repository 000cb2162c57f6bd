"""Bad input that CKAN core answers with a 500 gets a clear 4xx, in the format
asked for (ckanext/udp/portal/guard.py); anything unexpected under /api/ answers a
JSON 500 without internals."""

from __future__ import annotations

import json

import ckan.logic as logic
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

# no clean_db: nothing here counts what is in the database, and each test
# creates what it needs under fresh names (a reset costs seconds per test)
pytestmark = pytest.mark.usefixtures("with_plugins")


def _nested(depth: int) -> str:
    return '{"id": ' + "[" * depth + "]" * depth + "}"


def _actions() -> list[str]:
    tk.get_action("status_show")  # fills the registry
    return sorted(logic._actions)


def _side_effect_free() -> list[str]:
    return [name for name in _actions() if getattr(logic._actions[name], "side_effect_free", False)]


def _api_error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.body[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = json.loads(resp.body)
    assert body["success"] is False
    return body["error"]


@pytest.fixture
def org():
    return factories.Organization()


class TestActionParameters:
    def test_a_repeated_id_is_refused(self, app, org):
        pkg = public_dataset(owner_org=org["id"])
        error = _api_error(app.get(f"/api/3/action/package_show?id={pkg['id']}&id=b"), 400)
        assert "id" in error and "einmal" in error["message"]  # German by default

    def test_an_id_list_in_a_json_body_is_refused(self, app):
        error = _api_error(app.post("/api/3/action/package_show", json={"id": ["a", "b"]}), 400)
        assert "id" in error

    def test_a_boolean_that_is_not_one_is_refused(self, app, org):
        for value in ("maybe", "", "2"):
            url = f"/api/3/action/organization_show?id={org['name']}&include_datasets={value}"
            assert "include_datasets" in _api_error(app.get(url), 400)
        for value in ("true", "False", "1", "no"):
            url = f"/api/3/action/organization_show?id={org['name']}&include_datasets={value}"
            assert app.get(url).status_code == 200

    def test_lists_that_actions_take_still_pass(self, app, org):
        pkg = public_dataset(owner_org=org["id"])
        resp = app.get(f"/api/3/action/package_search?fq_list=id:{pkg['id']}&fq_list=state:active")
        assert resp.status_code == 200 and json.loads(resp.body)["result"]["count"] == 1

    def test_no_read_action_answers_500_to_bad_parameters(self, app):
        # every side-effect-free action (the ones that read the query string)
        crashed = []
        for query in (
            "id=a&id=b",
            "name=a&name=b",
            "q=a&q=b",
            "limit=1&limit=2",
            "rows=1&rows=2",
            "id=x&include_datasets=maybe",
            "all_fields=maybe",
            "include_extras=vielleicht",
        ):
            crashed += [
                f"{name}?{query}"
                for name in _side_effect_free()
                if app.get(f"/api/3/action/{name}?{query}").status_code >= 500
            ]
        assert crashed == []


class TestNestedJson:
    def test_deep_json_is_a_400(self, app):
        for depth in (100_000, 5_000, 500):
            for action in ("package_show", "package_create"):
                resp = app.post(
                    f"/api/3/action/{action}", data=_nested(depth), headers={"Content-Type": "application/json"}
                )
                assert "verschachtelt" in _api_error(resp, 400)["message"], (depth, action)

    def test_deep_json_in_a_form_field_is_a_400(self, app):
        # CKAN reads a form whose only field is empty as the JSON in the field's name
        resp = app.post("/api/3/action/package_show", data={_nested(5_000): ""})
        assert "verschachtelt" in _api_error(resp, 400)["message"]

    def test_every_action_refuses_it(self, app):
        body = _nested(5_000)
        answers = {
            name: app.post(f"/api/3/action/{name}", data=body, headers={"Content-Type": "application/json"}).status_code
            for name in _actions()
        }
        assert {name: code for name, code in answers.items() if code != 400} == {}

    def test_moderate_nesting_still_reaches_the_action(self, app, org):
        pkg = public_dataset(owner_org=org["id"])
        resp = app.post("/api/3/action/package_show", json={"id": pkg["id"], "context": {"a": [[[[{"b": 1}]]]]}})
        assert resp.status_code == 200


class TestDatastore:
    @pytest.fixture
    def table(self, org):
        pkg = public_dataset(owner_org=org["id"], resources=[{"url": "", "format": "CSV", "udp_live_table": True}])
        resource_id = pkg["resources"][0]["id"]
        tk.get_action("datastore_create")(
            {"user": factories.Sysadmin()["name"]},
            {
                "resource_id": resource_id,
                "force": True,
                "fields": [{"id": "stadtteil", "type": "text"}, {"id": "einwohner", "type": "int"}],
                "records": [{"stadtteil": "Durlach", "einwohner": 31000}],
            },
        )
        return resource_id

    def test_sql_errors_are_a_409_with_the_reason(self, app, table):
        for sql, message in [
            ("SELECT 1/0", "division by zero"),
            ("SELECT 'zehn'::int", "invalid input syntax"),
            ("SELECT 2147483647::int + 1", "out of range"),
            (f'SELECT einwohner / 0 FROM "{table}"', "division by zero"),
        ]:
            resp = app.get("/api/3/action/datastore_search_sql", query_string={"sql": sql})
            error = _api_error(resp, 409)
            assert message in " ".join(error["sql"]), sql
            assert "blah" not in resp.body  # nothing of CKAN's wrapping query
        assert "sql" in _api_error(app.get("/api/3/action/datastore_search_sql"), 409)
        resp = app.get("/api/3/action/datastore_search_sql", query_string={"sql": f'SELECT stadtteil FROM "{table}"'})
        assert json.loads(resp.body)["result"]["records"] == [{"stadtteil": "Durlach"}]

    def test_bad_dump_parameters_are_a_plain_400(self, app, table):
        for query in ["format=xlsx", "format=CSV", "format=parquet", "format=", "limit=zehn", "offset=-"]:
            resp = app.get(f"/datastore/dump/{table}?{query}")
            assert resp.status_code == 400, query
            assert resp.headers["Content-Type"].startswith("text/plain"), query
            if query.startswith("format"):
                assert "csv, tsv, json, xml" in resp.body
        for fmt in ("csv", "json"):
            resp = app.get(f"/datastore/dump/{table}?format={fmt}")
            assert resp.status_code == 200 and "Durlach" in resp.body


class TestLastLineOfDefence:
    @pytest.fixture
    def boom_app(self, app):
        def boom():
            raise RuntimeError("secret internals: /srv/app/settings.py password=hunter2")

        app.flask_app.add_url_rule("/api/udp-test/boom", "udp_test_boom", boom)
        app.flask_app.add_url_rule("/udp-test/boom", "udp_test_boom_page", boom)
        return app

    def test_an_unexpected_error_under_api_is_a_json_500_without_internals(self, boom_app):
        resp = boom_app.get("/api/udp-test/boom")
        error = _api_error(resp, 500)
        assert error["__type"] == "Internal Server Error"
        for leak in ("secret", "settings.py", "hunter2", "Traceback", "RuntimeError"):
            assert leak not in resp.body

    def test_pages_get_the_german_error_page_without_internals(self, boom_app):
        # outside /api/ the guard does not answer; serving.py's error page does
        resp = boom_app.get("/udp-test/boom", status=500)
        assert "Das hat leider nicht geklappt" in resp.body
        for leak in ("secret", "settings.py", "hunter2", "Traceback", "RuntimeError"):
            assert leak not in resp.body

    def test_http_errors_under_api_are_json(self, app):
        assert _api_error(app.get("/api/3/nothing-here"), 404)["__type"] == "Not Found"
