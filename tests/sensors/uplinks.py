"""Uplink payload builders for the sensor tests (official shapes, from the
hand-written fixtures), the webhook secret the tests configure, and a consumer
running in a thread."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import pathlib
import threading
import uuid
from collections.abc import Iterator

from ckanext.udp.sensors.logic.ingest import Ingester, Message

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
SECRET = "test-webhook-secret-0123456789"


T0 = dt.datetime(2026, 6, 15, 8, 0, 0, tzinfo=dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, as TTS sends


def tts(device: str = "soil-fp-01", f_cnt: int = 1, t: dt.datetime = T0, **values) -> bytes:
    d = json.loads((FIXTURES / "tts_uplink.json").read_text())
    d["end_device_ids"]["device_id"] = device
    d["received_at"] = iso(t)
    d["correlation_ids"][1] = f"as:up:{uuid.uuid4().hex}"
    d["uplink_message"]["f_cnt"] = f_cnt
    if values:
        d["uplink_message"]["decoded_payload"] = values
    return json.dumps(d).encode()


def chirpstack(eui: str = "a81758fffe0412c3", f_cnt: int = 1, t: dt.datetime = T0, **values) -> bytes:
    d = json.loads((FIXTURES / "chirpstack_up.json").read_text())
    d["deviceInfo"]["devEui"] = eui
    d["time"] = t.isoformat()
    d["fCnt"] = f_cnt
    d["deduplicationId"] = str(uuid.uuid4())
    if values:
        d["object"] = copy.deepcopy(values)
    return json.dumps(d).encode()


def msg(topic: str, payload: bytes) -> Message:
    return Message(topic, payload, dt.datetime.now(dt.timezone.utc))


@contextlib.contextmanager
def consuming(ingester: Ingester, client_id: str, **kw) -> Iterator[tuple]:
    """A consumer on the stack's broker, in a thread, subscribed; stopped on leaving."""
    import ckan.plugins.toolkit as tk

    from ckanext.udp.sensors.logic.consumer import Consumer

    consumer = Consumer(
        ingester,
        tk.config["ckanext.udp.mqtt.url"],
        client_id,
        ingester.sources.topics,
        **{"batch_size": 50, "batch_wait": 0.1, **kw},
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.subscribed.wait(20), "consumer did not subscribe"
        yield consumer, thread
    finally:
        consumer.stop.set()
        thread.join(10)
