"""CKAN's Atom feeds answer parameter errors as a feed client can read them.

The stock feed views answer a bad ``page`` with an HTML error page (400) and
let a query Solr refuses (``q``, ``sort``, the custom feed's field filters)
surface as a 500 or an HTML page. Every ``feeds.*`` view is wrapped: a bad
parameter is a 400 and a missing group, organization or tag a 404, both as
plain text (``text/plain; charset=utf-8``) with a German message, never HTML
and never a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import ckan.plugins.toolkit as tk
from flask import Response, request
from werkzeug.exceptions import HTTPException

from ckanext.udp import compat

log = logging.getLogger(__name__)

MAX_PAGE = 10_000
SORT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s+(asc|desc)\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s+(asc|desc)\s*)*$")


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _problem() -> str | None:
    page = request.args.get("page")
    if page is not None and not (page.isdigit() and 1 <= int(page) <= MAX_PAGE):
        return tk._("page must be a whole number from 1 to {max}").format(max=MAX_PAGE)
    sort = request.args.get("sort")
    if sort and not SORT.match(sort):
        return tk._("sort must be a field name followed by asc or desc, e.g. metadata_modified desc")
    return None


def guarded(view: Any) -> Any:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        problem = _problem()
        if problem:
            return _text(400, problem)
        try:
            return view(*args, **kwargs)
        except (tk.ValidationError, *compat.search_errors()):
            return _text(400, tk._("The search parameters of this feed are not valid"))
        except HTTPException as e:
            if e.code == 404:
                return _text(404, tk._("There is no such feed"))
            if e.code in (400, 403):
                return _text(e.code, tk._("The search parameters of this feed are not valid"))
            raise

    wrapper.udp_feed_guard = True  # type: ignore[attr-defined]
    return wrapper


def guard(app: Any) -> None:
    """Wrap every ``feeds.*`` view of the Flask app (idempotent)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("feeds.") and not getattr(view, "udp_feed_guard", False):
            app.view_functions[endpoint] = guarded(view)
