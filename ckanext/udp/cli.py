"""``ckan udp ...`` commands of the ``udp`` plugin."""
from __future__ import annotations

import click

from ckanext.udp.commands import udp

__all__ = ["udp"]


@udp.group()
def demo() -> None:
    """Demo data that looks like Karlsruhe."""


@demo.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON file with organizations and datasets (default: the bundled Karlsruhe demo).")
def demo_load(path: str | None) -> None:
    """Create or update the demo organizations and datasets (idempotent)."""
    from ckanext.udp import demo as demo_data

    stats = demo_data.load(path)
    click.secho(
        "demo data: {organizations} organizations, {datasets} datasets "
        "({created} created, {updated} updated)".format(**stats),
        fg="green",
    )


@udp.group()
def harvest() -> None:
    """Harvest queue consumers that survive Redis hiccups (instead of
    ``ckan harvester gather-consumer`` / ``fetch-consumer``)."""


@harvest.command("gather-consumer")
def gather_consumer() -> None:
    """Consume the harvest gather queue."""
    from ckanext.udp import harvestqueue

    harvestqueue.consume("gather")


@harvest.command("fetch-consumer")
def fetch_consumer() -> None:
    """Consume the harvest fetch queue."""
    from ckanext.udp import harvestqueue

    harvestqueue.consume("fetch")

