"""The ``udp_klima`` plugin: the Klimadashboard (see ``__init__``)."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.klima import cli, views
from ckanext.udp.klima.logic import action, auth


@tk.blanket.actions(action.get_actions)
@tk.blanket.auth_functions(auth.get_auth_functions)
@tk.blanket.blueprints([views.klima])
@tk.blanket.cli(cli.get_commands)
@tk.blanket.config_declarations
class UdpKlimaPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "udp_klima")


__all__ = ["UdpKlimaPlugin"]
