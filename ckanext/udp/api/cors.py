"""CORS for the public read channels, and only for them.

A browser app on another origin may read (GET, HEAD, and the OPTIONS
preflight for them) the Action API, the DataStore dumps, the resource
downloads, the feeds, the DCAT catalog, the sensor downloads and this
plugin's own endpoints. It gets ``Access-Control-Allow-Origin`` (``*`` by
default) and never ``Access-Control-Allow-Credentials``: a browser sends no
cookies with such a request, or refuses to hand over the answer, so what an
app reads is what an anonymous visitor reads. Writes (POST, PUT, DELETE, and
their preflights) get no CORS headers at all, so a page on another origin
cannot read the answer of a state-changing call, with or without cookies.

Which URL rules are read channels is decided by endpoint name
(``ckanext.udp.api.cors_endpoints``, shell-style patterns);
``tests/api/test_cors.py`` walks every URL rule of the app, so a new channel
is classified or the test fails. CKAN's own ``ckan.cors.*`` settings stay off:
they would allow every method on every URL.
"""

from __future__ import annotations

import fnmatch

import ckan.plugins.toolkit as tk
from flask import Response, request

READ_METHODS = ("GET", "HEAD")
ALLOW_METHODS = "GET, HEAD, OPTIONS"
# request headers a read may carry beyond the CORS-safelisted ones
ALLOW_HEADERS = ("if-none-match", "if-modified-since", "range")
EXPOSE_HEADERS = "ETag, Last-Modified, Link, Content-Disposition, Location"
MAX_AGE = "600"


def _patterns() -> list[str]:
    return tk.aslist(tk.config.get("ckanext.udp.api.cors_endpoints"))


def is_read_channel(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    return any(fnmatch.fnmatchcase(endpoint, p) for p in _patterns())


def _readable_action(name: str | None) -> bool:
    """A GET of the Action API is a read only for side-effect-free actions,
    and not for those CKAN marks so although they change things."""
    if not name or name in tk.aslist(tk.config.get("ckanext.udp.api.cors_write_actions")):
        return False
    try:
        action = tk.get_action(name)
    except (KeyError, ValueError):
        return False
    return bool(getattr(action, "side_effect_free", False))


def _allowed_origin(origin: str | None) -> str | None:
    origins = tk.aslist(tk.config.get("ckanext.udp.api.cors_origins"))
    if "*" in origins:
        return "*"
    return origin if origin and origin in origins else None


def add_headers(response: Response) -> Response:
    """``after_request`` of the app."""
    rule = request.url_rule
    if rule is None or not is_read_channel(rule.endpoint):
        return response
    if rule.endpoint == "api.action" and not _readable_action((request.view_args or {}).get("logic_function")):
        return response
    method = request.method
    preflight = method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    if preflight:
        if request.headers["Access-Control-Request-Method"].upper() not in READ_METHODS:
            return response  # a write: no allowance
        asked = [
            h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()
        ]
        if any(h not in ALLOW_HEADERS for h in asked):
            return response  # e.g. Authorization or a token header: no credentials across origins
    elif method not in READ_METHODS:
        return response
    origin = _allowed_origin(request.headers.get("Origin"))
    if origin is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if origin != "*":
        response.vary.add("Origin")
    response.headers.pop("Access-Control-Allow-Credentials", None)
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        if asked:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(asked)
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response
