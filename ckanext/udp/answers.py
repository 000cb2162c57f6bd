"""One way to answer a request with an error status: JSON in CKAN's Action API error shape
(``{"success": false, "error": {"__type": ..., "message": ...}}``) for API-style requests,
CKAN's error page (in the reader's language, German by default) otherwise.

Used by ``udp_security``'s handlers of exceptions that views let escape
(``security/errors.py``: 400/403/404/409) and by the read server's 503
(``unavailable.py``). What triggers the answer stays with each: a Flask error handler
sees an exception a view lets escape, but the Action API's view turns every exception of
an action into a 500 before any handler sees it, so the 503 marks the request and an
``after_request`` hook answers it. Imports no package of ckanext.udp.
"""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
from flask import Response, request
from werkzeug.http import HTTP_STATUS_CODES

#: paths whose clients read JSON (the Action API, datatables' AJAX endpoint)
JSON_PREFIXES = ("/api/", "/datatables/ajax/")


def wants_json() -> bool:
    """An API-style request: a JSON path, a JSON body, or JSON preferred over HTML."""
    if request.path.startswith(JSON_PREFIXES) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def answer(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """``status`` with ``message`` (already translated): JSON for API-style requests
    (``kind`` as its ``__type``), CKAN's error page otherwise."""
    if wants_json():
        body = {"success": False, "error": {"__type": kind, "message": message}}
        return Response(
            json.dumps(body, ensure_ascii=False),
            status=status,
            content_type="application/json;charset=utf-8",
            headers=headers,
        )
    name = HTTP_STATUS_CODES.get(status, "Error")
    html = tk.render("error_document_template.html", {"code": status, "content": message, "name": name})
    return Response(html, status=status, headers=headers)
