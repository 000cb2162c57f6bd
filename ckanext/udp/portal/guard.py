"""Request guards of the ``udp`` plugin: bad input that CKAN core or a community
extension answers with a 500 gets a clear 4xx here, in the format asked for,
and anything unexpected under ``/api/`` answers a JSON 500 without internals.

Known 500s of CKAN 2.12 closed here (tests in ``tests/test_guard.py``):

- a parameter given twice in a query string or form (``package_show?id=a&id=b``):
  CKAN hands the action a list where its code expects a string;
- an identifier that is a list or an object in a JSON body (``{"id": ["a"]}``);
- a boolean parameter that is not a boolean (``include_datasets=maybe``):
  ``asbool`` raises ``ValueError`` inside the action;
- a JSON body nested deeper than Python's recursion limit (``RecursionError``
  in the request parser) or deep enough to exhaust it later;
- ``/datastore/dump/<id>`` with an unknown ``format``: the message of CKAN's
  ``one_of`` validator raises ``TypeError``;
- a PostgreSQL error other than a syntax error in ``datastore_search_sql``
  (``SELECT 1/0``): the chained action below.

This is the one module that reaches into CKAN's request handling for that
purpose; the DataStore dump view's formats and schema come through
``ckanext.udp.compat``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context
from flask import Flask, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ckanext.udp import compat, jsonlimits

log = logging.getLogger(__name__)

#: parameters every action takes as one value: a repeated query parameter
#: (which CKAN turns into a list) is refused for them
SINGLE_VALUED = frozenset(
    {
        "id",
        "name",
        "q",
        "fq",
        "sql",
        "resource_id",
        "package_id",
        "user_id",
        "limit",
        "offset",
        "rows",
        "start",
    }
)
#: identifiers: a string (or a number), never a list or an object
IDENTIFIERS = frozenset({"id", "name", "resource_id", "package_id", "user_id", "sql"})
#: boolean parameters besides every ``include_*``
BOOLEANS = frozenset({"all_fields", "use_default_schema"})
_TRUE = frozenset({"true", "yes", "on", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "f", "0"})


def max_json_depth() -> int:
    return tk.config.get("ckanext.udp.api.max_json_depth") or jsonlimits.DEFAULT_MAX_DEPTH


# --- answers ---------------------------------------------------------------------


def _json(status: int, error: dict[str, Any], action: str | None = None) -> Response:
    body: dict[str, Any] = {"success": False, "error": error}
    if action:
        body["help"] = tk.url_for("api.action", logic_function="help_show", ver=3, name=action, _external=True)
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json;charset=utf-8")


def _bad_request(message: str, field: str | None = None, action: str | None = None) -> Response:
    error: dict[str, Any] = {"__type": "Bad Request", "message": message}
    if field:
        error[field] = [message]
    return _json(400, error, action)


def _too_deep(action: str | None) -> Response:
    return _bad_request(
        tk._("The JSON is nested too deeply: at most {max} levels are allowed").format(max=max_json_depth()),
        action=action,
    )


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


# --- the action API --------------------------------------------------------------


def _repeated(multi: MultiDict) -> Iterator[str]:
    return (key for key, values in multi.lists() if len(values) > 1 and key in SINGLE_VALUED)


def _is_boolean(key: str) -> bool:
    return key.startswith("include_") or key in BOOLEANS


def _bad_boolean(value: Any) -> bool:
    if value is None or isinstance(value, bool) or value in (0, 1):
        return False
    return not (isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE)


def _check_values(data: dict[str, Any]) -> tuple[str, str] | None:
    """(field, message) for the first value CKAN's actions would crash on."""
    for key, value in data.items():
        if key in IDENTIFIERS and isinstance(value, (list, dict)):
            return key, tk._("{field} must be a single value, not a list or an object").format(field=key)
        if _is_boolean(key) and _bad_boolean(value):
            return key, tk._("{field} must be true or false").format(field=key)
    return None


def _action_data() -> tuple[dict[str, Any] | None, Response | None]:
    """The request's data as CKAN's action view will read it (query string,
    form, or JSON body), or an answer refusing it. ``(None, None)``: leave the
    request to CKAN (it answers malformed JSON with a 400 itself)."""
    action = (request.view_args or {}).get("logic_function")
    if request.method in ("POST", "PUT") and request.form:
        values = list(request.form.values())
        if len(values) == 1 and values[0] in ("1", ""):
            # CKAN reads a form with one empty field as the JSON in its name
            try:
                return jsonlimits.loads(next(iter(request.form.keys())), max_json_depth()), None
            except jsonlimits.TooDeep:
                return None, _too_deep(action)
            except ValueError:
                return None, None
        multi: MultiDict = request.form
    elif request.method == "GET" and request.args:
        multi = request.args
    elif request.data and request.mimetype != "multipart/form-data":
        try:
            # cached by werkzeug: CKAN's own call gets the same object
            data = jsonlimits.check(request.get_json(), max_json_depth())
        except (RecursionError, jsonlimits.TooDeep):
            return None, _too_deep(action)
        except HTTPException:  # malformed JSON, wrong content type: CKAN's own 400
            return None, None
        return (data if isinstance(data, dict) else None), None
    else:
        return None, None
    repeated = next(_repeated(multi), None)
    if repeated:
        return None, _bad_request(
            tk._("The parameter {field} may be given only once").format(field=repeated), repeated, action
        )
    return {key: values[0] for key, values in multi.lists()}, None


def _guard_action() -> Response | None:
    data, refusal = _action_data()
    if refusal is not None or not data:
        return refusal
    problem = _check_values(data)
    if problem:
        field, message = problem
        return _bad_request(message, field, (request.view_args or {}).get("logic_function"))
    return None


# --- DataStore dumps -------------------------------------------------------------


def _guard_dump() -> Response | None:
    """CKAN validates the dump's parameters itself, but its message for an
    unknown ``format`` raises a TypeError: check them first, with the same
    schema and a working ``format`` check, and answer in plain text."""
    formats = compat.datastore_dump_formats()
    args = request.args.to_dict()
    fmt = args.get("format")
    if fmt is not None and fmt not in formats:
        return _plain(400, tk._("format: must be one of {formats}").format(formats=", ".join(formats)))
    schema = compat.datastore_dump_schema()
    schema.pop("format")
    args.pop("format", None)
    _, errors = tk.navl_validate(args, schema, {})
    if errors:
        return _plain(400, "\n".join(f"{key}: {' '.join(map(str, msgs))}" for key, msgs in errors.items()))
    return None


# --- DataStore SQL search ----------------------------------------------------------

# SQLSTATE classes that are the server's trouble, not the query's: these stay 500s
_SERVER_SIDE = ("08", "53", "57", "58", "XX")


@tk.chained_action
@tk.side_effect_free
def datastore_search_sql(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """CKAN answers a syntax error with a validation error but lets every other
    error of the query through as a 500 (``SELECT 1/0``, a bad cast, an overflow)."""
    import sqlalchemy.exc

    if not isinstance(data_dict.get("sql"), str) or not data_dict["sql"].strip():
        raise tk.ValidationError({"sql": [tk._("Missing value")]})
    try:
        return up(context, data_dict)
    except sqlalchemy.exc.DBAPIError as e:
        from ckanext.udp.portal import replica

        if replica.unavailable(e):  # the read server down or not answering now: 503
            raise replica.service_unavailable() from e
        code = getattr(e.orig, "pgcode", None) or ""
        if not code or code.startswith(_SERVER_SIDE):
            raise
        diag = getattr(e.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(e.orig).splitlines()[0]
        raise tk.ValidationError({"sql": [tk._("The query failed: {error}").format(error=message)]}) from e


def actions() -> dict[str, Any]:
    """The chained actions, for the plugins that are loaded."""
    import ckan.plugins as p

    return {"datastore_search_sql": datastore_search_sql} if p.plugin_loaded("datastore") else {}


# --- wiring ------------------------------------------------------------------------

GUARDS: dict[str, Callable[[], Response | None]] = {
    "api.action": _guard_action,
    "datastore.dump": _guard_dump,
}


def before_request() -> Response | None:
    guard = GUARDS.get(request.endpoint or "")
    return guard() if guard else None


def _api_error_handler(previous: Callable[[Exception], Any] | None) -> Callable[[Exception], Any]:
    def handle(error: Exception) -> Any:
        if _is_api() and not isinstance(error, HTTPException):
            # the last line of defence: logged in full, answered without internals
            log.error("unexpected error in %s %s", request.method, request.path, exc_info=error)
            return _json(
                500,
                {"__type": "Internal Server Error", "message": tk._("Internal Server Error")},
                (request.view_args or {}).get("logic_function"),
            )
        if _is_api() and isinstance(error, HTTPException) and error.code:
            return _json(error.code, {"__type": error.name, "message": error.description})
        if previous is not None:
            return previous(error)
        raise error

    return handle


def install(app: Flask) -> None:
    """Register the guards on CKAN's Flask app (from ``IMiddleware``, after
    CKAN registered its own error handlers, so these wrap them)."""
    app.before_request(before_request)
    handlers = app.error_handler_spec.setdefault(None, {})
    # unexpected exceptions (CKAN registers none while testing or debugging)
    generic = handlers.setdefault(None, {})
    app.register_error_handler(Exception, _api_error_handler(generic.get(Exception)))
    # HTTP errors under /api/ (404, 405, CSRF's 400 ...) as JSON, elsewhere CKAN's pages
    for code, by_class in list(handlers.items()):
        if code is None:
            continue
        for exc_class, previous in list(by_class.items()):
            by_class[exc_class] = _api_error_handler(previous)


__all__ = ["install", "before_request"]
