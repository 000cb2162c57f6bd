"""The one door of ckanext-udp to CKAN internals: every use of a CKAN (or extension) internal that the toolkit does not
offer goes through a function here, each named in docs/architecture.md and covered by tests/compat/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection

# --- sensors ---
# DataStore (ckanext.datastore, PostgreSQL backend) internals that udp_sensors and
# udp_sensorthings use when they write DataStore tables in bulk, without an action
# per row: the composite type of "json" columns, the cached row counts and the
# full-text trigger; and ckanext-harvest's constraint name that udp_sensorthings
# defers. Each takes a SQLAlchemy connection on the DataStore's write
# URL; tests/compat/test_sensors.py checks each on the real stack.

DATASTORE_JSON_TYPE = "nested"  # the DataStore's composite type (json, extra) behind a "json" column
DATASTORE_STATS_TABLE = "_table_stats"  # cached row counts (datastore_search's "total")
DATASTORE_FULLTEXT_TRIGGER = "zfulltext"  # fills "_full_text" on every write unless disabled
HARVEST_OBJECT_PACKAGE_FKEY = "harvest_object_package_id_fkey"  # ckanext-harvest, deferrable


def datastore_json_value(expr: sql.Composable) -> sql.Composable:
    """``expr`` (a json value) as the value of a DataStore ``json`` column."""
    return sql.SQL("CASE WHEN {e} IS NULL THEN NULL ELSE ROW({e}, '')::{t} END").format(
        e=expr, t=sql.Identifier(DATASTORE_JSON_TYPE)
    )


def datastore_json_read(column: sql.Composable) -> sql.Composable:
    """The JSON held in a DataStore ``json`` column."""
    return sql.SQL("({c}).json").format(c=column)


def datastore_type_name(pg_type: str) -> str:
    """The DataStore's name of a column type as PostgreSQL names it (``nested`` is ``json``)."""
    return "json" if pg_type == DATASTORE_JSON_TYPE else pg_type


def datastore_add_row_count(conn: Connection, table: str, n: int) -> None:
    """Add ``n`` to the cached row count of a DataStore table (rows inserted past the actions)."""
    _execute(
        conn,
        sql.SQL(
            "UPDATE {s} SET stats = jsonb_set(stats, '{{rows}}', to_jsonb((stats->>'rows')::bigint + %(n)s)) "
            "WHERE resource_id = %(t)s AND stats ? 'rows'"
        ).format(s=sql.Identifier(DATASTORE_STATS_TABLE)),
        {"n": n, "t": table},
    )


def datastore_forget_row_counts(conn: Connection, tables: Sequence[str]) -> None:
    """Drop the cached row counts of DataStore tables (the DataStore counts again when asked)."""
    _execute(
        conn,
        sql.SQL("DELETE FROM {s} WHERE resource_id = ANY(%(t)s)").format(s=sql.Identifier(DATASTORE_STATS_TABLE)),
        {"t": list(tables)},
    )


def datastore_fulltext_state(conn: Connection, table: str) -> bool | None:
    """Whether a table's full-text trigger is enabled (None: the table has none)."""
    state = conn.execute(
        sa.text("SELECT tgenabled FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND tgname = :g"),
        {"t": _render(conn, sql.Identifier(table)), "g": DATASTORE_FULLTEXT_TRIGGER},
    ).scalar()
    return None if state is None else state != "D"


def datastore_set_fulltext(conn: Connection, table: str, enabled: bool) -> None:
    """Switch a table's full-text trigger on or off (nothing to do when it has none)."""
    state = datastore_fulltext_state(conn, table)
    if state is not None and state != enabled:
        _execute(
            conn,
            sql.SQL("ALTER TABLE {t} {verb} TRIGGER {g}").format(
                t=sql.Identifier(table),
                verb=sql.SQL("ENABLE" if enabled else "DISABLE"),
                g=sql.Identifier(DATASTORE_FULLTEXT_TRIGGER),
            ),
        )


def datastore_drop_fulltext(conn: Connection, table: str) -> bool:
    """Remove the full-text trigger that ``ckan datastore set-permissions`` puts on
    every table of the DataStore's schema from a table that is none of its own
    (the trigger fails there); returns whether there was one."""
    if datastore_fulltext_state(conn, table) is None:
        return False
    _execute(
        conn,
        sql.SQL("DROP TRIGGER {g} ON {t}").format(
            g=sql.Identifier(DATASTORE_FULLTEXT_TRIGGER), t=sql.Identifier(table)
        ),
    )
    return True


def harvest_defer_object_package_check(session: Any) -> None:
    """Defer, to the end of the transaction, ckanext-harvest's foreign key from a
    harvest object to its dataset (the object is linked before the dataset exists)."""
    session.execute(sa.text(f"SET CONSTRAINTS {HARVEST_OBJECT_PACKAGE_FKEY} DEFERRED"))


def _render(conn: Connection, query: sql.Composable) -> str:
    return query.as_string(conn.connection.dbapi_connection)


def _execute(conn: Connection, query: sql.Composable, params: dict[str, Any] | None = None) -> None:
    conn.exec_driver_sql(_render(conn, query), params)
