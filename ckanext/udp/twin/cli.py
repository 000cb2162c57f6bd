"""``ckan udp twin``: the 3D climate twin's data from the command line.

ckan udp twin demo            the demo datasets of ``make run`` (generated, uploaded; only what is missing)
ckan udp twin probe FILE      what a file says of itself (kind, reference system, LoD, extent, findings)
"""

from __future__ import annotations

from typing import Any

import click

from ckanext.udp.commands import register


@click.group("twin", short_help="3D-Klimazwilling")
def twin() -> None:
    """3D city models and climate grids."""


@twin.command("demo")
def demo_command() -> None:
    """Generate and upload the demo datasets (Demodaten)."""
    from ckanext.udp.twin import demo

    result = demo.load()
    click.echo(f"3D-Klimazwilling: demo datasets {', '.join(result['datasets'])}")


@twin.command("probe")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def probe_command(path: str) -> None:
    """What FILE says of itself."""
    import os

    from ckanext.udp.twin import guard

    # read as an upload is: parsed in a limited child process
    with open(path, "rb") as f:
        found = guard.probe_stream(f, os.path.basename(path), None)
    click.echo(f"kind: {found.kind.label if found.kind else '-'}")
    click.echo(f"crs: {found.crs_uri or found.crs_text or '-'}  lod: {', '.join(found.lods) or '-'}")
    click.echo(f"bbox (WGS 84): {found.bbox or '-'}")
    for finding in found.findings:
        click.echo("finding: " + finding.msgid.format(**finding.params))


def get_commands() -> list[Any]:
    return register(twin)
