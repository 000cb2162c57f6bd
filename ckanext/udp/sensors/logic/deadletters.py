"""Dead letters and delivery counts (both in the CKAN database).

* ``Deliveries``: how often the broker delivered a message that was not yet
  stored, keyed by a hash of topic and payload. Counted before each attempt and
  committed, so the count survives a consumer that dies on the message; after
  ``max_deliveries`` attempts the message is dead-lettered instead of tried.
* ``prune``: the retention of dead letters (age and count) and of old counts.
* ``replay``: dead letters through the ingester again, e.g. after a fix of the
  sources file; what is stored (or was already) leaves the table, what fails
  again stays with its new reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ckanext.udp.sensors.logic.ingest import DeadLetter, Ingester, Message, process_safely


def message_key(msg: Message) -> bytes:
    return hashlib.sha256(msg.topic.encode("utf-8", "replace") + b"\x00" + msg.payload).digest()


class Deliveries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counts(self, keys: Iterable[bytes]) -> dict[bytes, int]:
        """Deliveries recorded so far (0: none recorded)."""
        keys = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT message_key, deliveries FROM udp_sensor_delivery WHERE message_key = ANY(:k)"),
                {"k": keys},
            ).fetchall()
        found = {bytes(r[0]): r[1] for r in rows}
        return {k: found.get(k, 0) for k in keys}

    def bump(self, keys: Iterable[bytes]) -> dict[bytes, int]:
        """Count one more delivery of each message (the first redelivery counts as
        the second delivery) and commit; returns the new counts."""
        keys = sorted(set(keys))  # one order for every writer: no deadlocks
        if not keys:
            return {}
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "INSERT INTO udp_sensor_delivery (message_key, deliveries) "
                    "SELECT k, 2 FROM unnest(CAST(:k AS bytea[])) AS k "
                    "ON CONFLICT (message_key) DO UPDATE SET deliveries = udp_sensor_delivery.deliveries + 1, "
                    "last_seen = now() RETURNING message_key, deliveries"
                ),
                {"k": keys},
            ).fetchall()
        return {bytes(r[0]): r[1] for r in rows}

    def forget(self, keys: Iterable[bytes]) -> None:
        keys = list(set(keys))
        if keys:
            with self.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM udp_sensor_delivery WHERE message_key = ANY(:k)"), {"k": keys})


@dataclasses.dataclass
class Pruned:
    dead_letters: int = 0
    deliveries: int = 0


def prune(engine: Engine, retention_days: int, max_rows: int) -> Pruned:
    """Delete dead letters older than ``retention_days`` (0: keep them by age) and
    all but the newest ``max_rows`` (0: no cap); delivery counts not seen for
    as long (their messages left the broker's session long ago)."""
    out = Pruned()
    with engine.begin() as conn:
        if retention_days > 0:
            out.dead_letters += conn.execute(
                sa.text("DELETE FROM udp_sensor_dead_letter WHERE received_at < now() - make_interval(days => :d)"),
                {"d": retention_days},
            ).rowcount
        if max_rows > 0:
            out.dead_letters += conn.execute(
                sa.text(
                    "DELETE FROM udp_sensor_dead_letter WHERE id <= ("
                    "SELECT id FROM udp_sensor_dead_letter ORDER BY id DESC OFFSET :n LIMIT 1)"
                ),
                {"n": max_rows},
            ).rowcount
        out.deliveries = conn.execute(
            sa.text("DELETE FROM udp_sensor_delivery WHERE last_seen < now() - make_interval(days => :d)"),
            {"d": max(retention_days, 1)},
        ).rowcount
    return out


@dataclasses.dataclass
class Filter:
    ids: Sequence[int] = ()
    reason: str | None = None
    source: str | None = None
    since: dt.datetime | None = None
    limit: int | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        parts: list[str] = []
        params: dict[str, Any] = {}
        if self.ids:
            parts.append("id = ANY(:ids)")
            params["ids"] = list(self.ids)
        if self.reason:
            parts.append("reason = :reason")
            params["reason"] = self.reason
        if self.source:
            parts.append("source = :source")
            params["source"] = self.source
        if self.since:
            parts.append("received_at >= :since")
            params["since"] = self.since
        return (" WHERE " + " AND ".join(parts)) if parts else "", params


@dataclasses.dataclass
class Replayed:
    tried: int = 0
    stored: int = 0
    duplicates: int = 0
    still_dead: dict[str, int] = dataclasses.field(default_factory=dict)


class _Collecting(Ingester):
    """An ingester that hands its dead letters back instead of writing new rows."""

    def __init__(self, base: Ingester) -> None:
        super().__init__(base.sources, base.series, base.engine, base.dead_engine, base.limits)
        self.collected: list[DeadLetter] = []

    def write_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        self.collected.extend(dead)


def replay(ingester: Ingester, flt: Filter, batch: int = 500, dry_run: bool = False) -> Replayed:
    """Dead letters (oldest first) through ``ingester`` with today's
    configuration. Stored or already stored: the dead letter is deleted. Failing
    again: it stays, with the new reason and detail. ``dry_run`` parses and
    maps only (nothing written, nothing deleted)."""
    out = Replayed()
    where, params = flt.where()
    with ingester.dead_engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                sa.text(
                    f"SELECT id FROM udp_sensor_dead_letter{where} ORDER BY id" + (" LIMIT :limit" if flt.limit else "")
                ),
                {**params, "limit": flt.limit},
            ).fetchall()
        ]
    collecting = _Collecting(ingester)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with ingester.dead_engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, received_at, source, topic, payload FROM udp_sensor_dead_letter "
                    "WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": chunk},
            ).fetchall()
        by_msg: dict[int, int] = {}
        messages = []
        for r in rows:
            topic = r[3] or ""
            # webhook messages carry their source in the URL, MQTT ones are matched by topic again
            msg = Message(topic, bytes(r[4]), r[1], r[2] if topic.startswith("webhook/") else None)
            by_msg[id(msg)] = r[0]
            messages.append(msg)
        collecting.collected = []
        if dry_run:
            rows_by_ds, result = collecting.route(messages)
            dead = result.dead
            out.stored += sum(len(v) for v in rows_by_ds.values())
        else:
            result = process_safely(collecting, messages)
            dead = collecting.collected
            out.stored += result.inserted
            out.duplicates += result.duplicates
        out.tried += len(messages)
        failed = {by_msg[id(d.message)]: d for d in dead}
        for d in failed.values():
            out.still_dead[d.reason] = out.still_dead.get(d.reason, 0) + 1
        if dry_run:
            continue
        with ingester.dead_engine.begin() as conn:
            done = [i for i in by_msg.values() if i not in failed]
            if done:
                conn.execute(sa.text("DELETE FROM udp_sensor_dead_letter WHERE id = ANY(:ids)"), {"ids": done})
            for i, d in failed.items():
                conn.execute(
                    sa.text(
                        "UPDATE udp_sensor_dead_letter SET reason = :r, detail = :d, source = coalesce(:s, source) "
                        "WHERE id = :i"
                    ),
                    {"r": d.reason, "d": (d.detail or "")[:2000], "s": d.source, "i": i},
                )
    return out


def summary(engine: Engine) -> list[tuple[str, str | None, int, dt.datetime]]:
    """(reason, source, count, newest) of the dead letters."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT reason, source, count(*), max(received_at) FROM udp_sensor_dead_letter "
                    "GROUP BY reason, source ORDER BY count(*) DESC"
                )
            ).fetchall()
        ]


__all__ = ["Deliveries", "Filter", "Pruned", "Replayed", "message_key", "prune", "replay", "summary"]
