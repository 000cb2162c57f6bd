"""The ``udp`` plugin: theme, German default locale, shared configuration and
the ``ckan udp`` command group (demo data). It owns no data of its own."""
from __future__ import annotations

from typing import Any

from flask import Flask

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation

from ckanext.udp import guard, helpers, serving


@tk.blanket.config_declarations
@tk.blanket.cli
@tk.blanket.helpers
class UdpPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IMiddleware, inherit=True)
    p.implements(p.IActions)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_public_directory(config, "public")
        tk.add_resource("assets", "udp")

    # ITranslation: DefaultTranslation looks for ``i18n/`` beside this module
    def i18n_domain(self) -> str:
        return "ckanext-udp"

    # IMiddleware (runs after CKAN registered its error handlers): bad input
    # that CKAN core answers with a 500 gets a clear 4xx (guard.py); then
    # request ids, German error pages for any unexpected error (JSON with the
    # request id under /api/) and the session clean-up (serving.py)
    def make_middleware(self, app: Any, config: Any) -> Any:
        if isinstance(app, Flask):
            guard.install(app)
            serving.install(app)
        return app

    # IActions: chained core actions that guard against 500s
    def get_actions(self) -> dict[str, Any]:
        return guard.actions()


__all__ = ["UdpPlugin", "helpers"]
