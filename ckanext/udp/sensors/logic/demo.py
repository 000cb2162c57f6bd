"""Demo uplinks for ``make run``: the Friedrichsplatz soil sensors of the demo
source, published to the broker as The Things Stack v3 would, so that the demo
dataset has a live-looking series. Deterministic: the frame counter follows
from the time, so an uplink is identified by device and frame counter;
``make run`` publishes only those the series does not hold yet and waits until
the consumer has stored them. The numbers are demo data."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STEP = dt.timedelta(minutes=15)


def uplinks(devices: list[str], app: str, tenant: str, days: float, now: dt.datetime) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) for every device and quarter hour of the last ``days``."""
    end = EPOCH + STEP * int((now - EPOCH) / STEP)
    start = end - dt.timedelta(days=days)
    t = start
    while t <= end:
        n = int((t - EPOCH) / STEP)
        hour = t.hour + t.minute / 60
        for k, dev in enumerate(devices):
            day = math.sin((hour - 9) / 24 * 2 * math.pi)  # warmest mid-afternoon
            doc = {
                "end_device_ids": {"device_id": dev, "application_ids": {"application_id": app}},
                "correlation_ids": [f"as:up:demo-{uuid.uuid5(uuid.NAMESPACE_URL, f'{dev}/{n}').hex}"],
                "received_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "uplink_message": {
                    "f_port": 2,
                    "f_cnt": n,
                    "decoded_payload": {
                        "soil_moisture": round(28 + 4 * k - 3 * day - (n % 96) / 96 * 2, 1),
                        "soil_temperature": round(12 + 5 * day + k * 0.3, 1),
                        "battery": round(3.62 - (n % 2000) / 2000 * 0.1, 2),
                    },
                },
            }
            yield f"v3/{app}@{tenant}/devices/{dev}/up", json.dumps(doc).encode()
        t += STEP


def key(item: tuple[str, bytes]) -> tuple[str, int]:
    """(device, frame counter) of a demo uplink."""
    doc = json.loads(item[1])
    return doc["end_device_ids"]["device_id"], doc["uplink_message"]["f_cnt"]


def stored(engine: Any, table: str, since: dt.datetime) -> set[tuple[str, int]]:
    """(device, frame counter) of the observations from ``since`` on."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(f'SELECT device, f_cnt FROM "{table}" WHERE time >= :t'),
            {"t": since.astimezone(dt.timezone.utc).replace(tzinfo=None)},
        ).fetchall()
    return {(r[0], r[1]) for r in rows}


def publish(url: str, items: list[tuple[str, bytes]]) -> int:
    """Publish at QoS 1 and wait until the broker has every message."""
    import paho.mqtt.client as mqtt

    u = urlparse(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"udp-demo-{uuid.uuid4().hex[:8]}")
    if u.username:
        client.username_pw_set(u.username, u.password)
    client.connect(u.hostname or "127.0.0.1", u.port or 1883)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in items]
        for info in infos:
            info.wait_for_publish(60)
        return sum(1 for i in infos if i.is_published())
    finally:
        client.loop_stop()
        client.disconnect()
