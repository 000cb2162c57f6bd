"""How the portal answers when something goes wrong (plugin ``udp``).

- Every request gets an id (``X-Request-ID``: a proxy's, if it sent a sane
  one, else a new one). It is in the response header, in the gunicorn access
  log, in every warning and error logged while the request is served
  (``[request <id>] ...``) and on the error page, so an operator finds the
  traceback a citizen's screenshot refers to.
- An unexpected exception ends in a German error page (or a JSON error for
  ``/api/``) that shows the request id and nothing of the internals: no
  traceback, SQL, parameters or paths. The traceback goes to the log only.
- The database session is rolled back and removed at the end of every
  request, failed ones included, so a failed flush cannot leave a broken
  session behind for the next request served by the same worker.

This is the one module of the plugin that touches CKAN's SQLAlchemy session
(``ckan.model.Session``); there is no toolkit API for it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Last resort when even the error template cannot be rendered (database or
# template engine down): plain German HTML, no internals.
FALLBACK_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Fehler 500 – Urbane Datenplattform</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;margin:2rem;color:#1a1a1a;background:#fff">
<main><h1>Das hat leider nicht geklappt</h1>
<p>Auf unserer Seite ist ein Fehler aufgetreten. Bitte versuchen Sie es in einigen Minuten noch einmal.</p>
<p>Wenn Sie uns den Fehler melden, nennen Sie bitte diese Kennung: <strong>{rid}</strong></p>
<p><a href="/" style="color:#0b5394">Zur Startseite</a></p></main></body></html>"""


def request_id() -> str:
    """The current request's id ('' outside a request)."""
    if not has_request_context():
        return ""
    rid = g.get("udp_request_id")
    if not rid:
        sent = request.headers.get(HEADER, "")
        rid = sent if _SANE_ID.match(sent) else uuid.uuid4().hex[:16]
        g.udp_request_id = rid
    return rid


def rollback_session() -> None:
    """Roll back this thread's database session, so the error page can still
    read (the logged-in user, for instance); never raises."""
    try:
        model.Session.rollback()
    except Exception:  # a dead connection: the end of the request removes the session
        log.warning("rollback failed", exc_info=True)


def reset_session() -> None:
    """Roll back and drop this thread's database session; never raises."""
    rollback_session()
    try:
        model.Session.remove()
    except Exception:
        log.warning("removing the database session failed", exc_info=True)


def _exc_info(error: BaseException) -> tuple[Any, Any, Any]:
    original = getattr(error, "original_exception", None) or error
    return type(original), original, original.__traceback__


def _api_message(rid: str) -> str:
    return tk._("An internal error occurred. Please try again later. Request id: %(rid)s") % {"rid": rid}


def _json_error(rid: str) -> Response:
    """The Action API's error shape, so API clients can read it."""
    body = {
        "success": False,
        "error": {"__type": "Internal Server Error", "message": _api_message(rid), "request_id": rid},
    }
    return Response(json.dumps(body), status=500, content_type="application/json;charset=utf-8")


def handle_server_error(error: Exception) -> tuple[Any, int]:
    """Any unexpected exception and any 500: logged with the request id and
    its traceback; the client gets a German page without internals."""
    if isinstance(error, HTTPException) and error.code and error.code < 500:
        return error, error.code  # a 4xx without a handler of its own: werkzeug's answer
    rid = request_id()
    log.error("failed: %s %s", request.method, request.path, exc_info=_exc_info(error))
    rollback_session()
    if request.path.startswith("/api/"):
        return _json_error(rid), 500
    try:
        page = tk.render(
            "error_document_template.html",
            {
                "code": 500,
                "name": tk._("Internal Server Error"),
                "content": tk._("Something went wrong on our side. Please try again in a few minutes."),
                "request_id": rid,
            },
        )
        return page, 500
    except Exception:
        log.error("the error page could not be rendered", exc_info=True)
        reset_session()
        return FALLBACK_PAGE.format(rid=rid), 500


def _assign_request_id() -> None:
    request_id()
    g.udp_dispatched = True


def _add_request_id(response: Response) -> Response:
    rid = request_id()
    response.headers[HEADER] = rid
    if response.status_code >= 500 and request.path.startswith("/api/") and response.is_json:
        # the Action API catches failures itself ("Internal Server Error"):
        # give API clients the id and a message in their language too
        data = response.get_json(silent=True)
        if isinstance(data, dict) and isinstance(data.get("error"), dict) and "request_id" not in data["error"]:
            data["error"]["request_id"] = rid
            if data["error"].get("message") == "Internal Server Error":
                data["error"]["message"] = _api_message(rid)
            response.set_data(json.dumps(data))
    return response


def _record_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Warnings and errors logged while a request is served name its id, so
    the log line of a failure (CKAN's own included) matches the error page."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.levelno >= logging.WARNING and has_request_context():
            rid = g.get("udp_request_id")
            if rid:
                record.msg = f"[request {rid}] {record.msg}"
        return record

    make.udp_request_ids = True  # type: ignore[attr-defined]
    return make


def _end_of_request(_error: BaseException | None) -> None:
    # only requests the app dispatched: CKAN opens request contexts of its own
    # (url_for in a background job, for instance), and removing the session
    # when one of those closes would pull it from under the running job
    if g.get("udp_dispatched"):
        reset_session()


def install(app: Flask) -> None:
    """Wire the request id, the error pages and the session clean-up into
    CKAN's Flask app (called from ``IMiddleware.make_middleware``)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)
    app.after_request(_add_request_id)
    app.teardown_request(_end_of_request)
    app.register_error_handler(Exception, handle_server_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "udp_request_ids", False):
        logging.setLogRecordFactory(_record_factory(previous))


__all__ = ["HEADER", "install", "request_id", "reset_session"]
