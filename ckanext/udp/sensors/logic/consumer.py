"""The MQTT consumer: QoS 1, persistent session, acknowledgement only after
the batch is committed.

paho-mqtt 2.x with MQTT 5: a fixed client id and ``clean_start=False`` with a
session expiry make the broker keep the subscription and queue QoS 1 messages
while the consumer is down; ``manual_ack_set(True)`` holds each PUBACK until
``ack()`` is called after the batch's transaction committed, so a consumer that
dies mid-batch gets the unacknowledged messages again (duplicates are dropped
by the observations' primary key). paho's network thread reconnects with
backoff; a database outage makes the batch wait and retry, unacknowledged.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import signal
import threading
import time
from typing import Any, Callable
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from ckanext.udp.sensors.logic.ingest import BatchResult, DeadLetter, Ingester, Message

log = logging.getLogger(__name__)

REJECTED = "rejected_by_database"


def process_safely(ingester: Ingester, messages: list[Message]) -> BatchResult:
    """Store a batch; a message the database rejects (not an outage) is isolated
    by bisection and dead-lettered instead of blocking the stream."""
    try:
        return ingester.process(messages)
    except OperationalError:
        raise  # connection trouble: the caller retries the whole batch
    except (DBAPIError, ValueError, TypeError) as err:
        if len(messages) == 1:
            log.warning("message on %s rejected: %s", messages[0].topic, err)
            dead = DeadLetter(messages[0], REJECTED, str(err).splitlines()[0][:500], messages[0].source)
            ingester.write_dead_letters([dead])
            return BatchResult(received=1, dead=[dead])
        mid = len(messages) // 2
        a = process_safely(ingester, messages[:mid])
        b = process_safely(ingester, messages[mid:])
        return BatchResult(a.received + b.received, a.inserted + b.inserted,
                           a.duplicates + b.duplicates, a.dead + b.dead)


class Consumer:
    def __init__(self, ingester: Ingester, url: str, client_id: str, topics: tuple[str, ...],
                 batch_size: int = 500, batch_wait: float = 0.2, session_expiry: int = 604800,
                 on_batch: Callable[[BatchResult], None] | None = None,
                 on_ready: Callable[[], None] | None = None, shared_group: str | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"unsupported broker URL {url!r} (mqtt:// or mqtts://)")
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.tls = parsed.scheme == "mqtts"
        self.username, self.password = parsed.username, parsed.password
        self.ingester = ingester
        self.client_id = client_id
        if shared_group and any(c in shared_group for c in "/+#"):
            raise ValueError(f"invalid shared subscription group {shared_group!r} (no '/', '+', '#')")
        self.topics = topics
        # MQTT 5 shared subscription: the broker hands each message to one member of the group
        self.filters = tuple(f"$share/{shared_group}/{t}" for t in topics) if shared_group else topics
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.session_expiry = session_expiry
        self.on_batch = on_batch
        self.on_ready = on_ready
        self.subscribed = threading.Event()
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.totals = BatchResult()
        self.seconds_storing = 0.0
        self.seconds_parsing = 0.0
        self.seconds_acking = 0.0

    # paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        log.info("connected to %s:%s as %s (session present: %s)", self.host, self.port, self.client_id,
                 flags.session_present)
        client.subscribe([(t, mqtt.SubscribeOptions(qos=1)) for t in self.filters])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            log.error("subscription refused: %s", failed)
            return
        log.info("subscribed to %s", ", ".join(self.filters))
        self.subscribed.set()
        if self.on_ready:
            self.on_ready()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self.stop.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(msg)

    def client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5)
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self.inbox.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(left, 0)) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, messages: list[Message], routed: Any) -> BatchResult:
        """Write one routed batch; a rejected row sends the batch through
        ``process_safely``; a database outage is retried (unacknowledged)."""
        rows, result = routed
        delay = 1.0
        while True:
            try:
                try:
                    return self.ingester.store(rows, result)
                except OperationalError:
                    raise
                except (DBAPIError, ValueError, TypeError):
                    return process_safely(self.ingester, messages)
            except SQLAlchemyError as err:
                # database unreachable: keep the batch unacknowledged and retry
                log.error("storing a batch failed (%s); retrying in %.0f s", str(err).splitlines()[0], delay)
                if self.stop.wait(delay):
                    raise
                delay = min(delay * 2, 60)
                result.inserted = result.duplicates = 0

    def _writer(self, client: mqtt.Client, work: queue.Queue[Any]) -> None:
        """Writes batches in order while the main thread parses the next one
        (PostgreSQL works in parallel with parsing); acknowledges after commit."""
        while True:
            item = work.get()
            if item is None:
                return
            batch, messages, routed = item
            t0 = time.monotonic()
            try:
                result = self._store(messages, routed)
            except SQLAlchemyError:
                self.stop.set()  # stopping while the database is down: nothing acknowledged
                return
            t1 = time.monotonic()
            for m in batch:  # PUBACKs in the order received, after the commit
                client.ack(m.mid, m.qos)
            self.seconds_storing += t1 - t0
            self.seconds_acking += time.monotonic() - t1
            self._count(result)

    def run(self) -> BatchResult:
        client = self.client()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = min(max(self.batch_size * 3, 20), 65535)
        client.connect_async(self.host, self.port, keepalive=30, clean_start=False, properties=props)
        client.loop_start()
        work: queue.Queue[Any] = queue.Queue(maxsize=1)
        writer = threading.Thread(target=self._writer, args=(client, work), name="udp-sensors-writer", daemon=True)
        writer.start()
        try:
            while not self.stop.is_set():
                batch = self._next_batch()
                if not batch:
                    continue
                now = dt.datetime.now(dt.timezone.utc)
                messages = [Message(m.topic, bytes(m.payload), now) for m in batch]
                t0 = time.monotonic()
                routed = self.ingester.route(messages)
                self.seconds_parsing += time.monotonic() - t0
                while not self.stop.is_set():
                    try:
                        work.put((batch, messages, routed), timeout=0.5)
                        break
                    except queue.Full:
                        continue
        finally:
            # finish what was handed to the writer, then leave
            while writer.is_alive():
                try:
                    work.put(None, timeout=0.5)
                    break
                except queue.Full:
                    continue
            writer.join(120)
            client.disconnect()
            client.loop_stop()
        return self.totals

    def _count(self, result: BatchResult) -> None:
        t = self.totals
        t.received += result.received
        t.inserted += result.inserted
        t.duplicates += result.duplicates
        t.dead = (t.dead + result.dead)[-100:]
        log.info("batch: %d received, %d new, %d duplicates, %d dead letters",
                 result.received, result.inserted, result.duplicates, len(result.dead))
        if self.on_batch:
            self.on_batch(result)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            log.info("signal %s: finishing the current batch, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
