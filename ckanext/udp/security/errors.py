"""Views that let CKAN's NotAuthorized or ObjectNotFound escape (datatables'
``/datatables/ajax`` and ``/filtered-download`` for a hidden resource,
activity pages of hidden datasets ...) answered 500. Here they answer 403 and
404, as JSON for API-style requests and as the error page otherwise."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, request

import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/datatables/ajax/")


def _wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _answer(status: int, kind: str, message: str) -> Response:
    if _wants_json():
        body = {"success": False, "error": {"__type": kind, "message": message}}
        return Response(json.dumps(body), status=status, mimetype="application/json")
    names = {403: "Forbidden", 404: "Not Found"}
    html = tk.render("error_document_template.html", {"code": status, "content": message,
                                                      "name": names[status]})
    return Response(html, status=status)


def not_authorized(err: Exception) -> Response:
    log.info("%s %s: not authorized (%s)", request.method, request.path, err)
    return _answer(403, "Authorization Error", tk._("You are not allowed to see this."))


def not_found(err: Exception) -> Response:
    return _answer(404, "Not Found Error", tk._("Not found"))


def register(app: Any) -> None:
    app.register_error_handler(tk.NotAuthorized, not_authorized)
    app.register_error_handler(tk.ObjectNotFound, not_found)


__all__ = ["register"]
