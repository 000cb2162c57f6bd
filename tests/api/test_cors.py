"""CORS: every public read channel answers GET, HEAD and their preflight to
another origin; nothing answers a write to another origin; never with
credentials. The test walks every URL rule of the app, so a new endpoint is
either classified here or the test fails."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from apiworld import Stewards
from ckan.tests import factories

from ckanext.udp.api import cors

ORIGIN = "http://app.example.org:8080"

# Public read channels, by endpoint: machine-readable data for anyone.
READ_CHANNELS = {
    "api.action": "Action API (GET calls are side-effect free)",
    "api.get_api": "API version document",
    "datastore.dump": "DataStore table downloads",
    "resource.download": "resource downloads",
    "dataset_resource.download": "resource downloads (dataset type route)",
    "file.download": "files of resources (CKAN file storage)",
    "file.public_download": "public files",
    "feeds.general": "Atom feed",
    "feeds.custom": "Atom feed",
    "feeds.group": "Atom feed",
    "feeds.organization": "Atom feed",
    "feeds.tag": "Atom feed",
    "udp_catalog.catalog": "DCAT catalog",
    "udp_catalog.dataset": "dataset RDF",
    "udp_sensors.download": "sensor series downloads",
    "udp_api.openapi": "OpenAPI description of the plugin endpoints",
    "udp_api.dumps": "list of the bulk downloads",
    "udp_api.dump": "bulk downloads",
}

# Everything else, with the reason it is no read channel for other origins.
PAGES = "HTML pages and forms for people in the browser"
NOT_READ_BLUEPRINTS = {
    "home": PAGES,
    "dataset": PAGES,
    "group": PAGES,
    "organization": PAGES,
    "user": PAGES,
    "dashboard": PAGES,
    "admin": PAGES,
    "activity": PAGES,
    "util": PAGES,
    "harvest": PAGES,
    "harvester": PAGES,
    "harvest_resource": PAGES,
    "udp_governance": PAGES + " (stewards only)",
    "udp_dcatde": PAGES,
    "udp_portal": PAGES + " (legal pages)",
    "static": "the portal's own static files",
    "webassets": "the portal's own assets",
    "datatablesview": "POST-only helper of the table preview",
    "udp_harvest": PAGES + " (harvest dashboard, sysadmins)",
    "xloader": PAGES + " (upload status, stewards)",
    "udp_transparency": PAGES + " (transparency portal drift page, sysadmins)",
    "udp_sozialatlas": PAGES + " (the social atlas)",
    "udp_grid": PAGES + " (the grid preview's image and statistics for its own resource page)",
    "udp_klima": PAGES + " (the Klimadashboard; a tile's daten.json/.csv feed its own page, the same "
    "numbers are in the DataStore API for other origins)",
}
NOT_READ_ENDPOINTS = {
    "api.i18n_js_translations": "translations of the portal's own scripts",
    "api.dataset_autocomplete": "form helper",
    "api.format_autocomplete": "form helper",
    "api.group_autocomplete": "form helper",
    "api.organization_autocomplete": "form helper",
    "api.tag_autocomplete": "form helper",
    "api.user_autocomplete": "form helper (logged in)",
    "resource.read": PAGES,
    "udp_api.developers": PAGES + " (the developer page)",
    "resource.view": PAGES,
    "resource.views": PAGES,
    "resource.new": PAGES,
    "resource.edit": PAGES,
    "resource.edit_view": PAGES,
    "resource.delete": PAGES,
    "dataset_resource.read": PAGES,
    "dataset_resource.view": PAGES,
    "dataset_resource.views": PAGES,
    "dataset_resource.new": PAGES,
    "dataset_resource.edit": PAGES,
    "dataset_resource.edit_view": PAGES,
    "dataset_resource.delete": PAGES,
    "datastore.api_info": PAGES,
    "datastore.dictionary": PAGES + " (data dictionary form)",
    "file.trusted_download": "signed one-off links",
    "udp_sensors.webhook": "write: sensor uplinks (shared secret)",
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def classify(endpoint: str) -> str | None:
    if endpoint in READ_CHANNELS:
        return "read"
    if endpoint in NOT_READ_ENDPOINTS or endpoint.split(".", 1)[0] in NOT_READ_BLUEPRINTS:
        return "other"
    return None


def rules(app: Any) -> list[Any]:
    return list(app.flask_app.url_map.iter_rules())


@pytest.fixture
def sample(stewards: Stewards) -> dict[str, Any]:
    pkg = stewards.draft(title="CORS-Probe", tags=[{"name": "probe"}])
    res = tk.get_action("datastore_create")(
        {"user": stewards.sysadmin["name"]},
        {
            "resource": {"package_id": pkg["id"], "name": "Tabelle"},
            "fields": [{"id": "a", "type": "int"}],
            "records": [{"a": 1}],
            "force": True,
        },
    )
    stewards.publish(pkg)
    return {
        "ver": 3,
        "logic_function": "package_search",
        "id": pkg["name"],
        "_id": pkg["name"],
        "resource_id": res["resource_id"],
        "_format": "ttl",
        "kind": "observations",
        "fmt": "csv",
        "filename": "tabelle.csv",
        "lang": "de",
        "storage_name": "default",
        "location": "x.csv",
        "token": "x",
        "view_id": "x",
        "activity_id": "x",
        "resource_view_id": "x",
        "path": "x",
        "source": "x",
        "action": "x",
    }


def build(rule: Any, values: dict[str, Any]) -> str:
    args = {name: values.get(name, "x") for name in rule.arguments}
    if "ver" in rule.arguments:
        # the rule's own converter bounds (1-3 for some, 3 only for others)
        args["ver"] = rule._converters["ver"].max if hasattr(rule._converters["ver"], "max") else 3
    return rule.build(args, append_unknown=False)[1]


def test_every_url_rule_is_classified_and_the_plugin_agrees(app, with_plugins):
    unclassified = sorted({r.endpoint for r in rules(app) if classify(r.endpoint) is None})
    assert unclassified == [], f"new endpoints: classify them in READ_CHANNELS or NOT_READ_*: {unclassified}"
    for rule in rules(app):
        assert cors.is_read_channel(rule.endpoint) == (classify(rule.endpoint) == "read"), rule.endpoint


def _no_credentials(res: Any) -> None:
    assert "Access-Control-Allow-Credentials" not in res.headers


def test_read_channels_answer_other_origins(app, sample):
    checked = set()
    for rule in rules(app):
        if classify(rule.endpoint) != "read":
            continue
        url = build(rule, sample)
        # (a sensor download without a series is a 404: readable all the same)
        for method in ("GET", "HEAD"):
            res = app.client.open(url, method=method, headers={"Origin": ORIGIN})
            assert res.status_code < 500, (url, res.status_code)
            assert res.headers.get("Access-Control-Allow-Origin") == "*", (method, url, res.status_code)
            assert "ETag" in res.headers["Access-Control-Expose-Headers"]
            _no_credentials(res)
        pre = app.options(
            url,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert pre.status_code < 300, (url, pre.status_code)
        assert pre.headers.get("Access-Control-Allow-Origin") == "*", url
        methods = {m.strip() for m in pre.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "HEAD", "OPTIONS"}, url
        assert pre.headers["Access-Control-Allow-Headers"] == "if-none-match"
        _no_credentials(pre)
        # credentials in a header (API token, Authorization) are not allowed across origins
        token = tk.config.get("apitoken_header_name")
        for header in ("Authorization", token, "Cookie"):
            pre = app.options(
                url,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": header,
                },
            )
            assert "Access-Control-Allow-Origin" not in pre.headers, (url, header)
        checked.add(rule.endpoint)
    assert checked == set(READ_CHANNELS)


def test_the_data_is_what_anonymous_visitors_see(app, sample, stewards: Stewards):
    hidden = stewards.draft(title="Entwurf")
    sysadmin = factories.SysadminWithToken()
    res = app.get("/api/3/action/package_search", headers={"Origin": ORIGIN})
    ids = {d["id"] for d in res.json["result"]["results"]}
    assert hidden["id"] not in ids and len(ids) == 1
    # a token-authenticated read is possible from servers, not granted to browsers
    res = app.get(
        f"/api/3/action/package_show?id={hidden['id']}", headers={"Origin": ORIGIN, "Authorization": sysadmin["token"]}
    )
    assert res.status_code == 200 and res.headers["Access-Control-Allow-Origin"] == "*"
    _no_credentials(res)  # a browser refuses it to a page: credentials need Allow-Credentials


def test_writes_get_no_cors_allowance(app, sample, monkeypatch):
    # answer as production does (an error page) instead of raising into the test
    monkeypatch.setitem(app.flask_app.config, "PROPAGATE_EXCEPTIONS", False)
    checked = 0
    for rule in rules(app):
        methods = rule.methods & WRITE_METHODS
        if not methods:
            continue
        url = build(rule, {**sample, "logic_function": "package_create"})
        for method in sorted(methods):
            pre = app.options(
                url,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert not any(h.startswith("Access-Control-Allow") for h in pre.headers.keys()), (method, url)
            # a "simple" cross-origin POST with a session cookie: the answer is not readable
            res = app.post(
                url,
                data="x=1",
                headers={
                    "Origin": ORIGIN,
                    "Cookie": "ckan=forged",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            assert not any(h.startswith("Access-Control-Allow") for h in res.headers.keys()), (method, url)
            checked += 1
    assert checked >= 30
    # GET of an action that changes things (CKAN marks some side-effect-free) or of a write
    for name in ("activity_delete", "harvest_source_reindex", "package_create", "no_such_action"):
        res = app.get(f"/api/3/action/{name}", headers={"Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in res.headers, name
        pre = app.options(f"/api/3/action/{name}", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
        assert "Access-Control-Allow-Origin" not in pre.headers, name
    # the read action over POST is a POST: no allowance either
    res = app.post("/api/3/action/package_search", json={}, headers={"Origin": ORIGIN})
    assert res.status_code == 200 and "Access-Control-Allow-Origin" not in res.headers
