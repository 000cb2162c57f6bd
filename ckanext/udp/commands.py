"""The one ``ckan udp …`` command group of ckanext-udp.

Every plugin adds its own subgroup (``ckan udp sensors …``, ``ckan udp catalog …``)
from its ``get_commands`` with :func:`register`, without touching another plugin's
commands. CKAN adds a command by name, so all plugins hand back the same group object.
"""

from __future__ import annotations

import click

__all__ = ["register", "udp"]


@click.group("udp", short_help="Urbane Datenplattform Karlsruhe (ckanext-udp)")
def udp() -> None:
    """Commands of ckanext-udp, one subgroup per plugin."""


def register(*groups: click.Command) -> list[click.Command]:
    """Add ``groups`` under ``ckan udp`` and return what ``IClick.get_commands`` returns."""
    for group in groups:
        udp.add_command(group)
    return [udp]
