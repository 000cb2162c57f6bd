"""``ckan udp api …``: ``dumps build`` rebuilds the bulk downloads now."""

from __future__ import annotations

import click

from ckanext.udp.commands import register

from . import dumps as dumplib

__all__ = ["api", "get_commands"]


@click.group("api", short_help="API for app builders (udp_api)")
def api() -> None:
    """Commands of udp_api."""


@api.group("dumps", short_help="Bulk downloads")
def dumps() -> None:
    """The bulk downloads at /api/udp/dumps."""


@dumps.command("build")
def build() -> None:
    """Build every bulk download now (the last good ones stay if it fails)."""
    manifest = dumplib.build()
    click.echo(
        f"{manifest['datasets']} datasets, {manifest['tables']} tables -> {dumplib.directory()}: "
        + ", ".join(f"{n} ({f['size']} bytes)" for n, f in manifest["files"].items())
    )


def get_commands() -> list[click.Command]:
    return register(api)
