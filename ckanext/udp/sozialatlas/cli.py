"""``ckan udp sozialatlas ...``: publish a table with disclosure control; the demo."""

from __future__ import annotations

import click

from ckanext.udp.sozialatlas import demo as demo_data

__all__ = ["sozialatlas"]


@click.group("sozialatlas", short_help="Sozialatlas: district statistics with disclosure control")
def sozialatlas() -> None:
    """Sozialatlas: district statistics with disclosure control."""


@sozialatlas.command("publish")
@click.option("--source", "source", required=True, help="Resource id of the internal DataStore table of counts.")
@click.option("--dataset", "dataset", required=True, help="Name or id of the dataset that receives the table.")
@click.option("--minimum", type=int, default=None, help="Withhold counts below this (default: config, 3).")
def publish(source: str, dataset: str, minimum: int | None) -> None:
    """Derive the disclosure-protected table from SOURCE into DATASET."""
    import ckan.plugins.toolkit as tk

    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    data = {"resource_id": source, "dataset_id": dataset}
    if minimum is not None:
        data["minimum"] = str(minimum)
    try:
        result = tk.get_action("udp_sozialatlas_publish")({"user": site_user["name"]}, data)
    except (tk.ValidationError, tk.ObjectNotFound, tk.NotAuthorized) as err:
        raise click.ClickException(str(err)) from err
    click.secho(
        "published {rows} rows, minimum {minimum}: {counts}".format(**result),
        fg="green",
    )


@sozialatlas.command("demo")
def demo() -> None:
    """Load the demo: an internal population table and its published derivation (idempotent)."""
    result = demo_data.load()
    click.secho(
        f"Sozialatlas demo: source {result['source']} (internal), published {result['published']} "
        f"({result['rows']} rows, {result['counts']})",
        fg="green",
    )
