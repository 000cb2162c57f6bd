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
the consumer. ckanext-harvest's queue internals are reached through
``ckanext.udp.compat`` (``harvest_queue*``).
"""

from __future__ import annotations

import logging
import threading
import time

import ckan.model as model
import redis

from ckanext.udp import compat

log = logging.getLogger(__name__)

#: seconds a BLPOP waits for work before it asks again (below redis-py's socket timeout)
POLL_SECONDS = 2
#: seconds to wait before the next attempt while Redis is unreachable
BACKOFF = (0.5, 1, 2, 5, 10)
KINDS = compat.HARVEST_QUEUE_KINDS


def consume(kind: str, stop: threading.Event | None = None) -> None:
    """Consume the ``gather`` or ``fetch`` queue until ``stop`` is set (or forever)."""
    hq = compat.harvest_queue(kind)
    if not hq.redis:  # AMQP: its own client, its own loop
        compat.harvest_queue_consume_amqp(hq)
        return
    log.info("harvest %s consumer waiting on %s", kind, hq.name)
    failures = 0
    while stop is None or not stop.is_set():
        try:
            body = compat.harvest_queue_take(hq, POLL_SECONDS)
        except redis.exceptions.ConnectionError as e:  # includes TimeoutError
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            log.warning("harvest %s consumer: Redis unavailable (%s); trying again in %s s", kind, e, delay)
            time.sleep(delay)
            continue
        if failures:
            log.info("harvest %s consumer: Redis is back", kind)
            failures = 0
        if body is None:
            continue
        try:
            compat.harvest_queue_handle(hq, body)
        except Exception:  # one message must not stop the consumer
            log.exception(
                "harvest %s consumer: handling %s failed; it stays marked in Redis for ckanext-harvest's resubmission",
                kind,
                body,
            )
            model.Session.remove()


__all__ = ["consume", "KINDS", "POLL_SECONDS"]
