"""``udp_transparency``: every published open dataset appears on the city's
Transparenzportal (a stock CKAN), kept in step through a transactional outbox,
and nothing else ever leaves.

- ``outbox.py``: a row per changed dataset, in the change's own transaction.
- ``sync.py``: the worker (``ckan udp transparency worker``) delivering in order
  per dataset with retries and exponential backoff; the drift report.
- ``payload.py``: the portal's copy (plain schema, DCAT-AP.de in extras,
  resources as links to the hub's download URLs, source named and linked).
- ``portal.py``: the portal's Action API (token from config or environment).

Usable alone: without the governance plugin, CKAN's "active and not private"
decides what may leave. Without ``ckanext.udp.transparency.url`` it does nothing.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import click

from ckanext.udp.commands import register
from ckanext.udp.transparency import outbox
from ckanext.udp.transparency.portal import configured_url


def portal_link(pkg: dict[str, Any]) -> str | None:
    """The dataset's copy on the transparency portal, if it is there now."""
    public_url = tk.config.get("ckanext.udp.transparency.public_url") or configured_url()
    if not public_url or not pkg.get("id"):
        return None
    from ckanext.udp.transparency.sync import mapping_row

    row = mapping_row(pkg["id"])
    if row is None or not row.live or not row.portal_name:
        return None
    return f"{public_url.rstrip('/')}/dataset/{row.portal_name}"


@tk.blanket.config_declarations
class TransparencyPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IConfigurable)
    p.implements(p.IClick)
    p.implements(p.ITemplateHelpers)
    p.implements(p.IBlueprint)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")

    # IConfigurable
    def configure(self, config: Any) -> None:
        outbox.install()
        outbox.active = True

    # IClick
    def get_commands(self) -> list[click.Command]:
        from ckanext.udp.transparency.cli import transparency

        return register(transparency)

    # ITemplateHelpers
    def get_helpers(self) -> dict[str, Any]:
        return {"udp_transparency_link": portal_link}

    # IBlueprint
    def get_blueprint(self) -> Any:
        from ckanext.udp.transparency.views import transparency

        return transparency


__all__ = ["TransparencyPlugin"]
