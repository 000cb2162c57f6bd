"""Views that let CKAN's NotAuthorized or ObjectNotFound escape (datatables'
``/datatables/ajax`` and ``/filtered-download`` for a hidden resource,
activity pages of hidden datasets ...) answered 500. Here they answer 403 and
404, as JSON for API-style requests and as the error page otherwise
(``ckanext.udp.answers``, as the read server's 503).

The datatables views also read their form fields unchecked (``params`` as
JSON, ``visible``, ``order[0][column]`` as an index ...): a malformed request
raised KeyError/ValueError/IndexError, a 500. They answer 400 here."""

from __future__ import annotations

import functools
import logging
from typing import Any

import ckan.plugins.toolkit as tk
from flask import Response, request

from ckanext.udp import answers

log = logging.getLogger(__name__)


def not_authorized(err: Exception) -> Response:
    log.info("%s %s: not authorized (%s)", request.method, request.path, err)
    return answers.answer(403, "Authorization Error", tk._("You are not allowed to see this."))


def invalid(err: Exception) -> Response:
    """A ValidationError a view does not catch (CKAN's delete view and a workflow rule that refuses the
    deletion of a published dataset): the reason, as 409 like the action API, not a 500."""
    summary = getattr(err, "error_summary", None) or {}
    message = " ".join(str(v) for v in summary.values()) or tk._("The request is incomplete or malformed.")
    log.info("%s %s: refused (%s)", request.method, request.path, message)
    return answers.answer(409, "Validation Error", message)


def not_found(err: Exception) -> Response:
    return answers.answer(404, "Not Found Error", tk._("Not found"))


def malformed() -> Response:
    return answers.answer(400, "Validation Error", tk._("The request is incomplete or malformed."))


# views of community extensions that trust their form fields
UNCHECKED_FORMS = ("datatablesview.ajax", "datatablesview.filtered_download")
MALFORMED = (KeyError, ValueError, IndexError, TypeError, AttributeError)


def _malformed_is_400(view: Any) -> Any:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except MALFORMED as err:
            log.info("%s %s: malformed request (%s: %s)", request.method, request.path, type(err).__name__, err)
            return malformed()

    return guarded


# views that read an activity as a dataset version without asking whether it is one: CKAN's resource history
# page took the activity of a new resource view (``data`` without "package") and raised KeyError, a 500 for
# everybody (found by the channel matrix); no such version is a 404
ACTIVITY_VERSIONS = ("activity.resource_history",)


def _not_a_version_is_404(view: Any) -> Any:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (KeyError, TypeError) as err:
            log.info("%s %s: not a dataset version (%s: %s)", request.method, request.path, type(err).__name__, err)
            return not_found(err)

    return guarded


def register(app: Any) -> None:
    app.register_error_handler(tk.NotAuthorized, not_authorized)
    app.register_error_handler(tk.ObjectNotFound, not_found)
    app.register_error_handler(tk.ValidationError, invalid)
    for endpoint in UNCHECKED_FORMS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = _malformed_is_400(app.view_functions[endpoint])
    for endpoint in ACTIVITY_VERSIONS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = _not_a_version_is_404(app.view_functions[endpoint])


__all__ = ["register"]
