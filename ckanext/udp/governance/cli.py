"""``ckan udp governance ...``: maintenance of the publishing workflow."""

from __future__ import annotations

import sys

import click

from ckanext.udp.commands import register
from ckanext.udp.governance import indexing

__all__ = ["get_commands", "governance"]


@click.group("governance", short_help="The publishing workflow (udp_governance)")
def governance() -> None:
    """The publishing workflow."""


@governance.command("reindex-pending")
def reindex_pending() -> None:
    """Index the datasets whose index entry missed a workflow transition
    (Solr was down): run it from cron every few minutes."""
    done, failed = indexing.repair()
    click.secho(f"{done} datasets re-indexed, {failed} still failing", fg="red" if failed else "green")
    if failed:
        sys.exit(1)


def get_commands() -> list[click.Command]:
    """``IClick``: the subgroup under the shared ``ckan udp`` group."""
    return register(governance)
