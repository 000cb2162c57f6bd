"""``ckan udp-governance ...``: maintenance of the publishing workflow."""
from __future__ import annotations

import sys

import click

__all__ = ["udp_governance"]


@click.group("udp-governance", short_help="The publishing workflow (ckanext-udp)")
def udp_governance() -> None:
    """The publishing workflow."""


@udp_governance.command("reindex-pending")
def reindex_pending() -> None:
    """Index the datasets whose index entry missed a workflow transition
    (Solr was down): run it from cron every few minutes."""
    from ckanext.udp.governance import indexing

    done, failed = indexing.repair()
    click.secho(f"{done} datasets re-indexed, {failed} still failing",
                fg="red" if failed else "green")
    if failed:
        sys.exit(1)
