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
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ckanext.udp import compat
from ckanext.udp.datastore_sql import dumps, excluded, ident, insert_rows, recordset, select_list, text, transaction
from ckanext.udp.sensors import lorawan
from ckanext.udp.sensors.logic.series import Series, hourly_fields, latest_fields, observation_fields
from ckanext.udp.sensors.logic.sources import Limits, Source, SourceSet, row_for

log = logging.getLogger(__name__)

# dead-letter reasons of the ingester (the parser's are in lorawan)
PROCESSING_ERROR = "processing_error"  # any other exception while handling the message
REJECTED = "rejected_by_database"  # PostgreSQL refused the row
REDELIVERED_TOO_OFTEN = "redelivered_too_often"  # the broker delivered it max_deliveries times


@dataclasses.dataclass
class Message:
    topic: str
    payload: bytes
    received_at: dt.datetime
    source: str | None = None  # set by the webhook (the source is in the URL)


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


def hourly_sql(ser: Series) -> sql.Composable:
    """Recompute the hourly values of the (device, hour) pairs in ``:keys`` (a JSON
    array) from the observations: exact under duplicates and out-of-order arrival;
    the (device, time) key serves the range scan."""
    hf = hourly_fields(ser.columns)
    aggs: list[sql.Composable] = [sql.SQL("count(*)")]
    for c in ser.numeric_columns:
        col = sql.Identifier("o", c.name)
        aggs += [
            sql.SQL("min({})").format(col),
            sql.SQL("trim_scale(CAST(avg({}) AS numeric))").format(col),
            sql.SQL("max({})").format(col),
        ]
    return sql.SQL(
        "INSERT INTO {hourly} ({hcols}) "
        "SELECT o.device, date_trunc('hour', o.time), {aggs} "
        "FROM (SELECT DISTINCT device, hour FROM jsonb_to_recordset(CAST(:keys AS jsonb)) "
        "AS k(device text, hour timestamp)) k "
        "JOIN {obs} o ON o.device = k.device AND o.time >= k.hour AND o.time < k.hour + interval '1 hour' "
        "GROUP BY o.device, date_trunc('hour', o.time) "
        "ON CONFLICT (device, hour) DO UPDATE SET {sets}"
    ).format(
        hourly=sql.Identifier(ser.hourly),
        hcols=ident(*(f["id"] for f in hf)),
        aggs=sql.SQL(", ").join(aggs),
        obs=sql.Identifier(ser.observations),
        sets=excluded(f["id"] for f in hf if f["id"] not in ("device", "hour")),
    )


def latest_sql(ser: Series) -> sql.Composable:
    """Each device's newest uplink of the batch ``:rows`` into "latest" (DISTINCT ON);
    the WHERE keeps a late (out-of-order) uplink from replacing a newer one."""
    lat = latest_fields(ser.columns)
    table = sql.Identifier(ser.latest)
    return sql.SQL(
        "INSERT INTO {table} ({cols}) "
        "SELECT DISTINCT ON (r.device) {select} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({recordset}) "
        "ORDER BY r.device, r.time DESC, r.f_cnt DESC "
        "ON CONFLICT (device) DO UPDATE SET {sets} "
        "WHERE ({table}.time, {table}.f_cnt) < (EXCLUDED.time, EXCLUDED.f_cnt)"
    ).format(
        table=table,
        cols=ident(*(f["id"] for f in lat)),
        select=select_list(lat),
        recordset=recordset(lat),
        sets=excluded(f["id"] for f in lat if f["id"] != "device"),
    )


def write_lock(conn: Connection, ser: Series) -> None:
    """Take the transaction-level advisory lock every write of a dataset's series takes first."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": write_lock_key(ser)})


def write_lock_key(ser: Series) -> str:
    """Key of the advisory lock of :func:`write_lock`."""
    return f"udp_sensors:hourly:{ser.hourly}"


def process_safely(ingester: Ingester, messages: list[Message]) -> BatchResult:
    """Store a batch; whatever fails for a message (PostgreSQL refusing a value,
    any exception) is isolated by bisection and dead-lettered instead of blocking
    the stream. Only an outage (a database that does not answer) is raised, for
    the caller to retry."""
    try:
        return ingester.process(messages)
    except Exception as err:  # noqa: BLE001
        if isinstance(err, OperationalError) and not ingester.reachable():
            raise  # connection trouble: the caller retries the whole batch
        if len(messages) == 1:
            reason = REJECTED if isinstance(err, DBAPIError) else PROCESSING_ERROR
            log.warning(
                "message on %s dead-lettered (%s): %s",
                messages[0].topic,
                reason,
                err,
                exc_info=reason == PROCESSING_ERROR,
            )
            detail = (str(err).splitlines() or [""])[0][:500] or type(err).__name__
            dead = DeadLetter(messages[0], reason, detail, ingester.source_name(messages[0]))
            ingester.write_dead_letters([dead])
            return BatchResult(received=1, dead=[dead])
        mid = len(messages) // 2
        a = process_safely(ingester, messages[:mid])
        b = process_safely(ingester, messages[mid:])
        return BatchResult(
            a.received + b.received, a.inserted + b.inserted, a.duplicates + b.duplicates, a.dead + b.dead
        )


class Ingester:
    def __init__(
        self,
        sources: SourceSet,
        series: dict[str, Series],
        write_engine: Engine,
        dead_letter_engine: Engine,
        limits: Limits | None = None,
    ) -> None:
        self.sources = sources
        self.series = series
        self.engine = write_engine
        self.dead_engine = dead_letter_engine
        self.limits = limits or Limits()
        self._sql: dict[str, tuple[sa.TextClause, sa.TextClause]] = {}

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
                    result.dead.append(
                        DeadLetter(msg, lorawan.UNKNOWN_SOURCE, f"no source for topic {msg.topic!r}", None)
                    )
                    continue
                uplink = lorawan.parse(src.flavour, msg.topic, msg.payload)
                dev = src.device(uplink)
                if dev is None or dev.dataset not in self.series:
                    result.dead.append(
                        DeadLetter(
                            msg,
                            lorawan.UNKNOWN_DEVICE,
                            f"device {uplink.device_id!r} is not mapped in source {src.name!r}",
                            src.name,
                        )
                    )
                    continue
                ser = self.series[dev.dataset]
                row = row_for(src, ser.columns, uplink, dev, ser.radio, ser.eui, self.limits)
            except lorawan.PayloadError as err:
                result.dead.append(DeadLetter(msg, err.reason, err.message, src.name if src else msg.source))
            except Exception as err:  # noqa: BLE001 - one message must never stop the stream
                log.warning("message on %s could not be handled", msg.topic, exc_info=True)
                result.dead.append(
                    DeadLetter(
                        msg, PROCESSING_ERROR, f"{type(err).__name__}: {err}"[:500], src.name if src else msg.source
                    )
                )
            else:
                rows.setdefault(dev.dataset, []).append(row)
        return rows, result

    # -- SQL --------------------------------------------------------------
    def _statements(self, conn: Connection, ser: Series) -> tuple[sa.TextClause, sa.TextClause]:
        """The "latest" and "hourly" statements of a dataset (rendered once)."""
        if ser.dataset not in self._sql:
            self._sql[ser.dataset] = (text(conn, latest_sql(ser)), text(conn, hourly_sql(ser)))
        return self._sql[ser.dataset]

    def write(self, dataset: str, rows: list[dict[str, Any]]) -> int:
        """One dataset's rows in one transaction; returns how many were new."""
        ser = self.series[dataset]
        obs = observation_fields(ser.columns, ser.radio, ser.eui)
        with transaction(self.engine) as conn:
            latest, hourly = self._statements(conn, ser)
            # Writers of one dataset (several consumers, the webhook) take turns: rows
            # get their _id (the downloads' arrival cursor) in commit order, so a
            # client that has seen _id n has seen every row below it; and whoever
            # recomputes an hour sees the rows the others committed before.
            write_lock(conn, ser)
            # the DataStore's cached row count ("total") of the observations grows by
            # what was inserted (no count(*) over millions of rows)
            new = insert_rows(conn, ser.observations, obs, ("device", "time", "f_cnt"), rows)
            if not new:
                return 0
            keys = {(r[0], r[1], r[2]) for r in new}
            fresh = [r for r in rows if (r["device"], _naive(r["time"]), r["f_cnt"]) in keys]
            conn.execute(latest, {"rows": dumps(fresh)})
            hours = sorted({(r[0], r[1].replace(minute=0, second=0, microsecond=0).isoformat()) for r in new})
            conn.execute(hourly, {"keys": json.dumps([{"device": d, "hour": h} for d, h in hours])})
            # the small tables: the DataStore counts again when asked
            compat.datastore_forget_row_counts(conn, [ser.latest, ser.hourly])
        return len(new)

    def write_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        if not dead:
            return
        with self.dead_engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO udp_sensor_dead_letter (received_at, source, topic, reason, detail, payload) "
                    "VALUES (:received_at, :source, :topic, :reason, :detail, :payload)"
                ),
                [
                    {
                        "received_at": d.message.received_at,
                        "source": d.source,
                        "topic": _text(d.message.topic, 1000),
                        "reason": d.reason,
                        "detail": _text(d.detail, 2000),
                        "payload": d.message.payload,
                    }
                    for d in dead
                ],
            )

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


def _text(value: str | None, size: int) -> str | None:
    """Text PostgreSQL accepts (no NUL), cut to size."""
    return None if value is None else value.replace("\x00", "\\x00")[:size]


def _naive(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc).replace(tzinfo=None)
