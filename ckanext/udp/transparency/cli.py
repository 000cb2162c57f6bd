"""``ckan udp transparency …``: the worker, a full sync and the drift report."""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

import ckan.model as model
import click

from ckanext.udp.transparency import outbox, sync
from ckanext.udp.transparency.portal import Portal


def _portal() -> Portal:
    portal = Portal.from_config()
    if portal is None:
        raise click.ClickException("ckanext.udp.transparency.url ist nicht gesetzt")
    return portal


@click.group("transparency", short_help="Transparenzportal: Übertragung und Abgleich")
def transparency() -> None:
    """Übertragung veröffentlichter offener Datensätze ins Transparenzportal."""


@transparency.command("worker")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    help="Längste Pause, wenn nichts ansteht (neue Änderungen wecken den Dienst sofort per LISTEN/NOTIFY)",
)
@click.option("--once", is_flag=True, help="Einmal alles Fällige ausliefern, dann enden")
def worker(interval: float, once: bool) -> None:
    """Liefert den Postausgang (Outbox) aus, bis das Programm beendet wird."""
    portal = Portal.from_config()
    if portal is None:
        click.echo("ckanext.udp.transparency.url ist nicht gesetzt: nichts zu tun", err=True)
        if once:
            return
    stopping: list[bool] = []
    wakeup = sync.Wakeup()

    def stop(*_args: Any) -> None:
        stopping.append(True)
        wakeup.interrupt()  # ends a wait for work at once (not a delivery in flight)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wakeup.on_signals()
    if once:
        assert portal is not None
        stats = sync.deliver(portal)
        click.echo(
            f"übertragen {stats.pushed}, entfernt {stats.removed}, unverändert {stats.unchanged}, "
            f"fehlgeschlagen {stats.failed}"
        )
        return
    if portal is None:
        while not stopping:
            wakeup.wait_for_stop(5)
        return
    sync.run_worker(portal, interval=interval, stop=lambda: bool(stopping), wakeup=wakeup)
    click.echo(f"{time.strftime('%H:%M:%S')} Dienst beendet", err=True)


@transparency.command("sync")
@click.option("--all", "all_", is_flag=True, help="Alle Datensätze abgleichen")
@click.option("--report-only", is_flag=True, help="Nur berichten, nichts übertragen")
def sync_cmd(all_: bool, report_only: bool) -> None:
    """Abgleich: listet, was im Portal fehlt, überzählig oder anders ist, und
    stellt (ohne --report-only) alle Datensätze zur Übertragung in den Postausgang."""
    if not all_:
        raise click.UsageError("bitte --all angeben")
    portal = _portal()
    found = sync.report(portal)
    for item in found:
        click.echo(item["text"])
    click.echo(f"{len(found)} Abweichung(en)")
    if not report_only:
        ids = sync.hub_public_ids()
        ids += [pid for pid in sync.live_ids() if pid not in set(ids)]
        outbox.enqueue(ids)
        model.Session.commit()
        click.echo(f"{len(ids)} Datensätze zur Übertragung vorgemerkt")
    sys.exit(1 if found else 0)


@transparency.command("status")
def status() -> None:
    """Wie viele Änderungen noch im Postausgang warten."""
    click.echo(f"{outbox.pending()} Änderung(en) im Postausgang")
