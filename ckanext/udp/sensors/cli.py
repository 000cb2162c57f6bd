"""``ckan udp sensors ...``: set up the series, run the MQTT consumer, inspect dead letters."""
from __future__ import annotations

import logging

import click

import ckan.plugins.toolkit as tk

__all__ = ["sensors"]


def _series(srcs):
    from ckanext.udp.sensors.logic.series import ensure_all

    try:
        return ensure_all(srcs)
    except tk.ObjectNotFound as err:
        raise click.ClickException(
            f"a dataset named in the sensor sources does not exist ({err}); create it first") from err


def _sources(path: str | None):
    from ckanext.udp.sensors.logic.sources import SourceConfigError, load_sources

    try:
        return load_sources(path or tk.config.get("ckanext.udp.sensors.sources"))
    except SourceConfigError as err:
        raise click.ClickException(str(err)) from err


@click.group(short_help="LoRaWAN sensor data (MQTT consumer, DataStore series)")
def sensors() -> None:
    """Sensor sources of the udp_sensors plugin."""


@sensors.command("setup")
@click.option("--sources", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Sources file (default: ckanext.udp.sensors.sources).")
def setup(path: str | None) -> None:
    """Create the DataStore resources of every configured dataset (idempotent)."""
    srcs = _sources(path)
    for name, ser in _series(srcs).items():
        click.echo(f"{name}: observations {ser.observations}, latest {ser.latest}, hourly {ser.hourly}")


@sensors.command("consume")
@click.option("--sources", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Sources file (default: ckanext.udp.sensors.sources).")
@click.option("--client-id", default=None, help="MQTT client id (default: ckanext.udp.sensors.client_id).")
@click.option("--url", default=None, help="Broker URL (default: ckanext.udp.mqtt.url).")
@click.option("--batch-size", type=int, default=None, help="Default: ckanext.udp.sensors.batch_size.")
@click.option("--instance", type=click.IntRange(min=1), default=None,
              help="Number of this consumer when several share the load (shared subscription, "
                   "ckanext.udp.sensors.shared_group): the client id gets '-<instance>'. Keep it stable per process.")
def consume(path: str | None, client_id: str | None, url: str | None, batch_size: int | None,
            instance: int | None) -> None:
    """Subscribe to the sources' topics and write uplinks into the DataStore (runs until SIGTERM)."""
    import ckan.model as model

    from ckanext.udp.sensors.logic.consumer import Consumer
    from ckanext.udp.sensors.logic.ingest import Ingester, write_engine
    logging.getLogger("ckanext.udp.sensors").setLevel(logging.INFO)
    srcs = _sources(path)
    if not srcs.topics:
        raise click.ClickException("no sensor sources configured (ckanext.udp.sensors.sources)")
    series = _series(srcs)
    model.Session.remove()
    ingester = Ingester(srcs, series, write_engine(), model.meta.engine)
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
    )
    consumer.install_signal_handlers()
    click.echo(f"consuming {', '.join(srcs.topics)} for {', '.join(series)}", err=True)
    totals = consumer.run()
    click.echo(f"stopped: {totals.received} received, {totals.inserted} new, {totals.duplicates} duplicates",
               err=True)


@sensors.command("dead-letters")
@click.option("--limit", default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """The newest messages that could not be stored, with the reason."""
    import sqlalchemy as sa

    import ckan.model as model

    rows = model.Session.execute(sa.text(
        "SELECT received_at, source, topic, reason, detail FROM udp_sensor_dead_letter "
        "ORDER BY id DESC LIMIT :n"), {"n": limit}).fetchall()
    for r in rows:
        click.echo(f"{r[0]:%Y-%m-%dT%H:%M:%S%z}  {r[3]:<20} {r[1] or '-'} {r[2]}  {r[4]}")


@sensors.command("demo-publish")
@click.option("--days", type=float, default=2, show_default=True, help="How far back, in days.")
def demo_publish(days: float) -> None:
    """Publish demo uplinks (every 15 minutes) for the devices of the demo source to the broker."""
    import datetime as dt

    from ckanext.udp.sensors.logic import demo

    srcs = _sources(None)
    src = srcs.by_name("friedrichsplatz")
    if src is None or src.flavour != "tts":
        raise click.ClickException("the demo source 'friedrichsplatz' is not configured")
    import re

    m = re.fullmatch(r"v3/(?P<app>[^@/+#]+)@(?P<tenant>[^/+#]+)/devices/\+/up", src.topics[0])
    if m is None:
        raise click.ClickException(f"unexpected topic pattern {src.topics[0]!r} in the demo source")
    devices = [d.key for d in src.devices]
    items = list(demo.uplinks(devices, m["app"], m["tenant"], days, dt.datetime.now(dt.timezone.utc)))
    sent = demo.publish(tk.config.get("ckanext.udp.mqtt.url"), items)
    click.echo(f"published {sent} of {len(items)} demo uplinks for {', '.join(devices)}")
