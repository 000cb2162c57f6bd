"""``ckan udp harvest``: harvest sources from the command line, and the queue consumers.

ckan udp harvest sources                      the sources and their last runs
ckan udp harvest add TITLE URL --type udp_dcat --org ORG [--state published] [--access open]
                     [--frequency MANUAL] [--config '{"max_pages": 50}']
ckan udp harvest run SOURCE [--queue]         run now in this process (or put it on the gather queue)
ckan udp harvest runs SOURCE                  the last runs with every error
ckan udp harvest gather-consumer              consume the gather queue (``consumers``)
ckan udp harvest fetch-consumer               consume the fetch queue
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import ckan.plugins.toolkit as tk
import click
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.commands import register
from ckanext.udp.harvest import runner
from ckanext.udp.harvest.interfaces import ACCESS_KEY, STATE_KEY


def _context() -> Context:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": user["name"], "ignore_auth": True}


def _source_id(ref: str) -> str:
    try:
        return tk.get_action("harvest_source_show")(_context(), {"id": ref})["id"]
    except tk.ObjectNotFound:
        raise click.ClickException(f"no harvest source {ref!r}") from None


def _line(run: dict[str, Any]) -> str:
    return (
        f"{run['created'] or '-':26} {run['status']:9} neu {run['added']:5} aktualisiert {run['updated']:5} "
        f"unverändert {run['not_modified']:5} archiviert {run['archived']:4} Fehler {run['errors']:4}"
    )


@click.group(name="harvest", short_help="Harvest sources: list, add, run, show runs; queue consumers")
def harvest() -> None:
    """Harvest sources of the udp harvesters, and the harvest queue consumers."""


def get_commands() -> list[click.Command]:
    """``ckan udp harvest …`` (``IClick.get_commands`` of ``udp_harvest_dashboard``)."""
    return register(harvest)


@harvest.command()
def sources() -> None:
    """The harvest sources and their last runs."""
    for source in tk.get_action("udp_harvest_sources")(_context(), {"runs": 3}):
        org = (source["organization"] or {}).get("name", "-")
        click.echo(
            f"{source['name']}  [{source['type']}]  {source['url']}  org={org}  "
            f"neue Datensätze: {source['new_dataset_state'] or 'draft'}"
        )
        for run in source["runs"]:
            click.echo("    " + _line(run))


@harvest.command()
@click.argument("title")
@click.argument("url")
@click.option("--type", "source_type", required=True, help="udp_dcat, udp_ckan, udp_csw, udp_filedrop, sensorthings")
@click.option("--org", required=True, help="the organization the datasets belong to")
@click.option(
    "--state",
    type=click.Choice(["draft", "in_review", "published"]),
    default="draft",
    help="the state new datasets enter",
)
@click.option("--access", type=click.Choice(["open", "internal", "restricted"]), default=None)
@click.option("--frequency", default="MANUAL", type=click.Choice(["MANUAL", "DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY"]))
@click.option("--config", "config_json", default="{}", help="further settings as a JSON object")
def add(
    title: str, url: str, source_type: str, org: str, state: str, access: str | None, frequency: str, config_json: str
) -> None:
    """Add a harvest source (checked like one added in the dashboard)."""
    try:
        config = json.loads(config_json)
    except ValueError as err:
        raise click.BadParameter(f"not JSON: {err}", param_hint="--config") from None
    if not isinstance(config, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--config")
    config[STATE_KEY] = state
    if access:
        config[ACCESS_KEY] = access
    name = (compat.munge_name(title)[:80].strip("-") or "quelle") + "-" + uuid.uuid4().hex[:6]
    try:
        source = tk.get_action("harvest_source_create")(
            _context(),
            {
                "name": name,
                "title": title,
                "url": url,
                "source_type": source_type,
                "owner_org": org,
                "frequency": frequency,
                "config": json.dumps(config, ensure_ascii=False),
            },
        )
    except tk.ValidationError as err:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in err.error_dict.items())) from None
    click.echo(f"added {source['name']} ({source['id']})")


@harvest.command()
@click.argument("source")
@click.option("--queue", "use_queue", is_flag=True, help="put the job on the gather queue instead")
def run(source: str, use_queue: bool) -> None:
    """Run a source now."""
    source_id = _source_id(source)
    if use_queue:
        try:
            tk.get_action("udp_harvest_run_now")(_context(), {"id": source_id})
        except tk.ValidationError as err:
            raise click.ClickException("; ".join(str(v) for v in err.error_dict.values())) from None
        click.echo("queued")
        return
    job_id = runner.run_source(source_id)
    shown = tk.get_action("udp_harvest_source_runs")(_context(), {"id": source_id, "limit": 1})
    run_dict = next((r for r in shown["runs"] if r["id"] == job_id), None)
    if run_dict:
        click.echo(_line(run_dict))
        for error in run_dict["error_list"]:
            click.echo(f"  {error['stage']}: {error['record'] or ''} {error['message']}")
        if run_dict["errors"]:
            sys.exit(1)


@harvest.command()
@click.argument("source")
@click.option("--limit", default=5)
def runs(source: str, limit: int) -> None:
    """The last runs of a source with every error."""
    shown = tk.get_action("udp_harvest_source_runs")(_context(), {"id": _source_id(source), "limit": limit})
    for run_dict in shown["runs"]:
        click.echo(_line(run_dict))
        for error in run_dict["error_list"]:
            click.echo(f"  {error['stage']}: {error['record'] or ''} {error['message']}")


@harvest.command("gather-consumer")
def gather_consumer() -> None:
    """Consume the harvest gather queue (instead of ``ckan harvester gather-consumer``)."""
    from ckanext.udp.harvest_dashboard import consumers

    consumers.consume("gather")


@harvest.command("fetch-consumer")
def fetch_consumer() -> None:
    """Consume the harvest fetch queue (instead of ``ckan harvester fetch-consumer``)."""
    from ckanext.udp.harvest_dashboard import consumers

    consumers.consume("fetch")
