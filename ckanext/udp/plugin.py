"""The ``udp`` plugin: theme, German default locale, shared configuration and
the ``ckan udp`` command group (demo data). It owns no data of its own."""
from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation

from ckanext.udp import helpers, serving


@tk.blanket.config_declarations
@tk.blanket.cli
@tk.blanket.helpers
class UdpPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IMiddleware, inherit=True)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_public_directory(config, "public")
        tk.add_resource("assets", "udp")

    # IMiddleware: request ids, German error pages, session clean-up (serving.py)
    def make_middleware(self, app: Any, config: Any) -> Any:
        serving.install(app)
        return app

    # ITranslation: DefaultTranslation looks for ``i18n/`` beside this module
    def i18n_domain(self) -> str:
        return "ckanext-udp"


__all__ = ["UdpPlugin", "helpers"]
