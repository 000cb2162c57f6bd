"""Channel guards: CKAN core and community-extension actions that would show
a dataset beyond who may see it, or answer 500 instead of 403/404. Each
module exports ``ACTIONS`` (chained or replacement actions) and ``AUTH``
(chained or missing auth functions); the plugin registers them all."""

from __future__ import annotations

from typing import Any

from . import activity, datasets, harvest, relationships, search, tags

MODULES = (activity, datasets, harvest, relationships, search, tags)


def actions() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in MODULES:
        out.update(getattr(module, "ACTIONS", {}))
    return out


def auth_functions() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in MODULES:
        out.update(getattr(module, "AUTH", {}))
    return out
