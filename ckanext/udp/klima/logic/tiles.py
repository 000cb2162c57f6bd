"""The tiles: stored in ``udp_klima_tile`` (migration ``udp_klima``), their
visibility (the dataset published and open, by CKAN's own rule through
``compat.is_public``) and their numbers, read from the DataStore tables with
one or two SQL statements per tile on ``ckan.datastore.read_url`` (identifiers
quoted by psycopg2.sql)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import ckan.model as model
import ckan.plugins.toolkit as tk
import psycopg2
import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Engine

from ckanext.udp import compat

KINDS = ("series", "daily", "count")
AGGREGATIONS = {"mean": "avg", "max": "max", "min": "min", "sum": "sum"}
TONES = ("good", "fair", "poor")
NUMERIC_TYPES = {"numeric", "integer", "bigint", "smallint", "double precision", "real"}
TIME_TYPES = {"timestamp without time zone", "timestamp with time zone", "date"}
BERLIN = ZoneInfo("Europe/Berlin")
SERIES_HOURS = 48
COLUMNS = (
    "id",
    "position",
    "title",
    "kind",
    "package_id",
    "resource_id",
    "value_column",
    "time_column",
    "aggregation",
    "unit",
    "bands",
)


# --- the stored definitions ---------------------------------------------------------


def _row(r: Any) -> dict[str, Any]:
    tile = dict(zip(COLUMNS, r, strict=True))
    if isinstance(tile["bands"], str):
        tile["bands"] = json.loads(tile["bands"])
    return tile


def all_tiles() -> list[dict[str, Any]]:
    rows = model.Session.execute(
        sa.text(f"SELECT {', '.join(COLUMNS)} FROM udp_klima_tile ORDER BY position, id")
    ).fetchall()
    return [_row(r) for r in rows]


def get(tile_id: str) -> dict[str, Any] | None:
    r = model.Session.execute(
        sa.text(f"SELECT {', '.join(COLUMNS)} FROM udp_klima_tile WHERE id = :id"), {"id": tile_id}
    ).fetchone()
    return _row(r) if r else None


def save(tile: dict[str, Any]) -> dict[str, Any]:
    """Insert (no id) or update a tile; a new tile goes to the end."""
    values = {c: tile.get(c) for c in COLUMNS if c not in ("id", "position")}
    values["bands"] = json.dumps(values.get("bands") or [])
    values["unit"] = values.get("unit") or ""
    if tile.get("id"):
        values["id"] = tile["id"]
        sets = ", ".join(f"{c} = :{c}" for c in values if c != "id")
        model.Session.execute(
            sa.text(f"UPDATE udp_klima_tile SET {sets}, modified = now() WHERE id = :id").bindparams(
                sa.bindparam("bands", type_=sa.UnicodeText)
            ),
            values,
        )
    else:
        values["id"] = uuid.uuid4().hex[:12]
        names = list(values)
        model.Session.execute(
            sa.text(
                f"INSERT INTO udp_klima_tile ({', '.join(names)}, position) VALUES "
                f"({', '.join(':' + n for n in names)}, "
                "(SELECT coalesce(max(position), 0) + 1 FROM udp_klima_tile))"
            ),
            values,
        )
    model.Session.commit()
    saved = get(str(values["id"]))
    assert saved is not None
    return saved


def delete(tile_id: str) -> bool:
    result = model.Session.execute(sa.text("DELETE FROM udp_klima_tile WHERE id = :id"), {"id": tile_id})
    model.Session.commit()
    return bool(getattr(result, "rowcount", 0))


def reorder(order: list[str]) -> None:
    """Positions 1..n in the given order; tiles not named keep their order after them."""
    known = [t["id"] for t in all_tiles()]
    ids = [i for i in order if i in known] + [i for i in known if i not in order]
    for position, tile_id in enumerate(ids, start=1):
        model.Session.execute(
            sa.text("UPDATE udp_klima_tile SET position = :p WHERE id = :id"), {"p": position, "id": tile_id}
        )
    model.Session.commit()


# --- what the public may see ----------------------------------------------------------


def public_resource(package_id: str, resource_id: str) -> tuple[model.Package, model.Resource] | None:
    """The dataset and resource of a tile if the public sees them (published and open)."""
    pkg = model.Package.get(package_id)
    if pkg is None or not compat.is_public(pkg):
        return None
    res = model.Resource.get(resource_id)
    if res is None or res.state != "active" or res.package_id != pkg.id:
        return None
    return pkg, res


def visible(tile: dict[str, Any]) -> bool:
    return public_resource(tile["package_id"], tile["resource_id"]) is not None


# --- the DataStore tables ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _engine(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5)


def read_engine() -> Engine:
    return _engine(tk.config["ckan.datastore.read_url"])


def table_columns(resource_id: str) -> dict[str, str]:
    """Column name -> PostgreSQL type of a DataStore table ({} when there is none)."""
    with read_engine().connect() as conn:
        rows = conn.execute(
            # pg_attribute, not information_schema (a view that is slow on a database of many tables)
            sa.text(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                "WHERE attrelid = to_regclass(quote_ident(:t)) AND attnum > 0 AND NOT attisdropped"
            ),
            {"t": resource_id},
        ).fetchall()
    return {r[0]: r[1] for r in rows if not r[0].startswith("_")}


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=BERLIN)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _day_expr(column: str, pg_type: str) -> sql.Composable:
    col = sql.Identifier(column)
    if pg_type == "date":
        return col
    if pg_type == "timestamp with time zone":
        return sql.SQL("({} AT TIME ZONE 'Europe/Berlin')::date").format(col)
    return sql.SQL("({} AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin')::date").format(col)


def _trend(points: list[tuple[dt.datetime, float | None]], back: dt.timedelta) -> dict[str, Any] | None:
    """The last point against the last one at least ``back`` earlier."""
    known = [(t, v) for t, v in points if v is not None]
    if len(known) < 2:
        return None
    last_t, last_v = known[-1]
    earlier = [(t, v) for t, v in known if t <= last_t - back] or known[:1]
    ref_t, ref_v = earlier[-1]
    delta = last_v - ref_v
    flat = abs(delta) <= max(abs(ref_v) * 0.01, 1e-9)
    return {"direction": "flat" if flat else ("up" if delta > 0 else "down"), "delta": delta, "since": ref_t}


def band_of(bands: list[dict[str, Any]], value: float | None) -> dict[str, Any] | None:
    if value is None or not bands:
        return None
    for band in bands:
        if band.get("upto") is None or value <= float(band["upto"]):
            return band
    return bands[-1]


class TableUnavailable(Exception):
    """The tile's DataStore table or column is gone or no longer of its type
    (deleted, reloaded as text, renamed since the tile was saved)."""


def numbers(tile: dict[str, Any], days: int = 31) -> dict[str, Any]:
    """Latest value, its time, the chart's points (oldest first) and the trend;
    TableUnavailable when the table no longer answers the tile's query."""
    try:
        return _numbers(tile, days)
    except (sa.exc.DBAPIError, psycopg2.Error) as err:
        raise TableUnavailable(str(err).splitlines()[0]) from err


def _numbers(tile: dict[str, Any], days: int) -> dict[str, Any]:
    table = sql.Identifier(tile["resource_id"])
    kind = tile["kind"]
    out: dict[str, Any] = {"value": None, "time": None, "points": [], "trend": None, "step": None}
    with read_engine().connect() as conn:
        raw: Any = conn.connection.dbapi_connection  # psycopg2 connection: composes and binds itself

        def run(query: sql.Composable, params: dict[str, Any] | None = None) -> list[Any]:
            # psycopg2 composes and binds (an identifier holding ":x" is no bind parameter here)
            with raw.cursor() as cur:
                cur.execute(query, params or {})
                return list(cur.fetchall())

        if kind == "count":
            out["value"] = float(run(sql.SQL("SELECT count(*) FROM {}").format(table))[0][0])
            res = model.Resource.get(tile["resource_id"])
            stamp = res and (res.last_modified or res.metadata_modified or res.created)
            out["time"] = _utc(stamp) if stamp else None
            return out
        value, time = sql.Identifier(tile["value_column"]), sql.Identifier(tile["time_column"])
        if kind == "series":
            last = run(
                sql.SQL(
                    "SELECT {t}, {v} FROM {tbl} WHERE {v} IS NOT NULL AND {t} IS NOT NULL ORDER BY {t} DESC LIMIT 1"
                ).format(t=time, v=value, tbl=table)
            )
            if not last:
                return out
            last_t = last[0][0]
            rows = run(
                sql.SQL(
                    "SELECT date_trunc('hour', {t}) AS h, avg({v}) FROM {tbl} "
                    "WHERE {t} > %(since)s AND {v} IS NOT NULL GROUP BY h ORDER BY h"
                ).format(t=time, v=value, tbl=table),
                {"since": last_t - dt.timedelta(hours=SERIES_HOURS)},
            )
            out.update(value=_number(last[0][1]), time=_utc(last_t), step="hour")
            out["points"] = [(_utc(r[0]), _number(r[1])) for r in rows]
            out["trend"] = _trend(out["points"], dt.timedelta(hours=24))
            return out
        types = table_columns(tile["resource_id"])
        day = _day_expr(tile["time_column"], types.get(tile["time_column"], "date"))
        agg = sql.SQL(AGGREGATIONS.get(tile.get("aggregation") or "mean", "avg"))
        rows = run(
            sql.SQL(
                "SELECT {d} AS d, {agg}({v}) FROM {tbl} WHERE {v} IS NOT NULL AND {t} IS NOT NULL "
                "GROUP BY d ORDER BY d DESC LIMIT %(n)s"
            ).format(d=day, agg=agg, v=value, t=time, tbl=table),
            {"n": days},
        )
        points = [(_utc(r[0]), _number(r[1])) for r in reversed(rows)]
        if points:
            out.update(value=points[-1][1], time=points[-1][0], points=points, step="day")
            out["trend"] = _trend(points, dt.timedelta(days=1))
        return out
