"""A read server that cannot answer now: one German 503 for every plugin that reads
the DataStore (``ckan.datastore.read_url``: a streaming replica, maybe without a
fallback host; issue 20, ``docs/operations.md``).

``unavailable(err)`` tells a server that cannot be reached or cannot answer now from
any other database error; ``service_unavailable()`` is the 503 to raise. A page's view
lets it through to CKAN's error page. The Action API's view turns every exception of an
action into a 500, so the request is marked and the ``after_request`` hook of
``install`` gives that 500 back as this 503 (JSON as ``ckanext.udp.answers`` answers
every error status, ``Retry-After``). Used by
``portal/replica.py`` (``datastore_search``, ``datastore_search_sql``) and the
Klimadashboard's tiles; it imports no plugin.
"""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import psycopg2
import sqlalchemy as sa
from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import ServiceUnavailable

from ckanext.udp import answers

#: SQLSTATEs of a server that cannot answer now: connection exceptions, shutdown
#: and "cannot connect now", and a standby query cancelled by replay (40001)
_UNAVAILABLE = ("08", "57P", "40001")

RETRY_AFTER = 30  # seconds, in the 503's Retry-After


def unavailable(err: Exception) -> bool:
    """Whether a database error (SQLAlchemy's or psycopg2's own) means the server cannot
    be reached or cannot answer now."""
    if isinstance(err, sa.exc.DBAPIError):
        if err.connection_invalidated:
            return True
        orig: object = err.orig
    else:
        orig = err
    code = getattr(orig, "pgcode", None) or ""
    if not code:  # no answer from a server at all: refused, closed, timed out
        return isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError) or isinstance(
            orig, psycopg2.OperationalError | psycopg2.InterfaceError
        )
    return code.startswith(_UNAVAILABLE)


def message() -> str:
    return tk._("The data cannot be read right now. Please try again in a moment.")


def service_unavailable() -> ServiceUnavailable:
    """The 503 to raise (in a page's view, an action or a JSON endpoint's view)."""
    error = ServiceUnavailable(message(), retry_after=RETRY_AFTER)
    if has_request_context():
        g.udp_read_unavailable = error.description
    return error


def _api_503(response: Response) -> Response:
    text = g.pop("udp_read_unavailable", None)
    if text is None or response.status_code != 500 or not request.path.startswith("/api/"):
        return response
    return answers.answer(503, "Service Unavailable", text, {"Retry-After": str(RETRY_AFTER)})


def install(app: Flask) -> None:
    """Register the Action API's 503 once per app (several plugins may ask)."""
    if app.extensions.get("udp_read_unavailable"):
        return
    app.extensions["udp_read_unavailable"] = True
    app.after_request(_api_503)
