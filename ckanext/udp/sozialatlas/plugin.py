"""The ``udp_sozialatlas`` plugin: the Sozialatlas of the 27 Stadtteile.

- ``sdc.py``: statistical disclosure control of count tables (primary and
  secondary suppression, checked as a linear system);
- ``logic/``: the action ``udp_sozialatlas_publish`` (internal source table ->
  derived published table, method stated in the description);
- ``atlas.py``, ``geometry.py``, ``views.py``: ``/sozialatlas`` (choropleth as
  SVG, ranked table, two years compared), read as an anonymous visitor;
- ``cli.py``: ``ckan udp sozialatlas publish|demo``.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.sozialatlas.logic import action, auth


def _actions() -> dict[str, Any]:
    return {"udp_sozialatlas_publish": action.udp_sozialatlas_publish}


def _auth() -> dict[str, Any]:
    return {"udp_sozialatlas_publish": auth.udp_sozialatlas_publish}


@tk.blanket.config_declarations
@tk.blanket.blueprints
@tk.blanket.actions(_actions)
@tk.blanket.auth_functions(_auth)
class SozialatlasPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IClick)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")

    # IClick: ``ckan udp sozialatlas ...`` in the shared ``udp`` group
    def get_commands(self) -> list[Any]:
        from ckanext.udp.commands import register
        from ckanext.udp.sozialatlas.cli import sozialatlas

        return register(sozialatlas)


__all__ = ["SozialatlasPlugin"]
