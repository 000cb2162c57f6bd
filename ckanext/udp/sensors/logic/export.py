"""Streaming a series out of PostgreSQL for the stable download URLs.

PostgreSQL formats the rows itself (``COPY (SELECT ...) TO STDOUT``): CSV by
COPY's CSV writer, JSON by ``row_to_json`` per row. Python only hands the
bytes on, so a one-day query over a large series costs little more than the
index scan.

A download is one read-only REPEATABLE READ transaction of the DataStore's
read-only user, with a ``statement_timeout``: first the table's columns, its
write version (ETag, Last-Modified) and the arrival bound are read, then the
COPY runs in a thread on the same connection and fills a small bounded queue
that the response empties. Version, bound and rows come from one snapshot. A
client that goes away cancels the query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import queue
import re
import threading
from collections.abc import Sequence
from typing import Any

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import Engine

from ckanext.udp import compat
from ckanext.udp.sensors.logic.series import VERSION_TABLE

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_DONE = object()


class CursorError(ValueError):
    """A malformed ``after`` token."""


_TOKEN = re.compile(r"^udp1:(0|[1-9][0-9]{0,18})$")


def encode_cursor(arrival: int) -> str:
    """The opaque ``after`` token of an arrival position (an observation's ``_id``)."""
    return base64.urlsafe_b64encode(f"udp1:{arrival}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as err:
        raise CursorError(token) from err
    m = _TOKEN.match(raw)
    if not m or int(m.group(1)) >= 2**63:
        raise CursorError(token)
    return int(m.group(1))


class Snapshot:
    """One download's read-only transaction (see the module's docstring)."""

    def __init__(self, engine: Engine, timeout_s: float = 0) -> None:
        self.raw = engine.raw_connection()
        self.handed_over = False
        self.closed = False
        try:
            cur = self.raw.cursor()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SET LOCAL DateStyle TO ISO")
            if timeout_s:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout_s * 1000)}ms",))
        except BaseException:
            self.close()
            raise

    def _all(self, query: str | sql.Composable, params: Any = None) -> list[tuple[Any, ...]]:
        cur = self.raw.cursor()
        cur.execute(query, params)
        return list(cur.fetchall())

    def fields(self, table: str) -> list[dict[str, str]]:
        """The public columns of a DataStore table with the DataStore's type names
        (as ``datastore_search`` reports them), in table order."""
        rows = self._all(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = CAST(%s AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (sql.Identifier(table).as_string(self.raw.cursor()),),
        )
        return [{"id": name, "type": compat.datastore_type_name(typ)} for name, typ in rows if not name.startswith("_")]

    def version(self, table: str) -> tuple[int, dt.datetime | None] | None:
        """How often the table was written (statement trigger) and when last; (0, None) if
        never since; None if the version table cannot be read (no validators then)."""
        cur = self.raw.cursor()
        cur.execute("SAVEPOINT udp_version")
        try:
            cur.execute(
                sql.SQL("SELECT version, modified FROM {} WHERE table_name = %s").format(sql.Identifier(VERSION_TABLE)),
                (table,),
            )
            rows = cur.fetchall()
        except psycopg2.Error as err:  # e.g. a read-only user without SELECT on it
            cur.execute("ROLLBACK TO SAVEPOINT udp_version")
            log.warning("no ETag for the sensor downloads: %s", str(err).splitlines()[0])
            return None
        return (rows[0][0], rows[0][1]) if rows else (0, None)

    def last_arrival(self, table: str) -> int:
        return self._all(sql.SQL('SELECT coalesce(max("_id"), 0) FROM {}').format(sql.Identifier(table)))[0][0]

    def page_end(self, table: str, after: int, rows: int, where: Sequence[sql.Composable] = ()) -> tuple[int, bool]:
        """The arrival position that ends a page of ``rows`` rows after ``after``
        (matching ``where``), and whether the page is full (more may follow)."""
        cond = sql.SQL(" AND ").join([sql.SQL('"_id" > {}').format(sql.Literal(int(after))), *where])
        found = self._all(
            sql.SQL('SELECT "_id" FROM {} WHERE {} ORDER BY "_id" OFFSET {} LIMIT 1').format(
                sql.Identifier(table), cond, sql.Literal(int(rows) - 1)
            )
        )
        if found:
            return found[0][0], True
        return max(after, self.last_arrival(table)), False

    def stream(self, copy: sql.Composable, fmt: str, head: bytes = b"", tail: bytes = b"") -> Body:
        """Run ``copy`` in a thread on this transaction; the returned iterable owns
        the connection from then on. Waits for the first chunk: a query that fails
        at once raises here, before the response has sent a byte."""
        export = _Export(self, copy.as_string(self.raw.cursor()), fmt)
        self.handed_over = True
        first = export.out.get()
        if first is _DONE and export.error:
            export.close(finished=True)
            raise export.error[0]
        return Body(export, first, head, tail)

    def close(self) -> None:
        if self.handed_over or self.closed:
            return
        self.closed = True
        try:
            self.raw.rollback()
        finally:
            self.raw.close()


def table_fields(engine: Engine, table: str) -> list[dict[str, str]]:
    snap = Snapshot(engine)
    try:
        return snap.fields(table)
    finally:
        snap.close()


def select_sql(
    table: str,
    fields: Sequence[dict[str, Any]],
    time_col: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    device: str | None,
    *,
    after: int | None = None,
    upto: int | None = None,
    order: Sequence[str] | None = None,
) -> sql.Composable:
    """The rows of a series in download form: timestamps as ISO 8601 UTC with
    ``Z``, DataStore ``json`` columns as their JSON, ordered by time and device
    (or as given: ``("_id",)`` is arrival order); ``after``/``upto`` bound the
    arrival position (``_id``)."""
    cols: list[sql.Composable] = []
    for f in fields:
        name = sql.Identifier(f["id"])
        if f["type"] == "json":
            cols.append(sql.SQL("{} AS {}").format(compat.datastore_json_read(name), name))
        elif f["type"].startswith("timestamp"):
            cols.append(sql.SQL("replace(CAST({n} AS text), ' ', 'T') || 'Z' AS {n}").format(n=name))
        else:
            cols.append(name)
    where = filters(time_col, start, end, device)
    if after is not None:
        where.append(sql.SQL('"_id" > {}').format(sql.Literal(int(after))))
    if upto is not None:
        where.append(sql.SQL('"_id" <= {}').format(sql.Literal(int(upto))))
    order = order or (time_col, "device")
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(cols), sql.Identifier(table))
    if where:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where)
    return query + sql.SQL(" ORDER BY ") + sql.SQL(", ").join(sql.Identifier(c) for c in order)


def filters(
    time_col: str, start: dt.datetime | None, end: dt.datetime | None, device: str | None
) -> list[sql.Composable]:
    """Conditions of a time range and a device (literals: COPY takes no bind parameters)."""
    where: list[sql.Composable] = []
    if start:
        where.append(
            sql.SQL("{} >= CAST({} AS timestamp)").format(sql.Identifier(time_col), sql.Literal(start.isoformat()))
        )
    if end:
        where.append(
            sql.SQL("{} < CAST({} AS timestamp)").format(sql.Identifier(time_col), sql.Literal(end.isoformat()))
        )
    if device is not None:
        where.append(sql.SQL('"device" = {}').format(sql.Literal(device)))
    return where


def copy_sql(select: str | sql.Composable, fmt: str) -> sql.Composable:
    """``select`` as a COPY to the client, CSV with a header or one JSON object per line."""
    query = sql.SQL(select) if isinstance(select, str) else select
    if fmt == "csv":
        return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
    # one JSON object per line; with these (never occurring) delimiter and quote
    # characters COPY's CSV mode passes the JSON text through unchanged
    return sql.SQL(
        "COPY (SELECT row_to_json(t) FROM ({}) t) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    ).format(query)


class _Sink:
    """File-like target of psycopg2's ``copy_expert``: it gets one row per
    ``write``; rows go in chunks onto a bounded queue."""

    def __init__(self, out: queue.Queue[Any], fmt: str) -> None:
        self.out = out
        self.csv = fmt == "csv"
        self.buf: list[bytes] = []
        self.size = 0
        self.rows = 0
        self.cancelled = threading.Event()

    def write(self, data: bytes | memoryview) -> int:
        if self.cancelled.is_set():
            return 0
        row = bytes(data)
        if self.csv:
            row = row[:-1] + b"\r\n" if row.endswith(b"\n") else row  # RFC 4180 line ends
        elif self.rows:
            row = b"," + row
        self.rows += 1
        self.buf.append(row)
        self.size += len(row)
        if self.size >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buf and not self.cancelled.is_set():
            self.out.put(b"".join(self.buf))
        self.buf, self.size = [], 0


class _Export:
    """One COPY running in a thread on the snapshot's connection."""

    def __init__(self, snapshot: Snapshot, copy: str, fmt: str) -> None:
        self.out: queue.Queue[Any] = queue.Queue(maxsize=8)
        self.sink = _Sink(self.out, fmt)
        self.error: list[BaseException] = []
        self.raw = snapshot.raw
        self.copy = copy
        self.closed = False
        self.worker = threading.Thread(target=self._run, name="udp-sensors-export", daemon=True)
        self.worker.start()

    def _run(self) -> None:
        try:
            cur = self.raw.cursor()
            cur.copy_expert(self.copy, self.sink)
            self.sink.flush()
        except BaseException as err:  # noqa: BLE001 - handed to the reading side
            self.error.append(err)
        finally:
            self.out.put(_DONE)

    def close(self, finished: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if not finished:  # the client went away: stop the query, unblock the worker
            self.sink.cancelled.set()
            try:
                driver = self.raw.driver_connection
                if driver is not None:
                    driver.cancel()
            except Exception:  # noqa: BLE001 - best effort
                pass
            while self.worker.is_alive():
                try:
                    self.out.get(timeout=0.1)
                except queue.Empty:
                    pass
        self.worker.join()
        try:
            self.raw.rollback()
        finally:
            self.raw.close()


def stream(
    engine: Engine, copy: sql.Composable, fmt: str, head: bytes = b"", tail: bytes = b"", timeout_s: float = 0
) -> Body:
    """Start ``copy`` on ``engine`` in a snapshot of its own; see ``Snapshot.stream``."""
    snap = Snapshot(engine, timeout_s)
    try:
        return snap.stream(copy, fmt, head, tail)
    finally:
        snap.close()  # nothing to do once handed over


class Body:
    """The response body: the COPY's chunks between ``head`` and ``tail``. An
    iterator class, not a generator, so that ``close()`` cancels the query even
    when the response was dropped before its first chunk (a HEAD request, a
    client gone at once); a generator that never started ignores close()."""

    def __init__(self, export: _Export, first: Any, head: bytes, tail: bytes) -> None:
        self.export = export
        self.pending: list[Any] = ([head] if head else []) + [first]
        self.tail = tail
        self.finished = False

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        if self.finished:
            raise StopIteration
        chunk = self.pending.pop(0) if self.pending else self.export.out.get()
        if chunk is _DONE:
            self.finished = True
            if self.export.error:  # failed mid-way: the client sees a truncated body, the log says why
                self.export.close(finished=True)
                raise self.export.error[0]
            self.export.close(finished=True)
            if self.tail:
                return self.tail
            raise StopIteration
        return chunk

    def close(self) -> None:
        self.export.close(finished=self.finished)
