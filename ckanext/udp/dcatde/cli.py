"""``ckan udp dcatde validate``: check datasets' DCAT-AP.de RDF offline against the official shapes.

The RDF comes from ckanext-dcat's ``RDFSerializer`` with the profiles the site
configures (``ckanext.dcat.rdf.profiles``: ``euro_dcat_ap_3`` today,
``dcatap_de`` once that profile is active), so it is exactly what the catalog
endpoint publishes. Output is German, for data stewards and operators.

Exported: the click group :data:`dcatde_commands`, which the plugin adds to
the shared ``ckan udp`` group (``ckan udp dcatde validate``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
import click
import rdflib

from ckanext.udp.dcatde import validation

SEVERITY_DE = {"Violation": "Verstoß", "Warning": "Warnung", "Info": "Hinweis"}
PAGE = 100


@dataclass(frozen=True)
class Checked:
    name: str
    report: validation.Report


def dataset_graph(dataset: dict[str, Any]) -> rdflib.Graph:
    """The dataset's RDF as the configured ckanext-dcat profiles write it."""
    from ckanext.dcat.processors import RDFSerializer

    serializer = RDFSerializer()
    serializer.graph_from_dataset(dataset)
    return serializer.g


def catalog_graph() -> rdflib.Graph:
    """The catalog node alone (publisher, language, homepage ...)."""
    from ckanext.dcat.processors import RDFSerializer

    serializer = RDFSerializer()
    serializer.graph_from_catalog()
    return serializer.g


def public_datasets() -> Iterator[dict[str, Any]]:
    """Every public, active dataset, as the catalog endpoint lists them."""
    search = tk.get_action("package_search")
    start = 0
    while True:
        page = search(
            {"ignore_auth": True},
            {"q": "*:*", "rows": PAGE, "start": start, "sort": "id asc", "include_private": False},
        )
        yield from page["results"]
        start += PAGE
        if start >= page["count"] or not page["results"]:
            return


def check(datasets: Iterator[dict[str, Any]], *, dashboard: bool = False) -> Iterator[Checked]:
    for dataset in datasets:
        yield Checked(dataset["name"], validation.validate(dataset_graph(dataset), dashboard=dashboard))


def _print_results(report: validation.Report) -> None:
    for result in report.results:
        severity = SEVERITY_DE.get(result.severity, result.severity)
        where = result.focus_node + (f" {result.path}" if result.path else "")
        value = f" (Wert: {result.value})" if result.value else ""
        click.echo(f"    [{severity}] {where}: {result.message}{value}")


@click.group("dcatde", short_help="DCAT-AP.de: Validierung")
def dcatde_commands() -> None:
    """DCAT-AP.de commands of ckanext-udp."""


@dcatde_commands.command("validate")
@click.argument("dataset", required=False)
@click.option("--all", "whole", is_flag=True, help="Den ganzen Katalog prüfen (alle öffentlichen Datensätze).")
@click.option("--dashboard", is_flag=True, help="Auch GovDatas Dashboard-Regeln anwenden.")
@click.option("-v", "--verbose", is_flag=True, help="Jeden Befund einzeln ausgeben.")
def validate(dataset: str | None, whole: bool, dashboard: bool, verbose: bool) -> None:
    """Prüft DCAT-AP.de-RDF gegen die offiziellen SHACL-Shapes (DATASET: id oder Name)."""
    if bool(dataset) == whole:
        raise click.UsageError("Entweder einen Datensatz (id oder Name) oder --all angeben.")
    try:
        shapes = validation.load_shapes(dashboard=dashboard)
    except validation.ShapesNotFound as exc:
        raise click.ClickException(f"Shapes nicht gefunden: {exc}") from None
    click.echo(f"Shapes aus {shapes.directory} geladen in {shapes.load_seconds:.2f} s")

    found: Iterable[dict[str, Any]]
    if dataset:
        try:
            found = [tk.get_action("package_show")({"ignore_auth": True}, {"id": dataset})]
        except tk.ObjectNotFound:
            raise click.ClickException(f"Datensatz {dataset!r} nicht gefunden.") from None
    else:
        found = public_datasets()

    started = time.perf_counter()
    checked: list[Checked] = []
    for item in check(iter(found), dashboard=dashboard):
        checked.append(item)
        colour = "green" if item.report.conforms else "red"
        click.secho(f"{item.name}: {item.report.summary_de()} ({item.report.seconds:.2f} s)", fg=colour)
        if verbose:
            _print_results(item.report)
    if whole:
        report = validation.validate(catalog_graph(), dashboard=dashboard)
        checked.append(Checked("(Katalog)", report))
        click.secho(f"Katalog: {report.summary_de()}", fg="green" if report.conforms else "red")
        if verbose:
            _print_results(report)

    elapsed = time.perf_counter() - started
    failing = [c for c in checked if not c.report.conforms]
    violations = sum(len(c.report.violations) for c in checked)
    warnings = sum(len(c.report.warnings) for c in checked)
    per = elapsed / len(checked) if checked else 0.0
    click.echo(
        f"Geprüft: {len(checked)}, davon nicht konform: {len(failing)}; "
        f"{violations} Verstöße, {warnings} Warnungen; {elapsed:.1f} s ({per:.2f} s je Prüfung)"
    )
    if failing:
        raise SystemExit(1)


@dcatde_commands.command("linkcheck")
@click.option("--dataset", "dataset", default=None, help="Nur diesen Datensatz prüfen (id oder Name).")
@click.option("--queue", is_flag=True, help="Je Datensatz einen Hintergrund-Job einreihen statt sofort zu prüfen.")
def linkcheck_command(dataset: str | None, queue: bool) -> None:
    """Download-Adressen außerhalb des Portals prüfen; defekte sehen die Redakteure am Datensatz."""
    from ckanext.udp.dcatde import linkcheck

    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site_user["name"], "ignore_auth": True}
    if dataset:
        try:
            datasets = [tk.get_action("package_show")(dict(context), {"id": dataset})]
        except tk.ObjectNotFound:
            raise click.ClickException(f"Datensatz {dataset!r} nicht gefunden.") from None
    else:
        datasets = list(all_datasets(context))
    broken = 0
    for pkg in datasets:
        if queue:
            tk.enqueue_job(linkcheck.check_dataset_job, [pkg["id"]], title=f"Linkprüfung {pkg['name']}")
            continue
        results = linkcheck.check_dataset(pkg)
        for result in results.values():
            if result["status"] == linkcheck.BROKEN:
                broken += 1
                click.echo(f"{pkg['name']}: {result['url']}: {linkcheck.reason(result)}")
    if queue:
        click.echo(f"{len(datasets)} Prüfungen eingereiht.")
    else:
        click.echo(f"Geprüft: {len(datasets)} Datensätze, {broken} defekte Adressen.")


def all_datasets(context: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every active dataset, private and draft ones included (for the stewards)."""
    search = tk.get_action("package_search")
    start = 0
    while True:
        page = search(
            dict(context),
            {
                "q": "*:*",
                "rows": PAGE,
                "start": start,
                "sort": "id asc",
                "include_private": True,
                "include_drafts": True,
            },
        )
        yield from page["results"]
        start += PAGE
        if start >= page["count"] or not page["results"]:
            return


__all__ = ["dcatde_commands", "validate", "linkcheck_command", "dataset_graph", "catalog_graph", "public_datasets"]
