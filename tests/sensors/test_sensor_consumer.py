"""The MQTT consumer against the stack's real Mosquitto: messages published
in TTS and ChirpStack shapes (duplicates, out of order, malformed, unknown
device) are read back through datastore_search; a consumer killed mid-stream
and restarted loses nothing and duplicates nothing."""
from __future__ import annotations

import datetime as dt
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.udp.harvesters import lorawan
from ckanext.udp.sensors.logic.consumer import Consumer

from uplinks import SECRET, T0, chirpstack, tts

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def publisher() -> mqtt.Client:
    url = urlparse(tk.config["ckanext.udp.mqtt.url"])
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    pub.max_inflight_messages_set(200)
    pub.connect(url.hostname, url.port)
    pub.loop_start()
    return pub


def publish_all(pub: mqtt.Client, items: list[tuple[str, bytes]]) -> None:
    infos = [pub.publish(topic, payload, qos=1) for topic, payload in items]
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()


def publish_once(items: list[tuple[str, bytes]]) -> None:
    """Publish with a fresh client and disconnect it."""
    pub = publisher()
    try:
        publish_all(pub, items)
    finally:
        pub.loop_stop()
        pub.disconnect()


def total(resource_id: str) -> int:
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": resource_id, "limit": 0})["total"]


def records(resource_id: str, **kw) -> list[dict]:
    return tk.get_action("datastore_search")(
        {"ignore_auth": True}, {"resource_id": resource_id, "limit": 32000, **kw})["records"]


def wait_for(pred, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def dead_reasons() -> list[str]:
    model.Session.remove()
    return [r[0] for r in model.Session.execute(sa.text(
        "SELECT reason FROM udp_sensor_dead_letter ORDER BY reason")).fetchall()]


def test_consumer_stores_both_flavours_once_and_dead_letters_the_rest(sensor_env, ingester):
    e = sensor_env
    consumer = Consumer(ingester, tk.config["ckanext.udp.mqtt.url"], f"test-{e.tag}",
                        ingester.sources.topics, batch_size=50, batch_wait=0.1)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.subscribed.wait(20), "consumer did not subscribe"
        m = dt.timedelta(minutes=1)
        dup = tts(f_cnt=5, t=T0 + 5 * m, soil_moisture=31.0)
        items = [
            (e.tts_topic(), tts(f_cnt=10, t=T0 + 10 * m, soil_moisture=33.0)),   # newest first
            (e.tts_topic(), dup),
            (e.tts_topic(), dup),                                                 # broker-level duplicate
            (e.tts_topic(), tts(f_cnt=1, t=T0 + 1 * m, soil_moisture=30.0)),     # out of order
            (e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=2, t=T0, soil_moisture=12.5)),
            (e.cs_topic(), chirpstack(f_cnt=77, t=T0, temperature=19.0, co2=455)),
            (e.cs_topic(), chirpstack(f_cnt=77, t=T0, temperature=19.0, co2=455)),  # same uplink, new dedup id
            (e.cs_topic("0000000000000bad"), chirpstack("0000000000000bad", f_cnt=1)),  # unknown device
            (e.tts_topic(), b"\x00\x01 not json"),                                 # malformed
            (e.tts_topic(), tts(f_cnt=11).replace(b"decoded_payload", b"frm_payload_x")),  # undecoded
        ]
        publish_once(items)
        soil = ingester.series[e.soil["name"]]
        air = ingester.series[e.air["name"]]
        wait_for(lambda: consumer.totals.received >= len(items), what="all messages consumed")
    finally:
        consumer.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    rows = records(soil.observations, sort="device, time")
    assert [(r["device"], r["f_cnt"]) for r in rows] == [
        ("soil-fp-01", 1), ("soil-fp-01", 5), ("soil-fp-01", 10), ("soil-fp-02", 2)]
    latest = {r["device"]: r["f_cnt"] for r in records(soil.latest)}
    assert latest == {"soil-fp-01": 10, "soil-fp-02": 2}
    assert [(r["device"], r["co2"]) for r in records(air.observations)] == [("Kaiserstraße 3", 455)]
    assert total(soil.observations) == 4
    assert dead_reasons() == sorted([lorawan.MALFORMED_JSON, lorawan.UNDECODED_PAYLOAD, lorawan.UNKNOWN_DEVICE])


def _start(ini: str, sources: pathlib.Path, client_id: str, log: pathlib.Path) -> subprocess.Popen:
    ckan = pathlib.Path(sys.executable).parent / "ckan"
    proc = subprocess.Popen(
        [str(ckan), "-c", ini, "udp", "sensors", "consume", "--sources", str(sources), "--client-id", client_id,
         "--batch-size", "100"],
        stdout=subprocess.DEVNULL, stderr=open(log, "ab"), start_new_session=True,
        env={**os.environ, "UDP_TEST_LUFT_SECRET": SECRET},
    )
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if "subscribed" in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            pytest.fail(f"consumer exited with {proc.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"consumer did not subscribe: {log.read_text()[-2000:]}")


def test_killed_consumer_loses_nothing_and_duplicates_nothing(sensor_env, ingester, tmp_path):
    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    ini = tk.config["__file__"]
    client_id = f"test-kill-{e.tag}"
    n1, n2 = 600, 300
    items = [(e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(seconds=i), soil_moisture=float(i % 50)))
             for i in range(1, n1 + n2 + 1)]
    log = tmp_path / "consumer.log"
    proc = _start(ini, e.path, client_id, log)
    pub = publisher()
    try:
        publish_all(pub, items[:n1])
        # kill it hard while it is in the middle of the stream
        wait_for(lambda: total(soil.observations) > 0, what="first batch visible")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stored_at_kill = total(soil.observations)
        # published while no consumer runs: the broker queues them in the session
        publish_all(pub, items[n1:])
        # and a few replays of already stored uplinks
        publish_all(pub, items[:5])
        proc = _start(ini, e.path, client_id, log)
        wait_for(lambda: total(soil.observations) >= n1 + n2, timeout=120, what="all uplinks stored")
        time.sleep(1.0)  # let any late redelivery land, it must not add rows
    finally:
        pub.loop_stop()
        pub.disconnect()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    assert 0 < stored_at_kill < n1 + n2
    rows = records(soil.observations, fields="f_cnt", sort="f_cnt")
    assert [r["f_cnt"] for r in rows] == list(range(1, n1 + n2 + 1))
    assert total(soil.observations) == n1 + n2
    hourly = records(soil.hourly)
    assert sum(r["n"] for r in hourly) == n1 + n2
    assert dead_reasons() == []
    assert proc.returncode == 0, log.read_text()[-2000:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mosquitto(conf: pathlib.Path, port: int) -> subprocess.Popen:
    binary = next((p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), "mosquitto")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("private Mosquitto did not start")


def test_consumer_survives_a_broker_restart(sensor_env, ingester, tmp_path):
    """A broker of its own (real Mosquitto, persistent): stopped and started
    again while the consumer runs; the consumer reconnects to its session."""
    e = sensor_env
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {tmp_path}/\n" + ("user root\n" if os.getuid() == 0 else ""))
    broker = _mosquitto(conf, port)
    url = f"mqtt://127.0.0.1:{port}"
    consumer = Consumer(ingester, url, f"test-outage-{e.tag}", ingester.sources.topics, batch_size=50)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    soil = ingester.series[e.soil["name"]]

    def send(first: int, last: int) -> None:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        publish_all(pub, [(e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(seconds=i), soil_moisture=1.0))
                          for i in range(first, last + 1)])
        pub.loop_stop()
        pub.disconnect()

    try:
        assert consumer.subscribed.wait(20)
        send(1, 50)
        wait_for(lambda: total(soil.observations) == 50, what="first uplinks")
        broker.terminate()
        broker.wait(10)
        wait_for(lambda: not consumer.connected.is_set(), timeout=10, what="the consumer to notice")
        broker = _mosquitto(conf, port)
        wait_for(lambda: consumer.subscribed.is_set(), timeout=30, what="reconnect and subscription")
        send(51, 120)
        wait_for(lambda: total(soil.observations) == 120, what="uplinks after the restart")
    finally:
        consumer.stop.set()
        thread.join(10)
        broker.terminate()
        broker.wait(10)
    assert [r["f_cnt"] for r in records(soil.observations, fields="f_cnt", sort="f_cnt")] == list(range(1, 121))


def test_two_consumers_on_a_shared_subscription_split_the_stream(sensor_env, tmp_path):
    """$share/<group>/...: each uplink goes to one of the two consumers; together they store
    every uplink once, and the hourly values stay exact (both write the same hours)."""
    from ckanext.udp.sensors.logic.ingest import Ingester, write_engine
    from ckanext.udp.sensors.logic.series import ensure_all

    e = sensor_env
    srcs = e.sources
    series = ensure_all(srcs)
    model.Session.remove()
    engines = [write_engine(), write_engine()]
    consumers = [Consumer(Ingester(srcs, series, eng, model.meta.engine), tk.config["ckanext.udp.mqtt.url"],
                          f"test-{e.tag}-{k}", srcs.topics, batch_size=20, batch_wait=0.05,
                          shared_group=f"g{e.tag}") for k, eng in enumerate(engines)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
    for t in threads:
        t.start()
    try:
        assert all(c.subscribed.wait(20) for c in consumers)
        n = 300
        items = [(e.tts_topic(f"soil-fp-0{1 + i % 2}"),
                  tts(f"soil-fp-0{1 + i % 2}", f_cnt=i, t=T0 + dt.timedelta(seconds=10 * i), soil_moisture=float(i)))
                 for i in range(n)]
        publish_once(items)
        wait_for(lambda: sum(c.totals.received for c in consumers) >= n, what="all uplinks consumed")
    finally:
        for c in consumers:
            c.stop.set()
        for t in threads:
            t.join(10)
        for eng in engines:
            eng.dispose()
    assert all(c.totals.received > 0 for c in consumers), [c.totals.received for c in consumers]
    assert sum(c.totals.inserted for c in consumers) == n
    soil = series[e.soil["name"]]
    assert total(soil.observations) == n
    hourly = records(soil.hourly)
    # 300 uplinks 10 s apart (50 minutes): every one counted once in the hourly values, whoever wrote it
    assert sum(r["n"] for r in hourly) == n
    per_device = {d: sum(r["n"] for r in hourly if r["device"] == d) for d in ("soil-fp-01", "soil-fp-02")}
    assert per_device == {"soil-fp-01": n // 2, "soil-fp-02": n // 2}


def test_a_shared_group_with_topic_characters_is_refused(sensor_env, ingester):
    with pytest.raises(ValueError, match="shared subscription group"):
        Consumer(ingester, "mqtt://127.0.0.1:1", "x", ("a/#",), shared_group="a/b")
