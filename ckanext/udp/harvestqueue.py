"""Harvest queue consumers that survive Redis hiccups.

ckanext-harvest's own consumers (``ckan harvester gather-consumer`` and
``fetch-consumer``) wait for work with ``BLPOP`` without a timeout, through a
redis-py client that has the default socket timeout of redis-py 6 and later
(5 s): on an idle queue the read times out after five seconds and the consumer
dies with ``redis.exceptions.TimeoutError``; a Redis restart kills it with a
``ConnectionError``. Restarted by a supervisor, it dies again five seconds
later: the crash loop seen in the audit.

These consumers take the same messages off the same queues and hand them to
ckanext-harvest's own callbacks, but wait with a ``BLPOP`` timeout well below
the socket timeout, and when Redis is unreachable they wait and reconnect
instead of dying. A message whose handling fails is logged and left to
ckanext-harvest's resubmission (``ckan harvester run``), not allowed to stop
the consumer. This is the one module that uses ckanext-harvest's queue
internals.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Callable, Optional

import redis

import ckan.model as model

log = logging.getLogger(__name__)

#: seconds a BLPOP waits for work before it asks again (below redis-py's socket timeout)
POLL_SECONDS = 2
#: seconds to wait before the next attempt while Redis is unreachable
BACKOFF = (0.5, 1, 2, 5, 10)
KINDS = ("gather", "fetch")


def _consumer(kind: str) -> tuple[Any, Callable[..., Any], str]:
    from ckanext.harvest import queue

    if kind == "gather":
        return queue.get_gather_consumer(), queue.gather_callback, queue.get_gather_queue_name()
    return queue.get_fetch_consumer(), queue.fetch_callback, queue.get_fetch_queue_name()


def _take(consumer: Any) -> Optional[str]:
    """The next message body, or None if none came within POLL_SECONDS."""
    item = consumer.redis.blpop(consumer.routing_key, timeout=POLL_SECONDS)
    if item is None:
        return None
    _key, body = item
    # ckanext-harvest's in-flight marker, removed by the callback's ack
    consumer.redis.set(consumer.persistance_key(body), str(dt.datetime.now()))
    return body


def consume(kind: str, stop: Optional[threading.Event] = None) -> None:
    """Consume the ``gather`` or ``fetch`` queue until ``stop`` is set (or forever)."""
    from ckanext.harvest import queue

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    consumer, callback, queue_name = _consumer(kind)
    if not isinstance(consumer, queue.RedisConsumer):  # AMQP: its own client, its own loop
        for method, header, body in consumer.consume(queue=queue_name):
            callback(consumer, method, header, body)
        return
    log.info("harvest %s consumer waiting on %s", kind, consumer.routing_key)
    failures = 0
    while stop is None or not stop.is_set():
        try:
            body = _take(consumer)
        except redis.exceptions.ConnectionError as e:  # includes TimeoutError
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            log.warning("harvest %s consumer: Redis unavailable (%s); trying again in %s s",
                        kind, e, delay)
            time.sleep(delay)
            continue
        if failures:
            log.info("harvest %s consumer: Redis is back", kind)
            failures = 0
        if body is None:
            continue
        try:
            callback(consumer, queue.FakeMethod(body), consumer, body)
        except Exception:  # noqa: BLE001 - one message must not stop the consumer
            log.exception("harvest %s consumer: handling %s failed; it stays marked in Redis "
                          "for ckanext-harvest's resubmission", kind, body)
            model.Session.remove()


__all__ = ["consume", "KINDS", "POLL_SECONDS"]
