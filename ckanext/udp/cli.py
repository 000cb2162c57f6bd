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


def _add_validate() -> None:
    # `ckan udp validate` is `ckan dcatde validate` (udp_dcatde's command),
    # under the name the stewards' docs use
    from ckanext.udp.dcatde.cli import validate

    udp.add_command(validate, "validate")


_add_validate()
