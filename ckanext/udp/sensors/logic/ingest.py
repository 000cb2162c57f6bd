"""Batch ingestion: parsed uplinks into the DataStore tables with one
``INSERT ... ON CONFLICT DO NOTHING`` per dataset and batch, then "latest"
and the hourly aggregates of the hours touched, all in one transaction on the
DataStore write URL. Messages that cannot be stored go to the dead-letter
table with their reason. No action is called per message.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ckanext.udp.harvesters import lorawan
from ckanext.udp.sensors.logic.series import Series, hourly_fields, latest_fields, observation_fields
from ckanext.udp.sensors.logic.sources import Limits, Source, SourceSet, row_for

log = logging.getLogger(__name__)

# dead-letter reasons of the ingester (the parser's are in lorawan)
PROCESSING_ERROR = "processing_error"            # any other exception while handling the message
REJECTED = "rejected_by_database"                # PostgreSQL refused the row
REDELIVERED_TOO_OFTEN = "redelivered_too_often"  # the broker delivered it max_deliveries times


@dataclasses.dataclass
class Message:
    topic: str
    payload: bytes
    received_at: dt.datetime
    source: str | None = None      # set by the webhook (the source is in the URL)


@dataclasses.dataclass
class DeadLetter:
    message: Message
    reason: str
    detail: str
    source: str | None


@dataclasses.dataclass
class BatchResult:
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead: list[DeadLetter] = dataclasses.field(default_factory=list)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _recordset(fields: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{_q(f['id'])} {f['type']}" for f in fields)


def _select(fields: Sequence[dict[str, Any]]) -> str:
    """Select list from the recordset ``r``; DataStore ``json`` columns are its
    composite type ``nested`` (json, extra)."""
    out = []
    for f in fields:
        col = f"r.{_q(f['id'])}"
        if f["type"] == "json":
            out.append(f"CASE WHEN {col} IS NULL THEN NULL ELSE ROW({col}, '')::nested END")
        else:
            out.append(col)
    return ", ".join(out)


def insert_sql(table: str, fields: Sequence[dict[str, Any]], key: Sequence[str]) -> sa.TextClause:
    """One statement for a whole batch: rows as one JSON array parameter ``:rows``,
    duplicates of the key skipped, the keys of the new rows returned."""
    cols = ", ".join(_q(f["id"]) for f in fields)
    keys = ", ".join(_q(k) for k in key)
    return sa.text(
        f"INSERT INTO {_q(table)} ({cols}) "
        f"SELECT {_select(fields)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_recordset(fields)}) "
        f"ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}"
    )


def hourly_sql(ser: Series) -> sa.TextClause:
    """Recompute the hourly values of the (device, hour) pairs in ``:keys`` (a JSON
    array) from the observations: exact under duplicates and out-of-order arrival;
    the (device, time) key serves the range scan."""
    hf = hourly_fields(ser.columns)
    aggs = []
    for c in ser.numeric_columns:
        aggs += [f"min(o.{_q(c.name)})", f"trim_scale(CAST(avg(o.{_q(c.name)}) AS numeric))", f"max(o.{_q(c.name)})"]
    hcols = ", ".join(_q(f["id"]) for f in hf)
    hsets = ", ".join(f"{_q(f['id'])} = EXCLUDED.{_q(f['id'])}" for f in hf if f["id"] not in ("device", "hour"))
    return sa.text(
        f"INSERT INTO {_q(ser.hourly)} ({hcols}) "
        f"SELECT o.device, date_trunc('hour', o.time), count(*){''.join(', ' + a for a in aggs)} "
        f"FROM (SELECT DISTINCT device, hour FROM jsonb_to_recordset(CAST(:keys AS jsonb)) AS k(device text, hour timestamp)) k "
        f"JOIN {_q(ser.observations)} o ON o.device = k.device AND o.time >= k.hour AND o.time < k.hour + interval '1 hour' "
        f"GROUP BY o.device, date_trunc('hour', o.time) "
        f"ON CONFLICT (device, hour) DO UPDATE SET {hsets}"
    )


def insert_rows(conn: sa.engine.Connection, table: str, fields: Sequence[dict[str, Any]], key: Sequence[str],
                rows: list[dict[str, Any]]) -> int:
    """Insert a batch (one statement), keep the DataStore's cached row count right; returns new rows."""
    new = conn.execute(insert_sql(table, fields, key), {"rows": json.dumps(rows, default=_json_default)}).fetchall()
    if new:
        conn.execute(_BUMP_ROWS, {"t": table, "n": len(new)})
    return len(new)


def _json_default(val: Any) -> Any:
    if isinstance(val, (dt.datetime, dt.date)):
        return val.isoformat()
    raise TypeError(type(val).__name__)


class Ingester:
    def __init__(self, sources: SourceSet, series: dict[str, Series], write_engine: Engine,
                 dead_letter_engine: Engine, limits: Limits | None = None) -> None:
        self.sources = sources
        self.series = series
        self.engine = write_engine
        self.dead_engine = dead_letter_engine
        self.limits = limits or Limits()
        self._sql: dict[str, tuple[sa.TextClause, sa.TextClause, sa.TextClause]] = {}

    # -- routing and parsing ----------------------------------------------
    def source_of(self, msg: Message) -> Source | None:
        """The source a message belongs to: named by the webhook, else by its topic."""
        return self.sources.by_name(msg.source) if msg.source else self.sources.for_topic(msg.topic)

    def source_name(self, msg: Message) -> str | None:
        try:
            src = self.source_of(msg)
        except Exception:  # noqa: BLE001 - only a label for a dead letter
            return msg.source
        return src.name if src else msg.source

    def route(self, messages: Iterable[Message]) -> tuple[dict[str, list[dict[str, Any]]], BatchResult]:
        """Parse and map a batch. Never raises: whatever goes wrong with one
        message (a parser error, or any exception at all) makes it a dead letter."""
        result = BatchResult()
        rows: dict[str, list[dict[str, Any]]] = {}
        for msg in messages:
            result.received += 1
            src: Source | None = None
            try:
                src = self.source_of(msg)
                if src is None:
                    result.dead.append(DeadLetter(msg, lorawan.UNKNOWN_SOURCE, f"no source for topic {msg.topic!r}",
                                                  None))
                    continue
                uplink = lorawan.parse(src.flavour, msg.topic, msg.payload)
                dev = src.device(uplink)
                if dev is None or dev.dataset not in self.series:
                    result.dead.append(DeadLetter(
                        msg, lorawan.UNKNOWN_DEVICE,
                        f"device {uplink.device_id!r} is not mapped in source {src.name!r}", src.name))
                    continue
                ser = self.series[dev.dataset]
                row = row_for(src, ser.columns, uplink, dev, ser.radio, ser.eui, self.limits)
            except lorawan.PayloadError as err:
                result.dead.append(DeadLetter(msg, err.reason, err.message, src.name if src else msg.source))
            except Exception as err:  # noqa: BLE001 - one message must never stop the stream
                log.warning("message on %s could not be handled", msg.topic, exc_info=True)
                result.dead.append(DeadLetter(msg, PROCESSING_ERROR, f"{type(err).__name__}: {err}"[:500],
                                              src.name if src else msg.source))
            else:
                rows.setdefault(dev.dataset, []).append(row)
        return rows, result

    # -- SQL --------------------------------------------------------------
    def _statements(self, ser: Series) -> tuple[sa.TextClause, sa.TextClause, sa.TextClause]:
        if ser.dataset in self._sql:
            return self._sql[ser.dataset]
        obs = observation_fields(ser.columns, ser.radio, ser.eui)
        insert = insert_sql(ser.observations, obs, ("device", "time", "f_cnt"))
        lat = latest_fields(ser.columns)
        lcols = ", ".join(_q(f["id"]) for f in lat)
        sets = ", ".join(f"{_q(f['id'])} = EXCLUDED.{_q(f['id'])}" for f in lat if f["id"] != "device")
        # DISTINCT ON picks each device's newest uplink of the batch; the WHERE keeps
        # a late (out-of-order) uplink from replacing a newer one.
        latest = sa.text(
            f"INSERT INTO {_q(ser.latest)} ({lcols}) "
            f"SELECT DISTINCT ON (r.device) {_select(lat)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_recordset(lat)}) "
            f"ORDER BY r.device, r.time DESC, r.f_cnt DESC "
            f"ON CONFLICT (device) DO UPDATE SET {sets} "
            f"WHERE ({_q(ser.latest)}.time, {_q(ser.latest)}.f_cnt) < (EXCLUDED.time, EXCLUDED.f_cnt)"
        )
        hourly = hourly_sql(ser)
        self._sql[ser.dataset] = (insert, latest, hourly)
        return self._sql[ser.dataset]

    def write(self, dataset: str, rows: list[dict[str, Any]]) -> int:
        """One dataset's rows in one transaction; returns how many were new."""
        ser = self.series[dataset]
        insert, latest, hourly = self._statements(ser)
        payload = json.dumps(rows, default=_json_default)
        with self.engine.begin() as conn:
            # Writers of one dataset (several consumers, the webhook) take turns: rows
            # get their _id (the downloads' arrival cursor) in commit order, so a
            # client that has seen _id n has seen every row below it; and whoever
            # recomputes an hour sees the rows the others committed before.
            conn.execute(_WRITE_LOCK, {"k": write_lock_key(ser)})
            new = conn.execute(insert, {"rows": payload}).fetchall()
            if not new:
                return 0
            keys = {(r[0], r[1], r[2]) for r in new}
            fresh = [r for r in rows if (r["device"], _naive(r["time"]), r["f_cnt"]) in keys]
            conn.execute(latest, {"rows": json.dumps(fresh, default=_json_default)})
            hours = sorted({(r[0], r[1].replace(minute=0, second=0, microsecond=0).isoformat()) for r in new})
            conn.execute(hourly, {"keys": json.dumps([{"device": d, "hour": h} for d, h in hours])})
            # The DataStore caches row counts in "_table_stats" (datastore_search's
            # "total"); its own writes clear the entry. Observations: add what we
            # inserted (no count(*) over millions of rows); the small tables: clear.
            conn.execute(_BUMP_ROWS, {"t": ser.observations, "n": len(new)})
            conn.execute(_CLEAR_STATS, {"t": [ser.latest, ser.hourly]})
        return len(new)

    def write_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        if not dead:
            return
        with self.dead_engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO udp_sensor_dead_letter (received_at, source, topic, reason, detail, payload) "
                "VALUES (:received_at, :source, :topic, :reason, :detail, :payload)"
            ), [{"received_at": d.message.received_at, "source": d.source, "topic": _text(d.message.topic, 1000),
                 "reason": d.reason, "detail": _text(d.detail, 2000), "payload": d.message.payload} for d in dead])

    def reachable(self) -> bool:
        """Whether both databases answer (an outage, not a message, made a write fail)."""
        for engine in (self.engine, self.dead_engine):
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            except sa.exc.SQLAlchemyError:
                return False
        return True

    def store(self, rows: dict[str, list[dict[str, Any]]], result: BatchResult) -> BatchResult:
        """Write routed rows and the dead letters; raises on database errors."""
        for dataset, ds_rows in rows.items():
            n = self.write(dataset, ds_rows)
            result.inserted += n
            result.duplicates += len(ds_rows) - n
        self.write_dead_letters(result.dead)
        return result

    def process(self, messages: Sequence[Message]) -> BatchResult:
        """Store a batch; raises on database errors (the caller then does not acknowledge)."""
        rows, result = self.route(messages)
        return self.store(rows, result)


_BUMP_ROWS = sa.text(
    "UPDATE \"_table_stats\" SET stats = jsonb_set(stats, '{rows}', "
    "to_jsonb((stats->>'rows')::bigint + :n)) WHERE resource_id = :t AND stats ? 'rows'"
)
_WRITE_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))")


def write_lock_key(ser: Series) -> str:
    """Key of the transaction-level advisory lock every write of a dataset's series takes first."""
    return f"udp_sensors:hourly:{ser.hourly}"


_CLEAR_STATS = sa.text("DELETE FROM \"_table_stats\" WHERE resource_id = ANY(:t)")


def _text(value: str | None, size: int) -> str | None:
    """Text PostgreSQL accepts (no NUL), cut to size."""
    return None if value is None else value.replace("\x00", "\\x00")[:size]


def _naive(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc).replace(tzinfo=None)


def write_engine() -> Engine:
    """A pool of our own on ``ckan.datastore.write_url``."""
    import ckan.plugins.toolkit as tk

    return sa.create_engine(tk.config["ckan.datastore.write_url"], pool_pre_ping=True, pool_size=2)
