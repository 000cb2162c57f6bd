"""The ``udp`` plugin: theme, German default locale with the portal's
translations, portal-wide configuration, the request guard and the
``ckan udp demo`` commands. It owns no data of its own."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig
from ckan.lib.plugins import DefaultTranslation
from flask import Flask

from ckanext.udp import compat
from ckanext.udp.portal import cli, guard, helpers, replica, serving, templatecache


@tk.blanket.config_declarations
@tk.blanket.blueprints
@tk.blanket.cli(cli.get_commands)
@tk.blanket.helpers
class UdpPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IMiddleware, inherit=True)
    p.implements(p.IActions)

    # IConfigurer
    def update_config(self, config: CKANConfig) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "udp")

    # ITranslation: DefaultTranslation (a documented plugin base class) looks
    # for ``i18n/`` beside this module; the catalogue holds the strings of
    # every ckanext-udp plugin except the harvesters'
    def i18n_domain(self) -> str:
        return "ckanext-udp"

    # IMiddleware (runs after CKAN registered its error handlers): bad input
    # that CKAN core answers with a 500 gets a clear 4xx (guard.py); then
    # request ids, German error pages for any unexpected error (JSON with the
    # request id under /api/) and the session clean-up (serving.py)
    def make_middleware(self, app: Any, config: CKANConfig) -> Any:
        if isinstance(app, Flask):
            guard.install(app)
            serving.install(app)
            replica.install(app)
            # compiled templates shared by the workers (issue 13: a new worker's first pages)
            templatecache.install(app, config.get("ckanext.udp.template_cache_dir"))
        # the asset bundles' URLs once per worker, not per page (issue 13: page cost)
        if not tk.asbool(config.get("debug")):
            compat.cache_asset_urls()
        return app

    # IActions: chained core actions that guard against 500s; DataStore
    # searches that stay on the read replica (replica.py)
    def get_actions(self) -> dict[str, Any]:
        return {**guard.actions(), **replica.actions()}


__all__ = ["UdpPlugin", "helpers"]
