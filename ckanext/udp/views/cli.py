"""``ckan udp views ...``: previews for existing resources."""

from __future__ import annotations

import click

__all__ = ["views"]


@click.group(short_help="Previews (table, map, chart) of resources")
def views() -> None:
    """Previews of the udp_views plugin."""


@views.command("create-missing")
def create_missing() -> None:
    """Give every resource the previews it lacks (DataStore tables, maps, sensor charts)."""
    from ckanext.udp.views.logic import create_missing as run

    counts = run()
    click.echo(f"{counts['created']} views created for {counts['resources']} resources")
