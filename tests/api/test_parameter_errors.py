"""Every parameter of the catalog, dump, feed, change-feed and sensor
endpoints, with bad values: a 400 (404 for an unknown path value) in the
format asked for (JSON for the API, RDF or plain text for the catalog, plain
text for feeds and sensor CSV), never an HTML page and never a 500.

The plugin endpoints and their parameters are taken from the OpenAPI document
(so a new parameter is enumerated without editing this test); the Atom feeds,
which are CKAN's, are listed here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ckan.tests import factories
from udp_testing import public_dataset, sensor_series

from ckanext.udp.api import openapi

BAD_INTEGERS = ["abc", "0", "-1", "1.5", "99999999999999999999999"]  # empty: the default
BAD_TIMES = ["gestern", "2026-13-45", "0001-01-01T00:00:00+01:00"]
BAD_TOKENS = ["kaputt", "%00", "x" * 600, "eyJ2IjoxLCJzIjotMX0"]  # the last: {"v":1,"s":-1}
BAD_PATH = "gibt-es-nicht"


def _bad_values(param: dict[str, Any]) -> tuple[list[str], bool]:
    """Bad values for a parameter and whether each must be a 400 (else: any
    4xx that is not HTML, e.g. a device name that matches nothing is fine)."""
    schema = param.get("schema", {})
    if schema.get("type") == "integer":
        return BAD_INTEGERS, True
    if schema.get("format") == "date-time":
        return BAD_TIMES, True
    if param["name"] in ("since", "after"):
        return BAD_TOKENS, True
    return ["a\x00b", "x" * 5000], False


def _format_of(path: str, values: dict[str, str]) -> str:
    fmt = values.get("format") or values.get("fmt") or ""
    if path.startswith("/api/"):
        return "json"
    return {"ttl": "rdf", "rdf": "rdf", "jsonld": "rdf", "json": "json", "csv": "text"}.get(fmt, "text")


def _assert_answer(res: Any, expected: str, what: str) -> None:
    ctype = res.headers.get("Content-Type", "")
    body = res.get_data(as_text=True)
    assert res.status_code < 500, (what, res.status_code, body[:300])
    assert "text/html" not in ctype and "<html" not in body.lower()[:500], (what, ctype, body[:300])
    if expected == "json":
        assert ctype.startswith("application/json"), (what, ctype)
        assert isinstance(res.json, dict)
    elif expected == "rdf":
        assert ctype.split(";")[0] in ("text/turtle", "application/rdf+xml", "application/ld+json", "text/plain"), (
            what,
            ctype,
        )
    elif expected == "atom":
        assert ctype.startswith("application/atom+xml"), (what, ctype)
    else:
        assert ctype.startswith("text/plain") or ctype.startswith("text/csv"), (what, ctype)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_every_parameter_error_is_a_4xx_in_the_format_asked_for(app, tmp_path):
    org = factories.Organization()
    pkg = public_dataset(owner_org=org["id"], title="Fehlerprobe")
    sensor_series(tmp_path, pkg)
    spec = openapi.document("http://test.ckan.net", "1")
    checked = 0
    for path, item in spec["paths"].items():
        operation = item["get"]
        params = operation.get("parameters", [])
        path_params = [p for p in params if p["in"] == "path"]
        combos: list[dict[str, str]] = [{}]
        for p in path_params:
            enum = p["schema"].get("enum") or [pkg["name"]]
            combos = [dict(c, **{p["name"]: v}) for c in combos for v in enum]
        for values in combos:
            concrete = re.sub(r"\{(\w+)\}", lambda m, v=values: v[m.group(1)], path)  # type: ignore[misc]
            expected = _format_of(path, values)
            # every query parameter with bad values
            for p in (p for p in params if p["in"] == "query"):
                bad, must_400 = _bad_values(p)
                for value in bad:
                    what = f"{concrete}?{p['name']}={value[:40]!r}"
                    res = app.get(concrete, query_string={p["name"]: value})
                    _assert_answer(res, expected, what)
                    if must_400:
                        assert res.status_code == 400, (what, res.status_code, res.get_data(as_text=True)[:300])
                    checked += 1
            # every path parameter with a value that names nothing
            for p in path_params:
                wrong = dict(values, **{p["name"]: BAD_PATH})
                concrete_wrong = re.sub(r"\{(\w+)\}", lambda m, v=wrong: v[m.group(1)], path)  # type: ignore[misc]
                res = app.get(concrete_wrong)
                assert res.status_code in (400, 404), (concrete_wrong, res.status_code)
                assert "text/html" not in res.headers.get("Content-Type", ""), concrete_wrong
                checked += 1
    # dumps: a name that tries to leave the folder
    res = app.get("/api/udp/dumps/..%2Fmanifest.json")
    assert res.status_code == 404 and "text/html" not in res.headers["Content-Type"]

    # CKAN's Atom feeds (not in the OpenAPI document)
    feeds = ["/feeds/dataset.atom", "/feeds/custom.atom", f"/feeds/organization/{org['name']}.atom"]
    for feed in feeds:
        for value in BAD_INTEGERS[:5]:
            res = app.get(feed, query_string={"page": value})
            assert res.status_code == 400, (feed, value, res.status_code)
            _assert_answer(res, "text", f"{feed}?page={value}")
            checked += 1
    for args in ({"sort": "title; drop"}, {"sort": "nichtda"}, {"q": 'title:("'}, {"tags": 'a"b'}, {"q": "x" * 5000}):
        res = app.get("/feeds/custom.atom", query_string=args)
        _assert_answer(res, "text" if res.status_code != 200 else "atom", f"custom.atom {args}")
        assert res.status_code in (200, 400), (args, res.status_code)
        if "sort" in args:
            assert res.status_code == 400, (args, res.status_code)
        checked += 1
    for feed in (
        f"/feeds/organization/{BAD_PATH}.atom",
        f"/feeds/group/{BAD_PATH}.atom",
        f"/feeds/tag/{BAD_PATH}.atom",
    ):
        res = app.get(feed)
        assert res.status_code in (200, 404), (feed, res.status_code)
        assert "text/html" not in res.headers.get("Content-Type", ""), feed
    assert checked > 150
