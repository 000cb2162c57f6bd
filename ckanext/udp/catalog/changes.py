"""When did the public catalog last change? One key in the catalog's Redis
database, bumped by the plugin's IPackageController hooks on every create,
update and delete."""

from __future__ import annotations

import datetime as dt

from .cache import connect as connect_to_redis

_KEY = "udp:catalog:last-change"


def bump() -> None:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    conn = connect_to_redis()
    # "time|counter": the counter makes two changes within one clock tick differ
    counter = conn.incr(_KEY + ":counter")
    conn.set(_KEY, f"{now}|{counter}")


def last_change() -> tuple[dt.datetime, str]:
    """(time of the last change, opaque version string)."""
    conn = connect_to_redis()
    value = conn.get(_KEY)
    if value is None:
        # first request after a Redis flush: start a new version now, which
        # is conservative (clients revalidate once)
        bump()
        value = conn.get(_KEY)
    assert isinstance(value, bytes)  # set just now; the connection answers bytes
    stamp = value.decode()
    when = dt.datetime.strptime(stamp.split("|", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return when, stamp
