"""Redis and the MQTT broker are the real ones the stack started."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlparse

import ckan.plugins.toolkit as tk
import paho.mqtt.client as mqtt
import pytest
from ckan.lib.redis import connect_to_redis, is_redis_available


def test_redis_is_real_and_separate_from_the_demo():
    assert is_redis_available()
    conn = connect_to_redis()
    assert conn.connection_pool.connection_kwargs["db"] == 1
    key = f"udp-test-{uuid.uuid4()}"
    conn.set(key, "x", ex=10)
    assert conn.get(key) == b"x"
    conn.delete(key)


def test_mosquitto_round_trip():
    url = urlparse(tk.config.get("ckanext.udp.mqtt.url"))
    topic = f"udp/test/{uuid.uuid4()}"
    got = threading.Event()
    payloads: list[bytes] = []

    def on_message(client, userdata, msg):
        payloads.append(msg.payload)
        got.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.connect(url.hostname, url.port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    try:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect(url.hostname, url.port)
        pub.loop_start()
        # wait until the subscription is in place before publishing
        for _ in range(50):
            info = pub.publish(topic, b'{"temperature": 21.5}', qos=1)
            info.wait_for_publish(5)
            if got.wait(0.2):
                break
        pub.loop_stop()
        pub.disconnect()
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert payloads and payloads[0] == b'{"temperature": 21.5}'


@pytest.mark.usefixtures("with_plugins")
def test_mqtt_url_is_declared():
    assert tk.config.get("ckanext.udp.mqtt.url").startswith("mqtt://127.0.0.1:")
