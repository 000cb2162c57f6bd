"""Streaming a series out of PostgreSQL for the stable download URLs.

PostgreSQL formats the rows itself (``COPY (SELECT ...) TO STDOUT``): CSV by
COPY's CSV writer, JSON by ``row_to_json`` per row. Python only hands the
bytes on, so a one-day query over a large series costs little more than the
index scan. The COPY runs in a thread on a connection of the DataStore's
read-only user and fills a small bounded queue; the response generator
empties it. A client that goes away cancels the query.
"""
from __future__ import annotations

import datetime as dt
import queue
import threading
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ckanext.udp.sensors.logic.ingest import _q

CHUNK = 64 * 1024
_DONE = object()


def _literal(value: dt.datetime | str) -> str:
    """A quoted SQL literal (COPY takes no bind parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def table_fields(engine: Engine, table: str) -> list[dict[str, str]]:
    """The public columns of a DataStore table with the DataStore's type names
    (as ``datastore_search`` reports them), in table order."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum"), {"t": _q(table)}).fetchall()
    return [{"id": name, "type": "json" if typ == "nested" else typ}
            for name, typ in rows if not name.startswith("_")]


def select_sql(table: str, fields: Sequence[dict[str, Any]], time_col: str, start: dt.datetime | None,
               end: dt.datetime | None, device: str | None) -> str:
    """The rows of a series in download form: timestamps as ISO 8601 UTC with
    ``Z``, DataStore ``json`` columns as their JSON, ordered by time and device."""
    cols = []
    for f in fields:
        name = _q(f["id"])
        if f["type"] == "json":
            cols.append(f"({name}).json AS {name}")
        elif f["type"].startswith("timestamp"):
            cols.append(f"replace(CAST({name} AS text), ' ', 'T') || 'Z' AS {name}")
        else:
            cols.append(name)
    where = []
    if start:
        where.append(f"{_q(time_col)} >= CAST({_literal(start.isoformat())} AS timestamp)")
    if end:
        where.append(f"{_q(time_col)} < CAST({_literal(end.isoformat())} AS timestamp)")
    if device is not None:
        where.append(f'"device" = {_literal(device)}')
    return (f"SELECT {', '.join(cols)} FROM {_q(table)}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f' ORDER BY {_q(time_col)}, "device"')


def copy_sql(select: str, fmt: str) -> str:
    if fmt == "csv":
        return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    # one JSON object per line; with these (never occurring) delimiter and quote
    # characters COPY's CSV mode passes the JSON text through unchanged
    return (f"COPY (SELECT row_to_json(t) FROM ({select}) t) TO STDOUT "
            f"WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')")


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
    """One COPY running in a thread on a connection of its own."""

    def __init__(self, engine: Engine, copy: str, fmt: str) -> None:
        self.out: queue.Queue[Any] = queue.Queue(maxsize=8)
        self.sink = _Sink(self.out, fmt)
        self.error: list[BaseException] = []
        self.raw = engine.raw_connection()
        self.copy = copy
        self.worker = threading.Thread(target=self._run, name="udp-sensors-export", daemon=True)
        self.worker.start()

    def _run(self) -> None:
        try:
            cur = self.raw.cursor()
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute("SET LOCAL DateStyle TO ISO")
            cur.execute("SET LOCAL standard_conforming_strings TO on")  # _literal relies on it
            cur.copy_expert(self.copy, self.sink)
            self.sink.flush()
        except BaseException as err:  # noqa: BLE001 - handed to the reading side
            self.error.append(err)
        finally:
            self.out.put(_DONE)

    def close(self, finished: bool) -> None:
        if not finished:  # the client went away: stop the query, unblock the worker
            self.sink.cancelled.set()
            try:
                self.raw.driver_connection.cancel()
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


def stream(engine: Engine, copy: str, fmt: str, head: bytes = b"", tail: bytes = b"") -> Iterator[bytes]:
    """Start ``copy`` on ``engine``; returns its output as an iterator of chunks.

    Waits for the first chunk: a database that cannot be reached or a query
    that fails at once raises here, before the response has sent a byte."""
    export = _Export(engine, copy, fmt)
    first = export.out.get()
    if first is _DONE and export.error:
        export.close(finished=True)
        raise export.error[0]
    return _chunks(export, first, head, tail)


def _chunks(export: _Export, first: Any, head: bytes, tail: bytes) -> Iterator[bytes]:
    finished = False
    try:
        if head:
            yield head
        chunk = first
        while chunk is not _DONE:
            yield chunk
            chunk = export.out.get()
        finished = True
        if export.error:  # failed mid-way: the client sees a truncated body, the log says why
            raise export.error[0]
        if tail:
            yield tail
    finally:
        export.close(finished)
