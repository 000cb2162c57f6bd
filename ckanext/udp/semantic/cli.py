"""``ckan udp semantic reindex``: embed all datasets in batches, then index them."""

from __future__ import annotations

import time

import ckan.model as ckan_model
import ckan.plugins.toolkit as tk
import click

from ckanext.udp import compat
from ckanext.udp.semantic import index


@click.group("semantic", short_help="Semantic search (udp_semantic)")
def semantic() -> None:
    """Embeddings of the datasets for the semantic search."""


@semantic.command("reindex")
@click.option("--batch", default=32, show_default=True, help="Datasets embedded per model call.")
def reindex(batch: int) -> None:
    """Embed every active dataset (in batches) and index it with its vector."""
    if not index.enabled():
        raise click.ClickException("ckanext.udp.semantic.enabled is false: nothing to do")
    ids = [
        row[0]
        for row in ckan_model.Session.query(ckan_model.Package.id)
        .filter(ckan_model.Package.state == "active")
        .order_by(ckan_model.Package.id)
    ]
    show = tk.get_action("package_show")
    started = time.perf_counter()
    embed_seconds = 0.0
    for chunk in index.batches(ids, max(1, batch)):
        datasets = [show({"ignore_auth": True}, {"id": pid}) for pid in chunk]
        t0 = time.perf_counter()
        index.prepare(datasets)
        embed_seconds += time.perf_counter() - t0
        compat.reindex_datasets(chunk)
        index.forget_prepared()
    total = time.perf_counter() - started
    click.echo(
        f"{len(ids)} datasets indexed with vectors in {total:.1f} s "
        f"(embedding {embed_seconds:.1f} s, {1000 * embed_seconds / max(1, len(ids)):.1f} ms per dataset)"
    )


def get_commands() -> list[click.Command]:
    from ckanext.udp.commands import register

    return register(semantic)
