"""Cross-site request forgery: a guard of our own in front of every view.

CKAN protects forms with Flask-WTF, but exempts a view for the life of the
process as soon as one request reaches it without a session (an anonymous
visitor, an API client): after that, forged POSTs to the view succeed. The
action API is reached that way all the time, so a cookie-authenticated
``POST /api/3/action/udp_submit`` from any other site changed state.

Here every request that changes something and is authenticated by a cookie
(session or "remember me") must carry the CSRF token of the session: the
form field ``_csrf_token`` or the header ``X-CSRFToken`` (CKAN's JavaScript
sends it). Requests authenticated by an API token in the ``Authorization``
header need none: a browser does not send that header to another site by
itself. Reads of the action API (actions marked side-effect-free) stay open,
except the few CKAN marks so although they change things.
"""

from __future__ import annotations

import json
import logging
import re

import ckan.plugins.toolkit as tk
from flask import Response, request

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_ACTION = re.compile(r"^/api/(?:\d+/)?action/([^/]+)/?$")
# marked side-effect-free (callable with GET) by CKAN or ckanext-harvest, but they change things
WRITES_MARKED_AS_READS = frozenset({"activity_delete", "harvest_source_reindex", "harvest_sources_reindex"})
TOKEN_HEADERS = ("X-CSRFToken", "X-CSRF-Token")


def enabled() -> bool:
    return tk.asbool(tk.config.get("ckanext.udp.security.csrf_guard"))


def _token_authenticated() -> bool:
    header = tk.config.get("apitoken_header_name") or "Authorization"
    return bool(request.headers.get(header) or request.headers.get("X-CKAN-API-Key"))


def _cookie_authenticated() -> bool:
    try:
        logged_in = bool(tk.current_user.is_authenticated)
    except Exception:  # no user loaded (static files)
        return False
    return logged_in and not _token_authenticated()


def _api_action() -> str | None:
    match = API_ACTION.match(request.path)
    return match.group(1) if match else None


def _reads(action: str) -> bool:
    if action in WRITES_MARKED_AS_READS:
        return False
    try:
        function = tk.get_action(action)
    except (KeyError, tk.ObjectNotFound):
        return True  # CKAN answers "unknown action"
    return bool(getattr(function, "side_effect_free", False))


def _token() -> str | None:
    field = tk.config.get("WTF_CSRF_FIELD_NAME") or "_csrf_token"
    for header in TOKEN_HEADERS:
        if request.headers.get(header):
            return request.headers[header]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get(field)
    return None


def _valid(token: str | None) -> bool:
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    if not token:
        return False
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def _refuse(api: bool) -> Response:
    message = tk._(
        "This request changes data and was sent without the security token of your session. "
        "Reload the page and try again; programs use an API token instead."
    )
    log.warning("CSRF guard refused %s %s", request.method, request.path)
    if api:
        body = {"success": False, "error": {"__type": "Authorization Error", "message": message}}
        return Response(json.dumps(body), status=403, mimetype="application/json")
    return Response(
        tk.render("error_document_template.html", {"code": 403, "content": message, "name": "Forbidden"}), status=403
    )


def guard() -> Response | None:
    """before_request: None lets the request through."""
    if not enabled():
        return None
    action = _api_action()
    if request.method in SAFE_METHODS:
        if action in WRITES_MARKED_AS_READS and _cookie_authenticated():
            return _refuse(api=True)
        return None
    if not _cookie_authenticated():
        return None  # no ambient credentials: nothing a forged request could use
    if action is not None and _reads(action):
        return None
    if _valid(_token()):
        return None
    return _refuse(api=action is not None or request.path.startswith("/api/"))


__all__ = ["guard"]
