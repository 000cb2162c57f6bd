"""SQL for bulk writes into DataStore tables, shared by udp_sensors and
udp_sensorthings (it imports neither).

Identifiers are quoted by psycopg2.sql (``sql.Identifier``) and statements
composed with ``sql.SQL(...).format``; :func:`render` turns a composed statement
into text for SQLAlchemy on a connection of the DataStore's write URL
(:func:`write_engine`). Batches travel as one JSON array parameter. The
DataStore internals involved (its ``json`` column type, its cached row counts)
are reached through ``ckanext.udp.compat``.

Every batch that adds rows sends the ``udp_datastore_rows_written`` signal
(``ROWS_WRITTEN``, sender: the table's resource id), so a plugin that follows
DataStore changes (udp_api's bulk downloads) sees rows written past the
DataStore actions. Inside ``transaction(engine)`` the signal waits for the
commit (a receiver that reads the table finds the rows; a rolled-back batch
sends nothing); on any other connection it is sent at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection, Engine

from ckanext.udp import compat

ROWS_WRITTEN = tk.signals.ckanext.signal("udp_datastore_rows_written")

Field = dict[str, Any]  # a DataStore field: {"id": ..., "type": ..., "info": ...}

# rows written per table inside an open ``transaction()``, announced after its commit
_WRITTEN: weakref.WeakKeyDictionary[Connection, dict[str, int]] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` whose ``insert_rows`` are announced (``ROWS_WRITTEN``)
    only once the transaction has committed."""
    written: dict[str, int] = {}
    with engine.begin() as conn:
        _WRITTEN[conn] = written
        try:
            yield conn
        finally:
            _WRITTEN.pop(conn, None)
    for table, rows in written.items():
        ROWS_WRITTEN.send(table, rows=rows)


def write_engine() -> Engine:
    """A small pool of our own on ``ckan.datastore.write_url``."""
    return sa.create_engine(tk.config["ckan.datastore.write_url"], pool_pre_ping=True, pool_size=2)


def ident(*names: str) -> sql.Composable:
    """Quoted identifiers, comma-separated."""
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def excluded(columns: Iterable[str]) -> sql.Composable:
    """``col = EXCLUDED.col, ...``: the SET list of an upsert."""
    return sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in columns)


def render(conn: Connection, query: sql.Composable) -> str:
    """The text of a composed statement (quoting needs the connection's encoding)."""
    return query.as_string(conn.connection.dbapi_connection)


def text(conn: Connection, query: sql.Composable) -> sa.TextClause:
    """A composed statement as a SQLAlchemy text clause (``:name`` bind parameters)."""
    return sa.text(render(conn, query))


def recordset(fields: Sequence[Field]) -> sql.Composable:
    """The column definitions of ``jsonb_to_recordset(...) AS r(...)``."""
    return sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(f["id"]), sql.SQL(f["type"])) for f in fields)


def select_list(fields: Sequence[Field], alias: str = "r") -> sql.Composable:
    """The columns of the recordset ``alias`` as DataStore values (``json`` columns
    as the DataStore's composite type)."""
    out = []
    for f in fields:
        col = sql.Identifier(alias, f["id"])
        out.append(compat.datastore_json_value(col) if f["type"] == "json" else col)
    return sql.SQL(", ").join(out)


def insert_sql(table: str, fields: Sequence[Field], key: Sequence[str]) -> sql.Composable:
    """One statement for a whole batch: rows as one JSON array parameter ``:rows``,
    duplicates of the key skipped, the keys of the new rows returned."""
    return sql.SQL(
        "INSERT INTO {table} ({cols}) "
        "SELECT {select} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({recordset}) "
        "ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}"
    ).format(
        table=sql.Identifier(table),
        cols=ident(*(f["id"] for f in fields)),
        select=select_list(fields),
        recordset=recordset(fields),
        keys=ident(*key),
    )


def insert_rows(
    conn: Connection, table: str, fields: Sequence[Field], key: Sequence[str], rows: list[dict[str, Any]]
) -> list[sa.Row[Any]]:
    """Insert a batch (one statement), keep the DataStore's cached row count right;
    returns the keys of the new rows."""
    new = list(conn.execute(text(conn, insert_sql(table, fields, key)), {"rows": dumps(rows)}).fetchall())
    if new:
        compat.datastore_count_new_rows(conn, table, len(new))
        written = _WRITTEN.get(conn)
        if written is None:  # not inside transaction(): at once
            ROWS_WRITTEN.send(table, rows=len(new))
        else:
            written[table] = written.get(table, 0) + len(new)
    return new


def dumps(rows: Any) -> str:
    """JSON of a batch (dates and times as ISO 8601)."""
    return json.dumps(rows, default=_json_default)


def _json_default(val: Any) -> Any:
    if isinstance(val, (dt.datetime, dt.date)):
        return val.isoformat()
    raise TypeError(type(val).__name__)
