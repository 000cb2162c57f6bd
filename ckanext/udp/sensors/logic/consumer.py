"""The MQTT consumer: QoS 1, persistent session, acknowledgement only after
the batch is committed.

paho-mqtt 2.x with MQTT 5: a fixed client id and ``clean_start=False`` with a
session expiry make the broker keep the subscription and queue QoS 1 messages
while the consumer is down; ``manual_ack_set(True)`` holds each PUBACK until
``ack()`` is called after the batch's transaction committed, so a consumer that
dies mid-batch gets the unacknowledged messages again (duplicates are dropped
by the observations' primary key). paho's network thread reconnects with
backoff; a database outage makes the batch wait and retry, unacknowledged.

Poison messages never stop it: any exception while handling one message makes
that message a dead letter (``process_safely``). A message that kills the
process outright (or hangs it until it is killed) comes back from the broker
with the DUP flag; such redeliveries are counted in the database before each
attempt, and after ``max_deliveries`` attempts the message is dead-lettered
unseen, so a crash loop ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ckanext.udp.sensors.logic import deadletters
from ckanext.udp.sensors.logic.ingest import (
    REDELIVERED_TOO_OFTEN,
    BatchResult,
    DeadLetter,
    Ingester,
    Message,
    process_safely,
)

log = logging.getLogger(__name__)

__all__ = ["Consumer"]


class Consumer:
    def __init__(
        self,
        ingester: Ingester,
        url: str,
        client_id: str,
        topics: tuple[str, ...],
        batch_size: int = 500,
        batch_wait: float = 0.2,
        session_expiry: int = 604800,
        on_batch: Callable[[BatchResult], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        shared_group: str | None = None,
        max_deliveries: int = 5,
        dead_letter_retention_days: int = 30,
        dead_letter_max_rows: int = 1_000_000,
    ) -> None:
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
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.max_deliveries = max_deliveries
        self.deliveries = deadletters.Deliveries(ingester.dead_engine)
        self.retention = (dead_letter_retention_days, dead_letter_max_rows)
        self.pruned_at = 0.0
        self.failed = False
        self.subscribed = threading.Event()
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.totals = BatchResult()
        self.seconds_storing = 0.0
        self.seconds_parsing = 0.0

    # paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        log.info(
            "connected to %s:%s as %s (session present: %s)",
            self.host,
            self.port,
            self.client_id,
            flags.session_present,
        )
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
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
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

    def _retrying(self, attempt: Callable[[], Any], reset: Callable[[], None] | None = None) -> Any:
        """Run ``attempt`` until it gets through a database outage (backoff 1 to 60 s);
        raises only when the consumer is stopped meanwhile (nothing acknowledged)."""
        delay = 1.0
        while True:
            try:
                return attempt()
            except SQLAlchemyError as err:
                log.error("the database is not reachable (%s); retrying in %.0f s", str(err).splitlines()[0], delay)
                if self.stop.wait(delay):
                    raise
                delay = min(delay * 2, 60)
                if reset:
                    reset()

    def _store(self, messages: list[Message], routed: Any) -> BatchResult:
        """Write one routed batch; anything but an outage sends the batch through
        ``process_safely``; an outage is retried (unacknowledged)."""
        rows, result = routed

        def attempt() -> BatchResult:
            try:
                return self.ingester.store(rows, result)
            except Exception as err:  # noqa: BLE001
                if isinstance(err, OperationalError) and not self.ingester.reachable():
                    raise
                return process_safely(self.ingester, messages)

        def reset() -> None:
            result.inserted = result.duplicates = 0

        return self._retrying(attempt, reset)

    @staticmethod
    def _ack(client: mqtt.Client, batch: list[mqtt.MQTTMessage]) -> None:
        for m in batch:  # PUBACKs in the order received, after the commit
            client.ack(m.mid, m.qos)

    def _handle(
        self, client: mqtt.Client, batch: list[mqtt.MQTTMessage], messages: list[Message], routed: Any
    ) -> BatchResult:
        """Store a batch and acknowledge it. Redelivered messages (DUP flag) are
        counted first: on their first redelivery (a restart) the batch goes as
        usual; a message delivered more often is tried alone, in order, and after
        ``max_deliveries`` attempts dead-lettered without another try."""
        again = [i for i, m in enumerate(batch) if m.dup]
        if not again:
            result = self._store(messages, routed)
            self._ack(client, batch)
            return result
        keys = {i: deadletters.message_key(messages[i]) for i in again}
        seen = self._retrying(lambda: self.deliveries.counts(keys.values()))
        if not any(seen.values()) and self.max_deliveries > 1:
            self._retrying(lambda: self.deliveries.bump(keys.values()))
            result = self._store(messages, routed)
            self._ack(client, batch)
            self._retrying(lambda: self.deliveries.forget(keys.values()))
            return result
        log.warning("%d message(s) delivered more than twice: trying each of them alone", len(again))
        total = BatchResult()
        for part in _runs(len(batch), set(again)):
            if len(part) == 1 and part[0] in keys:
                i = part[0]
                key = keys[i]
                n = self._retrying(lambda: self.deliveries.bump([key]))[key]  # noqa: B023 - called at once
                if n > self.max_deliveries:
                    dead = DeadLetter(
                        messages[i],
                        REDELIVERED_TOO_OFTEN,
                        f"delivered {n} times, tried {n - 1} times without being stored",
                        self.ingester.source_name(messages[i]),
                    )
                    self._retrying(lambda: self.ingester.write_dead_letters([dead]))  # noqa: B023 - called at once
                    result = BatchResult(received=1, dead=[dead])
                    log.error("message on %s dead-lettered after %d deliveries", messages[i].topic, n)
                else:
                    result = self._store([messages[i]], self.ingester.route([messages[i]]))
                self._retrying(lambda: self.deliveries.forget([key]))  # noqa: B023 - called at once
            else:
                part_msgs = [messages[j] for j in part]
                result = self._store(part_msgs, self.ingester.route(part_msgs))
            self._ack(client, [batch[j] for j in part])
            total.received += result.received
            total.inserted += result.inserted
            total.duplicates += result.duplicates
            total.dead += result.dead
        return total

    def _maybe_prune(self) -> None:
        """Dead-letter retention, once an hour (and at the first chance)."""
        if time.monotonic() - self.pruned_at < 3600:
            return
        self.pruned_at = time.monotonic()
        try:
            done = deadletters.prune(self.ingester.dead_engine, *self.retention)
        except SQLAlchemyError as err:
            log.warning("pruning dead letters failed: %s", str(err).splitlines()[0])
            return
        if done.dead_letters or done.deliveries:
            log.info("pruned %d dead letters and %d delivery counts", done.dead_letters, done.deliveries)

    def _writer(self, client: mqtt.Client, work: queue.Queue[Any]) -> None:
        """Writes batches in order while the main thread parses the next one
        (PostgreSQL works in parallel with parsing); acknowledges after commit."""
        while True:
            try:
                item = work.get(timeout=60)
            except queue.Empty:
                self._maybe_prune()
                continue
            if item is None:
                return
            batch, messages, routed = item
            t0 = time.monotonic()
            try:
                result = self._handle(client, batch, messages, routed)
            except SQLAlchemyError:
                self.stop.set()  # stopping while the database is down: nothing acknowledged
                return
            except Exception:  # noqa: BLE001 - a bug outside any one message: stop, do not hang
                log.exception("the consumer's writer failed; stopping (unacknowledged messages come again)")
                self.failed = True
                self.stop.set()
                return
            self.seconds_storing += time.monotonic() - t0
            self._count(result)
            self._maybe_prune()

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
                messages = [Message(_topic(m), bytes(m.payload), now) for m in batch]
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
        log.info(
            "batch: %d received, %d new, %d duplicates, %d dead letters",
            result.received,
            result.inserted,
            result.duplicates,
            len(result.dead),
        )
        if self.on_batch:
            self.on_batch(result)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            log.info("signal %s: finishing the current batch, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _topic(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:  # the broker should refuse such a topic; never crash on it
        return msg._topic.decode("utf-8", "replace")


def _runs(n: int, single: set[int]) -> list[list[int]]:
    """0..n-1 in order, split so that each index in ``single`` stands alone."""
    runs: list[list[int]] = []
    for i in range(n):
        if i in single or not runs or runs[-1][-1] in single:
            runs.append([i])
        else:
            runs[-1].append(i)
    return runs
