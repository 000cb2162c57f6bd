"""``/api/udp/openapi.json``: a valid OpenAPI 3 document whose every path is
a URL rule of the app, readable from other origins."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

URL = "/api/udp/openapi.json"


def test_openapi_document_is_valid_and_matches_the_app(app, with_plugins):
    res = app.get(URL, headers={"Origin": "http://app.example.org"})
    assert res.status_code == 200 and res.headers["Access-Control-Allow-Origin"] == "*"
    spec = res.json
    validate(spec)  # raises on an invalid document
    adapter = app.flask_app.url_map.bind("localhost")
    samples = {"format": "ttl", "id": "ein-datensatz", "kind": "observations", "fmt": "csv", "name": "katalog.csv"}
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: samples[m.group(1)], path)
        endpoint, _ = adapter.match(concrete, method="GET")
        assert endpoint.startswith(("udp_", "api.action")), (path, endpoint)
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def test_an_invalid_document_is_refused():
    import pytest
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    from ckanext.udp.api import openapi

    spec = openapi.document("http://x", "1")
    del spec["paths"]["/catalog.{format}"]["get"]["responses"]
    with pytest.raises(OpenAPIValidationError):
        validate(spec)
