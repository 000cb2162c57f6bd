"""Names in CKAN's action registry that are not actions.

ckanext-harvest collects its actions and its auth functions into one dict (a
mutable default argument of ``_get_logic_functions``). In a process whose auth
functions were built before its actions, the auth-only names
``harvest_sources_clear`` (an auth verdict) and ``auth_allow_anonymous_access``
(a decorator: calling it with a context and a data dict raised TypeError, a
500) also become "actions" reachable through ``/api/3/action/``. Whether they
are registered depends on that order, so they cannot be chained actions (a
chained action without an original fails the registry). A request for them is
answered here, before any view: 404, as for any unknown action."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
from flask import Response, request

from .csrf import API_ACTION

NOT_ACTIONS = frozenset({"auth_allow_anonymous_access", "harvest_sources_clear"})


def guard() -> Response | None:
    """before_request: None lets the request through."""
    match = API_ACTION.match(request.path)
    if match is None or match.group(1) not in NOT_ACTIONS:
        return None
    body = {
        "success": False,
        "error": {"__type": "Not Found Error", "message": tk._("There is no action of that name.")},
    }
    return Response(json.dumps(body), status=404, mimetype="application/json")


__all__ = ["NOT_ACTIONS", "guard"]
