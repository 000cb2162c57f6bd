"""The MQTT consumer against the stack's real Mosquitto: messages published
in TTS and ChirpStack shapes (duplicates, out of order, malformed, unknown
device) are read back through datastore_search; a consumer killed mid-stream
and restarted loses nothing and duplicates nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import ckan.model as model
import ckan.plugins.toolkit as tk
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from udp_testing import stack_port
from uplinks import SECRET, T0, chirpstack, consuming, tts

from ckanext.udp.sensors import lorawan
from ckanext.udp.sensors.logic.consumer import Consumer

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
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": resource_id, "limit": 32000, **kw})[
        "records"
    ]


def wait_for(pred, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def dead_reasons() -> list[str]:
    model.Session.remove()
    return [
        r[0]
        for r in model.Session.execute(sa.text("SELECT reason FROM udp_sensor_dead_letter ORDER BY reason")).fetchall()
    ]


def test_consumer_stores_both_flavours_once_and_dead_letters_the_rest(sensor_env, ingester):
    e = sensor_env
    with consuming(ingester, f"test-{e.tag}") as (consumer, thread):
        m = dt.timedelta(minutes=1)
        dup = tts(f_cnt=5, t=T0 + 5 * m, soil_moisture=31.0)
        items = [
            (e.tts_topic(), tts(f_cnt=10, t=T0 + 10 * m, soil_moisture=33.0)),  # newest first
            (e.tts_topic(), dup),
            (e.tts_topic(), dup),  # broker-level duplicate
            (e.tts_topic(), tts(f_cnt=1, t=T0 + 1 * m, soil_moisture=30.0)),  # out of order
            (e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=2, t=T0, soil_moisture=12.5)),
            (e.cs_topic(), chirpstack(f_cnt=77, t=T0, temperature=19.0, co2=455)),
            (e.cs_topic(), chirpstack(f_cnt=77, t=T0, temperature=19.0, co2=455)),  # same uplink, new dedup id
            (e.cs_topic("0000000000000bad"), chirpstack("0000000000000bad", f_cnt=1)),  # unknown device
            (e.tts_topic(), b"\x00\x01 not json"),  # malformed
            (e.tts_topic(), tts(f_cnt=11).replace(b"decoded_payload", b"frm_payload_x")),  # undecoded
        ]
        publish_once(items)
        soil = ingester.series[e.soil["name"]]
        air = ingester.series[e.air["name"]]
        wait_for(lambda: consumer.totals.received >= len(items), what="all messages consumed")
    assert not thread.is_alive()
    rows = records(soil.observations, sort="device, time")
    assert [(r["device"], r["f_cnt"]) for r in rows] == [
        ("soil-fp-01", 1),
        ("soil-fp-01", 5),
        ("soil-fp-01", 10),
        ("soil-fp-02", 2),
    ]
    latest = {r["device"]: r["f_cnt"] for r in records(soil.latest)}
    assert latest == {"soil-fp-01": 10, "soil-fp-02": 2}
    assert [(r["device"], r["co2"]) for r in records(air.observations)] == [("Kaiserstraße 3", 455)]
    assert total(soil.observations) == 4
    assert dead_reasons() == sorted([lorawan.MALFORMED_JSON, lorawan.UNDECODED_PAYLOAD, lorawan.UNKNOWN_DEVICE])


def _start(ini: str, sources: pathlib.Path, client_id: str, log: pathlib.Path, *args: str) -> subprocess.Popen:
    ckan = pathlib.Path(sys.executable).parent / "ckan"
    before = log.read_text(errors="replace").count("subscribed") if log.exists() else 0
    proc = subprocess.Popen(
        [
            str(ckan),
            "-c",
            ini,
            "udp",
            "sensors",
            "consume",
            "--sources",
            str(sources),
            "--client-id",
            client_id,
            "--batch-size",
            "100",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
        start_new_session=True,
        env={**os.environ, "UDP_TEST_LUFT_SECRET": SECRET},
    )
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if log.read_text(errors="replace").count("subscribed") > before:
            return proc
        if proc.poll() is not None:
            pytest.fail(f"consumer exited with {proc.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"consumer did not subscribe: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


class AckGate:
    """A TCP proxy between a consumer and the broker. While ``hold`` is set, the consumer's
    PUBACKs are swallowed (everything else passes: pings, subscriptions): the consumer stores
    and commits, the broker never learns it, as when a consumer dies between commit and
    acknowledgement."""

    PUBACK = 4  # MQTT control packet type

    def __init__(self, upstream: tuple[str, int]) -> None:
        import socket

        self.upstream = upstream
        self.hold = threading.Event()
        self.swallowed = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.sockets: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            broker = socket.create_connection(self.upstream)
            self.sockets += [client, broker]
            threading.Thread(target=self._pump, args=(broker, client, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, broker, True), daemon=True).start()

    def _packets(self, buf: bytearray) -> list[bytes]:
        """Whole MQTT packets taken from the front of ``buf`` (fixed header, remaining length)."""
        out = []
        while len(buf) >= 2:
            length, mult, i = 0, 1, 1
            while i < len(buf):
                length += (buf[i] & 0x7F) * mult
                mult *= 128
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            else:
                return out
            if len(buf) < i + length:
                return out
            out.append(bytes(buf[: i + length]))
            del buf[: i + length]
        return out

    def _pump(self, src, dst, upstream: bool) -> None:
        buf = bytearray()
        try:
            while data := src.recv(65536):
                if not upstream:
                    dst.sendall(data)
                    continue
                buf += data
                for packet in self._packets(buf):
                    if self.hold.is_set() and packet[0] >> 4 == self.PUBACK:
                        self.swallowed += 1
                    else:
                        dst.sendall(packet)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


def _duplicates_logged(log: pathlib.Path) -> int:
    import re

    return sum(int(m) for m in re.findall(r"batch: \d+ received, \d+ new, (\d+) duplicates", log.read_text()))


def test_killed_consumer_loses_nothing_and_duplicates_nothing(sensor_env, ingester, tmp_path):
    """Killed after its batches committed but before the broker had the acknowledgements
    (an AckGate swallows them): the broker delivers all of them again, the consumer drops
    every one as a duplicate; what was published while it was down arrives once."""
    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    ini = tk.config["__file__"]
    client_id = f"test-kill-{e.tag}"
    n1, n2 = 250, 150  # n1 within the consumer's receive window (3 batches of 100)
    items = [
        (e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(seconds=i), soil_moisture=float(i % 50)))
        for i in range(1, n1 + n2 + 1)
    ]
    url = urlparse(tk.config["ckanext.udp.mqtt.url"])
    gate = AckGate((url.hostname, url.port))
    log1, log2 = tmp_path / "first.log", tmp_path / "second.log"
    proc = _start(ini, e.path, client_id, log1, "--url", f"mqtt://127.0.0.1:{gate.port}")
    pub = publisher()
    try:
        gate.hold.set()
        publish_all(pub, items[:n1])
        wait_for(lambda: total(soil.observations) == n1, what="the first uplinks committed")
        # every PUBACK swallowed: none reached the broker
        wait_for(lambda: gate.swallowed == n1, timeout=20, what=f"{n1} PUBACKs swallowed")
        _kill(proc)
        gate.close()
        assert _duplicates_logged(log1) == 0
        # published while no consumer runs: the broker queues them in the session
        publish_all(pub, items[n1:])
        proc = _start(ini, e.path, client_id, log2)
        wait_for(lambda: total(soil.observations) == n1 + n2, timeout=120, what="all uplinks stored")
        # the n1 unacknowledged uplinks came back and were dropped by the primary key
        wait_for(lambda: _duplicates_logged(log2) >= n1, timeout=60, what="the redelivered uplinks")
        time.sleep(1.0)  # let any late redelivery land, it must not add rows
    finally:
        pub.loop_stop()
        pub.disconnect()
        gate.close()
        _stop(proc)
    assert _duplicates_logged(log2) == n1
    rows = records(soil.observations, fields="f_cnt", sort="f_cnt")
    assert [r["f_cnt"] for r in rows] == list(range(1, n1 + n2 + 1))
    assert total(soil.observations) == n1 + n2
    hourly = records(soil.hourly)
    assert sum(r["n"] for r in hourly) == n1 + n2
    assert dead_reasons() == []
    assert proc.returncode == 0, log2.read_text()[-2000:]


def test_poison_messages_do_not_stop_the_consumer(sensor_env, ingester):
    """The audit's crash loop: a year-10000 time (OverflowError) and a 5,000-digit number
    (ValueError) stopped the consumer. Now they are dead letters and the canaries behind
    them arrive."""
    e = sensor_env
    with consuming(ingester, f"test-poison-{e.tag}") as (consumer, thread):
        future = json.loads(tts(f_cnt=1))
        future["received_at"] = "9999-12-31T23:59:59-01:00"
        publish_once(
            [
                (e.tts_topic(), json.dumps(future).encode()),
                (e.tts_topic(), tts(f_cnt=2, soil_moisture=2.0)),
                (e.tts_topic(), tts(f_cnt=3).replace(b'"f_cnt": 3', b'"f_cnt": ' + b"9" * 5000)),
                (e.tts_topic(), b"[" * 100_000),
                (e.tts_topic(), tts(f_cnt=4, t=T0 + dt.timedelta(minutes=1), soil_moisture=4.0)),
            ]
        )
        soil = ingester.series[e.soil["name"]]
        wait_for(lambda: total(soil.observations) == 2, timeout=30, what="the canaries")
        wait_for(lambda: consumer.totals.received == 5, timeout=10, what="all five handled")
        assert thread.is_alive()
    assert [r["f_cnt"] for r in records(soil.observations, sort="f_cnt")] == [2, 4]
    assert dead_reasons() == sorted([lorawan.INVALID_FIELD, lorawan.MALFORMED_JSON, lorawan.MALFORMED_JSON])


def test_a_message_that_kills_the_consumer_is_dead_lettered_after_max_deliveries(sensor_env, ingester, tmp_path):
    """A message the consumer never gets past (here: its write waits on a lock the test holds,
    and the consumer is killed each time, as a supervisor would after a hang or a crash). The
    broker delivers it again after each restart; the count of deliveries is kept in the
    database, and on delivery max_deliveries + 1 it becomes a dead letter without being tried:
    the crash loop ends, the stream goes on."""
    from ckanext.udp.sensors.logic.ingest import REDELIVERED_TOO_OFTEN, write_lock_key

    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    ini = tk.config["__file__"]
    client_id = f"test-loop-{e.tag}"
    log = tmp_path / "consumer.log"
    blocker = ingester.engine.connect()
    blocker.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": write_lock_key(soil)})
    blocker.commit()

    def waiting() -> bool:
        with ingester.engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                ).scalar()
            )

    def end_orphans() -> None:
        # the killed consumer's server process would wait on the lock until it is free
        with ingester.engine.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        wait_for(lambda: not waiting(), timeout=10, what="the orphaned wait to end")

    proc = None
    try:
        proc = _start(ini, e.path, client_id, log, "--max-deliveries", "2")
        publish_once([(e.tts_topic(), tts(f_cnt=1, soil_moisture=1.0))])
        for attempt in (1, 2):  # tried twice, killed twice
            wait_for(waiting, timeout=30, what=f"attempt {attempt} to hang")
            _kill(proc)
            end_orphans()
            proc = _start(ini, e.path, client_id, log, "--max-deliveries", "2")
        # third delivery: dead-lettered without a try, so the lock does not matter any more
        wait_for(
            lambda: dead_reasons() == [REDELIVERED_TOO_OFTEN],
            timeout=30,
            what=f"the dead letter; consumer log: {log.read_text()[-1500:]}",
        )
        blocker.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        blocker.commit()
        publish_once([(e.tts_topic(), tts(f_cnt=2, t=T0 + dt.timedelta(minutes=1), soil_moisture=2.0))])
        wait_for(lambda: total(soil.observations) == 1, timeout=30, what="the next uplink")
        assert proc.poll() is None
    finally:
        blocker.close()
        if proc is not None:
            _stop(proc)
    assert [r["f_cnt"] for r in records(soil.observations)] == [2]
    model.Session.remove()
    row = model.Session.execute(sa.text("SELECT source, detail FROM udp_sensor_dead_letter")).fetchone()
    assert row[0] == "friedrichsplatz" and "delivered 3 times" in row[1]
    assert model.Session.execute(sa.text("SELECT count(*) FROM udp_sensor_delivery")).scalar() == 0
    # after the cause is gone, the dead letter can be replayed
    from ckanext.udp.sensors.logic import deadletters

    out = deadletters.replay(ingester, deadletters.Filter(reason=REDELIVERED_TOO_OFTEN))
    assert (out.tried, out.stored) == (1, 1)
    assert [r["f_cnt"] for r in records(soil.observations, sort="f_cnt")] == [1, 2] and dead_reasons() == []


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
    port = stack_port(4)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {tmp_path}/\n" + ("user root\n" if os.getuid() == 0 else "")
    )
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
        publish_all(
            pub,
            [
                (e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(seconds=i), soil_moisture=1.0))
                for i in range(first, last + 1)
            ],
        )
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
    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors.logic.ingest import Ingester
    from ckanext.udp.sensors.logic.series import ensure_all

    e = sensor_env
    srcs = e.sources
    series = ensure_all(srcs)
    model.Session.remove()
    engines = [write_engine(), write_engine()]
    consumers = [
        Consumer(
            Ingester(srcs, series, eng, model.meta.engine),
            tk.config["ckanext.udp.mqtt.url"],
            f"test-{e.tag}-{k}",
            srcs.topics,
            batch_size=20,
            batch_wait=0.05,
            shared_group=f"g{e.tag}",
        )
        for k, eng in enumerate(engines)
    ]
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
    for t in threads:
        t.start()
    try:
        assert all(c.subscribed.wait(20) for c in consumers)
        n = 300
        items = [
            (
                e.tts_topic(f"soil-fp-0{1 + i % 2}"),
                tts(f"soil-fp-0{1 + i % 2}", f_cnt=i, t=T0 + dt.timedelta(seconds=10 * i), soil_moisture=float(i)),
            )
            for i in range(n)
        ]
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


def _settled(resource_id: str, timeout: float = 90.0) -> int:
    """The row count once it has not changed for 3 s."""
    end = time.monotonic() + timeout
    last = total(resource_id)
    while time.monotonic() < end:
        time.sleep(3)
        now = total(resource_id)
        if now == last:
            return now
        last = now
    pytest.fail(f"still storing after {timeout} s")


@pytest.mark.skipif(
    os.environ.get("UDP_TEST_CLUSTER") != "1",
    reason="opt-in (two consumer processes, a kill and a restart: over a minute): UDP_TEST_CLUSTER=1",
)
def test_one_of_two_shared_consumers_killed_mid_stream_loses_and_duplicates_nothing(sensor_env, ingester, tmp_path):
    """Two consumer processes in one shared subscription group (``--instance 1|2``); one is
    SIGKILLed while uplinks stream in (batches received but not stored, stored but not yet
    acknowledged). The other goes on with its share; the killed one is started again under
    its client id, as the supervisor does, and gets what the broker kept for its session.
    Every uplink is stored exactly once, the hourly values count each once."""
    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    ini = tmp_path / "shared.ini"
    ini.write_text(f"[app:main]\nuse = config:{tk.config['__file__']}\nckanext.udp.sensors.shared_group = g{e.tag}\n")
    client_id = f"test-shared-{e.tag}"
    n = 1200
    items = [
        (
            e.tts_topic(f"soil-fp-0{1 + i % 2}"),
            tts(f"soil-fp-0{1 + i % 2}", f_cnt=i, t=T0 + dt.timedelta(seconds=i), soil_moisture=float(i % 50)),
        )
        for i in range(1, n + 1)
    ]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs = [_start(str(ini), e.path, client_id, logs[k], "--instance", str(k + 1)) for k in range(2)]
    pub = publisher()
    published = threading.Event()

    def stream() -> None:
        for start in range(0, n, 20):
            publish_all(pub, items[start : start + 20])
            time.sleep(0.15)  # ~10 s of streaming: the kill lands in the middle
        published.set()

    try:
        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        wait_for(lambda: total(soil.observations) >= n // 4, timeout=120, what="a quarter stored")
        assert not published.is_set(), "the stream ended before the kill: not mid-stream"
        _kill(procs[0])
        at_kill = total(soil.observations)
        streamer.join(120)
        assert published.is_set()
        survivor_done = _settled(soil.observations)
        assert survivor_done > at_kill, "the surviving consumer stopped storing"
        print(f"\nstored at the kill: {at_kill}, by the survivor alone: {survivor_done} of {n}")
        procs[0] = _start(str(ini), e.path, client_id, tmp_path / "restarted.log", "--instance", "1")
        wait_for(lambda: total(soil.observations) == n, timeout=120, what="every uplink after the restart")
        assert _settled(soil.observations) == n  # no late redelivery adds a row
    finally:
        pub.loop_stop()
        pub.disconnect()
        for proc in procs:
            _stop(proc)
    rows = records(soil.observations, fields="f_cnt", sort="f_cnt")
    assert [r["f_cnt"] for r in rows] == list(range(1, n + 1))
    assert sum(r["n"] for r in records(soil.hourly)) == n
    assert dead_reasons() == []
