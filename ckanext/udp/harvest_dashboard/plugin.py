"""The ``udp_harvest_dashboard`` plugin (see ``__init__``). It needs
ckanext-harvest and shows whichever harvesters are loaded; the harvesters do
not need it."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.harvest.base import I18N_DIR
from ckanext.udp.harvest_dashboard import cli, helpers, views
from ckanext.udp.harvest_dashboard.logic import action, auth


@tk.blanket.actions(action.get_actions)
@tk.blanket.auth_functions(auth.get_auth_functions)
@tk.blanket.blueprints([views.harvest_dashboard])
@tk.blanket.cli(cli.get_commands)
@tk.blanket.helpers(helpers.get_helpers)
class UdpHarvestDashboardPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")

    # ITranslation: the harvesters' translation domain
    def i18n_directory(self) -> str:
        return I18N_DIR

    def i18n_locales(self) -> list[str]:
        return ["de"]

    def i18n_domain(self) -> str:
        return "ckanext-udp-harvest"
