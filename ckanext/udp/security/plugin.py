"""The ``udp_security`` plugin: guards that belong to no single capability.

- channel guards (``channels/``): CKAN core and community-extension actions
  that showed hidden datasets (tags, activities, relationships, followers,
  harvest objects and sources, Solr pseudo-fields) or crashed with 500s;
- a CSRF guard in front of every view (``csrf.py``) and SameSite/Secure
  session cookies;
- 403/404 instead of 500 for views that let NotAuthorized or ObjectNotFound
  escape (``errors.py``), 400 for CKAN forms posted without the fields their
  views read unchecked (``forms.py``);
- one rule for every URL field (``urls.py``): http(s) only.
This class only wires CKAN's interfaces."""

from __future__ import annotations

import logging
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.security import channels, csrf, errors, forms, notactions, urls

log = logging.getLogger(__name__)


def _actions() -> dict[str, Any]:
    return {**channels.actions(), **urls.ACTIONS}


@tk.blanket.config_declarations
@tk.blanket.actions(_actions)
@tk.blanket.auth_functions(channels.auth_functions)
@tk.blanket.validators(urls.validators)
class SecurityPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IMiddleware, inherit=True)

    # IConfigurer: session and "remember me" cookies stay on this site
    def update_config(self, config: Any) -> None:
        samesite = config.get("ckanext.udp.security.cookie_samesite")
        if samesite not in ("Lax", "Strict"):
            log.warning("ckanext.udp.security.cookie_samesite must be Lax or Strict, not %r: using Lax", samesite)
            samesite = "Lax"
        secure = str(config.get("ckan.site_url") or "").startswith("https://")
        for cookie in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
            config[f"{cookie}_SAMESITE"] = samesite
            if secure:
                config[f"{cookie}_SECURE"] = True

    # IMiddleware: the CSRF guard runs after CKAN has identified the user
    def make_middleware(self, app: Any, config: Any) -> Any:
        if hasattr(app, "before_request"):
            app.before_request(notactions.guard)
            app.before_request(csrf.guard)
            app.before_request(forms.guard)
            errors.register(app)
        else:  # another plugin wrapped the app first: the guard would be missing
            raise RuntimeError("udp_security must come before plugins that wrap the Flask app")
        return app


__all__ = ["SecurityPlugin"]
