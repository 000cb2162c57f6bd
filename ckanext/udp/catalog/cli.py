"""``ckan udp catalog ...``: maintenance of the catalog's RDF cache."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import click

from ckanext.udp.commands import register

__all__ = ["catalog", "get_commands"]


@click.group("catalog", short_help="The public DCAT catalog")
def catalog() -> None:
    """The public DCAT catalog."""


@catalog.command("warm")
def warm() -> None:
    """Serialise every public dataset into the fragment cache."""
    from ckanext.udp.catalog import fragments

    ids: list[str] = []
    start = 0
    while True:
        page = tk.get_action("package_search")(
            {"user": "", "auth_user_obj": None}, {"fl": "id", "rows": 1000, "start": start, "sort": "id asc"}
        )
        ids += [r["id"] for r in page["results"]]
        start += 1000
        if start >= page["count"]:
            break
    built = fragments.warm(ids)
    click.secho(f"{len(ids)} public datasets, {built} serialised, {len(ids) - built} already cached", fg="green")


def get_commands() -> list[click.Command]:
    """``IClick.get_commands``: ``catalog`` under the shared ``ckan udp`` group."""
    return register(catalog)
