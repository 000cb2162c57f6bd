"""``ckan udp demo ...``: the commands of the ``udp`` plugin."""

from __future__ import annotations

import click

from ckanext.udp.commands import register

__all__ = ["demo", "get_commands"]


@click.group("demo", short_help="Demo data that looks like Karlsruhe")
def demo() -> None:
    """Demo data that looks like Karlsruhe."""


@demo.command("load")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON file with organizations and datasets (default: the bundled Karlsruhe demo).",
)
def demo_load(path: str | None) -> None:
    """Create or update the demo organizations and datasets (idempotent)."""
    from ckanext.udp.portal import demo as demo_data

    stats = demo_data.load(path)
    click.secho(
        "demo data: {organizations} organizations, {datasets} datasets ({created} created, {updated} updated)".format(
            **stats
        ),
        fg="green",
    )


def get_commands() -> list[click.Command]:
    """``IClick.get_commands``: ``demo`` under the shared ``ckan udp`` group."""
    return register(demo)
