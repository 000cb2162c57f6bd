"""``ckan udp sensors ...``: set up the series, run the MQTT consumer, inspect,
prune and replay dead letters, rename pseudonymised devices, publish demo uplinks."""

from __future__ import annotations

import logging

import ckan.plugins.toolkit as tk
import click

__all__ = ["sensors"]


def _series(srcs):
    from ckanext.udp.sensors.logic.series import ensure_all

    try:
        return ensure_all(srcs)
    except tk.ObjectNotFound as err:
        raise click.ClickException(
            f"a dataset named in the sensor sources does not exist ({err}); create it first"
        ) from err


def _sources(path: str | None):
    from ckanext.udp.sensors.logic.sources import SourceConfigError, load_sources

    try:
        return load_sources(path or tk.config.get("ckanext.udp.sensors.sources"))
    except SourceConfigError as err:
        raise click.ClickException(str(err)) from err


@click.group(short_help="LoRaWAN sensor data (MQTT consumer, DataStore series)")
def sensors() -> None:
    """Sensor sources of the udp_sensors plugin."""


#: ``--sources FILE``, shared by the commands that read the sources file
sources_option = click.option(
    "--sources",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Sources file (default: ckanext.udp.sensors.sources).",
)


@sensors.command("setup")
@sources_option
def setup(path: str | None) -> None:
    """Create the DataStore resources of every configured dataset (idempotent)."""
    srcs = _sources(path)
    for name, ser in _series(srcs).items():
        click.echo(f"{name}: observations {ser.observations}, latest {ser.latest}, hourly {ser.hourly}")


@sensors.command("consume")
@sources_option
@click.option("--client-id", default=None, help="MQTT client id (default: ckanext.udp.sensors.client_id).")
@click.option("--url", default=None, help="Broker URL (default: ckanext.udp.mqtt.url).")
@click.option("--batch-size", type=int, default=None, help="Default: ckanext.udp.sensors.batch_size.")
@click.option(
    "--instance",
    type=click.IntRange(min=1),
    default=None,
    help="Number of this consumer when several share the load (shared subscription, "
    "ckanext.udp.sensors.shared_group): the client id gets '-<instance>'. Keep it stable per process.",
)
@click.option(
    "--max-deliveries", type=click.IntRange(min=1), default=None, help="Default: ckanext.udp.sensors.max_deliveries."
)
def consume(
    path: str | None,
    client_id: str | None,
    url: str | None,
    batch_size: int | None,
    instance: int | None,
    max_deliveries: int | None,
) -> None:
    """Subscribe to the sources' topics and write uplinks into the DataStore (runs until SIGTERM)."""
    import ckan.model as model

    from ckanext.udp.sensors.logic.consumer import Consumer

    logging.getLogger("ckanext.udp.sensors").setLevel(logging.INFO)
    srcs = _sources(path)
    if not srcs.topics:
        raise click.ClickException("no sensor sources configured (ckanext.udp.sensors.sources)")
    series = _series(srcs)
    model.Session.remove()
    ingester = _ingester(srcs, series)
    group = tk.config.get("ckanext.udp.sensors.shared_group") or None
    if instance is not None and not group:
        raise click.ClickException("--instance needs a shared subscription group (ckanext.udp.sensors.shared_group)")
    cid = client_id or tk.config.get("ckanext.udp.sensors.client_id")
    consumer = Consumer(
        ingester,
        url or tk.config.get("ckanext.udp.mqtt.url"),
        f"{cid}-{instance}" if instance is not None else cid,
        srcs.topics,
        shared_group=group,
        batch_size=batch_size or tk.config.get("ckanext.udp.sensors.batch_size"),
        batch_wait=tk.config.get("ckanext.udp.sensors.batch_wait"),
        session_expiry=tk.config.get("ckanext.udp.sensors.session_expiry"),
        on_ready=lambda: click.echo("subscribed", err=True),
        max_deliveries=max_deliveries or tk.config.get("ckanext.udp.sensors.max_deliveries"),
        dead_letter_retention_days=tk.config.get("ckanext.udp.sensors.dead_letter_retention_days"),
        dead_letter_max_rows=tk.config.get("ckanext.udp.sensors.dead_letter_max_rows"),
    )
    consumer.install_signal_handlers()
    click.echo(f"consuming {', '.join(srcs.topics)} for {', '.join(series)}", err=True)
    totals = consumer.run()
    click.echo(f"stopped: {totals.received} received, {totals.inserted} new, {totals.duplicates} duplicates", err=True)
    if consumer.failed:
        raise SystemExit(1)  # a supervisor restarts it


def _ingester(srcs, series):
    import ckan.model as model

    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors.logic.ingest import Ingester
    from ckanext.udp.sensors.logic.sources import Limits

    return Ingester(srcs, series, write_engine(), model.meta.engine, Limits.from_config())


@sensors.group("dead-letters", invoke_without_command=True)
@click.option("--limit", default=20, show_default=True, help="How many to list.")
@click.pass_context
def dead_letters(ctx: click.Context, limit: int) -> None:
    """Messages that could not be stored: list the newest (default), or replay or prune them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(dead_letters_list, limit=limit)


@dead_letters.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--summary", is_flag=True, help="Counts per reason and source instead.")
def dead_letters_list(limit: int, summary: bool = False) -> None:
    """The newest dead letters with reason, source, topic and detail."""
    import ckan.model as model
    import sqlalchemy as sa

    from ckanext.udp.sensors.logic import deadletters

    if summary:
        for reason, source, count, newest in deadletters.summary(model.meta.engine):
            click.echo(f"{count:>8}  {reason:<22} {source or '-':<20} newest {newest:%Y-%m-%dT%H:%M:%S%z}")
        return
    rows = model.Session.execute(
        sa.text(
            "SELECT id, received_at, source, topic, reason, detail FROM udp_sensor_dead_letter "
            "ORDER BY id DESC LIMIT :n"
        ),
        {"n": limit},
    ).fetchall()
    for r in rows:
        click.echo(f"#{r[0]}  {r[1]:%Y-%m-%dT%H:%M:%S%z}  {r[4]:<20} {r[2] or '-'} {r[3]}  {r[5]}")


@dead_letters.command("replay")
@click.option("--id", "ids", type=int, multiple=True, help="Only these dead letters (repeatable).")
@click.option("--reason", default=None, help="Only this reason, e.g. unknown_device.")
@click.option("--source", default=None, help="Only this source.")
@click.option("--since", type=click.DateTime(), default=None, help="Only dead letters received since (UTC).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many (oldest first).")
@click.option("--dry-run", is_flag=True, help="Only parse and map; write and delete nothing.")
@sources_option
def dead_letters_replay(
    ids: tuple[int, ...],
    reason: str | None,
    source: str | None,
    since,
    limit: int | None,
    dry_run: bool,
    path: str | None,
) -> None:
    """Send dead letters through the ingester again (after fixing the sources file, a
    dataset or a payload formatter). Stored or already stored: deleted from the dead
    letters. Failing again: kept, with the new reason."""
    import datetime as dt

    import ckan.model as model

    from ckanext.udp.sensors.logic import deadletters

    logging.getLogger("ckanext.udp.sensors").setLevel(logging.INFO)
    srcs = _sources(path)
    series = _series(srcs)
    model.Session.remove()
    flt = deadletters.Filter(
        ids=ids,
        reason=reason,
        source=source,
        limit=limit,
        since=since.replace(tzinfo=dt.timezone.utc) if since else None,
    )
    out = deadletters.replay(_ingester(srcs, series), flt, dry_run=dry_run)
    still = ", ".join(f"{n} {r}" for r, n in sorted(out.still_dead.items())) or "none"
    verb = "would be stored" if dry_run else "stored"
    click.echo(
        f"replayed {out.tried} dead letters: {out.stored} {verb}, {out.duplicates} already stored; still dead: {still}"
    )


@dead_letters.command("prune")
@click.option(
    "--days", type=click.IntRange(min=0), default=None, help="Default: ckanext.udp.sensors.dead_letter_retention_days."
)
@click.option(
    "--max-rows", type=click.IntRange(min=0), default=None, help="Default: ckanext.udp.sensors.dead_letter_max_rows."
)
def dead_letters_prune(days: int | None, max_rows: int | None) -> None:
    """Delete dead letters beyond the retention (the consumer does this hourly)."""
    import ckan.model as model

    from ckanext.udp.sensors.logic import deadletters

    done = deadletters.prune(
        model.meta.engine,
        tk.config.get("ckanext.udp.sensors.dead_letter_retention_days") if days is None else days,
        tk.config.get("ckanext.udp.sensors.dead_letter_max_rows") if max_rows is None else max_rows,
    )
    click.echo(f"deleted {done.dead_letters} dead letters and {done.deliveries} delivery counts")


@sensors.group("pseudonyms")
def pseudonyms() -> None:
    """Device pseudonyms of sources that drop device ids."""


@pseudonyms.command("rename")
@click.option(
    "--from-unkeyed", is_flag=True, help="The stored series use the unkeyed SHA-256 pseudonyms of earlier versions."
)
@click.option(
    "--old-secret-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The stored series use HMAC pseudonyms under the secret in this file (after a change of "
    "ckanext.udp.sensors.pseudonym_secret).",
)
@sources_option
def pseudonyms_rename(from_unkeyed: bool, old_secret_file: str | None, path: str | None) -> None:
    """Rename the devices of stored series from old pseudonyms to the current ones
    (observations, latest values and hourly values, in one transaction per dataset)."""
    from ckanext.udp.sensors.logic import pseudonyms as ps
    from ckanext.udp.sensors.logic.sources import legacy_pseudonym, pseudonym

    if from_unkeyed == bool(old_secret_file):
        raise click.UsageError("give exactly one of --from-unkeyed and --old-secret-file")
    if old_secret_file:
        with open(old_secret_file, encoding="utf-8") as f:
            secret = f.read().strip()

        def old(source_name: str, key: str) -> str:
            return pseudonym(source_name, key, secret)
    else:
        old = legacy_pseudonym
    srcs = _sources(path)
    series = _series(srcs)
    for dataset, renamed in ps.rename(srcs, series, old).items():
        click.echo(f"{dataset}: {renamed} devices renamed")


@sensors.command("demo-publish")
@click.option("--days", type=float, default=2, show_default=True, help="How far back, in days.")
@click.option(
    "--wait",
    type=click.IntRange(min=0),
    default=120,
    show_default=True,
    help="Seconds to wait until the consumer has stored them (0: do not wait).",
)
def demo_publish(days: float, wait: int) -> None:
    """Publish the demo uplinks (every 15 minutes) the demo series does not hold yet, and
    wait until the consumer has stored them (exit status 1 if it does not)."""
    import datetime as dt
    import re
    import time

    from ckanext.udp.sensors.logic import demo, runtime
    from ckanext.udp.sensors.logic.series import series_for_package

    srcs = _sources(None)
    src = srcs.by_name("friedrichsplatz")
    if src is None or src.flavour != "tts":
        raise click.ClickException("the demo source 'friedrichsplatz' is not configured")
    m = re.fullmatch(r"v3/(?P<app>[^@/+#]+)@(?P<tenant>[^/+#]+)/devices/\+/up", src.topics[0])
    if m is None:
        raise click.ClickException(f"unexpected topic pattern {src.topics[0]!r} in the demo source")
    devices = [d.key for d in src.devices]
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": src.devices[0].dataset})
    table = series_for_package(pkg["id"]).get("observations")
    if table is None:
        raise click.ClickException("the demo dataset has no series yet (is the consumer running?)")
    now = dt.datetime.now(dt.timezone.utc)
    items = list(demo.uplinks(devices, m["app"], m["tenant"], days, now))
    engine = runtime.read_engine()
    since = now - dt.timedelta(days=days + 1)
    have = demo.stored(engine, table, since)
    todo = [item for item in items if demo.key(item) not in have]
    sent = demo.publish(tk.config.get("ckanext.udp.mqtt.url"), todo) if todo else 0
    click.echo(
        f"published {sent} of {len(items)} demo uplinks for {', '.join(devices)} "
        f"({len(items) - len(todo)} already stored)"
    )
    if sent != len(todo):
        raise click.ClickException("the broker did not take every demo uplink")
    want = {demo.key(item) for item in todo}
    end = time.monotonic() + wait
    while wait and want:
        want -= demo.stored(engine, table, since)
        if not want:
            break
        if time.monotonic() > end:
            raise click.ClickException(
                f"the sensor consumer has not stored {len(want)} of the {len(todo)} demo "
                f"uplinks within {wait} s (is it running? see its log)"
            )
        time.sleep(0.5)
    if todo and wait:
        click.echo(f"the consumer stored all {len(todo)}")
