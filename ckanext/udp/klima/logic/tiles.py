"""The tiles: stored in ``udp_klima_tile`` (migration ``udp_klima``), their
visibility (the dataset published and open, by CKAN's own rule through
``compat.is_public``) and their numbers, read from the DataStore tables with
one or two SQL statements per tile on ``ckan.datastore.read_url`` (identifiers
quoted by psycopg2.sql). When the read server cannot answer (a replica down and no
fallback host in the read URL), the tiles answer the German 503 of
``ckanext.udp.unavailable``, not a 500 and not "table gone"."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
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
from ckanext.udp import unavailable as read_server

log = logging.getLogger(__name__)

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
    """Insert (no id) or update a tile; a new tile goes to the end; its time column indexed."""
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
    if values.get("time_column"):
        index_time_column(str(values["resource_id"]), str(values["time_column"]))
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


def packages_of(tile_list: list[dict[str, Any]]) -> dict[str, model.Package]:
    """The tiles' datasets by id, in one query."""
    ids = {t["package_id"] for t in tile_list}
    if not ids:
        return {}
    return {p.id: p for p in model.Session.query(model.Package).filter(model.Package.id.in_(ids)).all()}


def resources_of(tile_list: list[dict[str, Any]]) -> dict[str, model.Resource]:
    """The tiles' resources by id, in one query."""
    ids = {t["resource_id"] for t in tile_list}
    if not ids:
        return {}
    return {r.id: r for r in model.Session.query(model.Resource).filter(model.Resource.id.in_(ids)).all()}


def visible_tiles(tile_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tiles whose dataset the public sees (published and open) and whose resource
    is an active resource of it, in their order: one query for the datasets, one for
    the resources and one visibility check per dataset, however many tiles there are."""
    if not tile_list:
        return []
    public = {p.id for p in packages_of(tile_list).values() if compat.is_public(p)}
    resources = resources_of(tile_list)
    out = []
    for tile in tile_list:
        res = resources.get(tile["resource_id"])
        if (
            tile["package_id"] in public
            and res is not None
            and res.state == "active"
            and res.package_id == tile["package_id"]
        ):
            out.append(tile)
    return out


def visible(tile: dict[str, Any]) -> bool:
    return bool(visible_tiles([tile]))


# --- the DataStore tables ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _engine(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5)


def read_engine() -> Engine:
    return _engine(tk.config["ckan.datastore.read_url"])


def write_engine() -> Engine:
    return _engine(tk.config["ckan.datastore.write_url"])


_COLUMN_TYPES = (
    # pg_attribute, not information_schema (a view that is slow on a database of many tables)
    "SELECT c.relname, a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid "
    "WHERE a.attrelid = ANY(ARRAY(SELECT to_regclass(quote_ident(t)) FROM unnest(%(tables)s) AS t)) "
    "AND a.attnum > 0 AND NOT a.attisdropped"
)


def _columns_of(cur: Any, resource_ids: list[str]) -> dict[str, dict[str, str]]:
    cur.execute(_COLUMN_TYPES, {"tables": list(resource_ids)})
    out: dict[str, dict[str, str]] = {}
    for table, column, pg_type in cur.fetchall():
        if not column.startswith("_"):
            out.setdefault(table, {})[column] = pg_type
    return out


def _raise_if_down(err: Exception) -> None:
    """The read server cannot answer now: the 503 (``ckanext.udp.unavailable``), not a
    500 and not a tile whose table is gone."""
    if read_server.unavailable(err):
        log.warning("Klimadashboard: the DataStore's read server does not answer: %s", str(err).splitlines()[0])
        raise read_server.service_unavailable() from err


def table_columns(resource_id: str) -> dict[str, str]:
    """Column name -> PostgreSQL type of a DataStore table ({} when there is none)."""
    try:
        with read_engine().connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                return _columns_of(cur, [resource_id]).get(resource_id, {})
    except (sa.exc.DBAPIError, psycopg2.Error) as err:
        _raise_if_down(err)
        raise


def index_name(resource_id: str, column: str) -> str:
    return "udp_klima_" + hashlib.sha1(f"{resource_id}/{column}".encode()).hexdigest()[:20]


def index_time_column(resource_id: str, column: str) -> None:
    """An index on the time column a tile reads (its latest value, its last hours or days),
    created once by the DataStore's writing role; a table reloaded later loses it and the
    tile is slower, never wrong. Failing to create it is logged, not raised. Built
    CONCURRENTLY (outside a transaction): a big live table (sensor ingest) keeps taking
    writes while it is built."""
    name = index_name(resource_id, column)
    try:
        with write_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            raw: Any = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute(
                    sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})").format(
                        sql.Identifier(name), sql.Identifier(resource_id), sql.Identifier(column)
                    )
                )
    except (sa.exc.DBAPIError, psycopg2.Error) as err:
        log.warning("Klimadashboard: no index on %s.%s: %s", resource_id, column, str(err).splitlines()[0])


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=BERLIN)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _day_expr(col: sql.Composable, pg_type: str) -> sql.Composable:
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
    found = numbers_of([tile], days)[tile["id"]]
    if isinstance(found, TableUnavailable):
        raise found
    return found


def numbers_of(tile_list: list[dict[str, Any]], days: int = 31) -> dict[str, dict[str, Any] | TableUnavailable]:
    """The numbers of many tiles on one connection: the column types of all their tables in
    one query, then one statement per kind for all tiles of that kind (latest value and
    chart points together); a tile whose table or column is gone gets its TableUnavailable.
    When a kind's statement fails (a table changed between the two statements), its tiles
    are read one by one, so only the tile whose table does not answer is left out."""
    if not tile_list:
        return {}
    try:
        return _numbers_of(tile_list, days)
    except (sa.exc.DBAPIError, psycopg2.Error) as err:
        _raise_if_down(err)
        raise


def _numbers_of(tile_list: list[dict[str, Any]], days: int) -> dict[str, dict[str, Any] | TableUnavailable]:
    out: dict[str, dict[str, Any] | TableUnavailable] = {}
    with read_engine().connect() as conn:
        raw: Any = conn.connection.dbapi_connection  # psycopg2 connection: composes and binds itself

        def run(query: sql.Composable, params: dict[str, Any] | None = None) -> list[Any]:
            # psycopg2 composes and binds (an identifier holding ":x" is no bind parameter here)
            with raw.cursor() as cur:
                cur.execute(query, params or {})
                return list(cur.fetchall())

        counted = resources_of([t for t in tile_list if t["kind"] == "count"])
        try:
            with raw.cursor() as cur:
                types = _columns_of(cur, sorted({t["resource_id"] for t in tile_list}))
        except psycopg2.Error as err:
            _raise_if_down(err)
            raw.rollback()
            types = {}
        ready: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        for tile in tile_list:
            problem = _unavailable(tile, types.get(tile["resource_id"]))
            if problem:
                out[tile["id"]] = problem
            else:
                ready[tile["kind"]].append(tile)
        for kind, group in ready.items():
            if not group:
                continue
            try:
                out.update(_BATCHED[kind](group, days, run, types, counted))
            except (sa.exc.DBAPIError, psycopg2.Error) as err:
                _raise_if_down(err)
                raw.rollback()
                for tile in group:
                    try:
                        out[tile["id"]] = _numbers(tile, days, run, types.get(tile["resource_id"], {}), counted)
                    except TableUnavailable as err:
                        out[tile["id"]] = err
                    except (sa.exc.DBAPIError, psycopg2.Error) as err:
                        _raise_if_down(err)
                        raw.rollback()  # the next tile's statements run on a clean transaction
                        out[tile["id"]] = TableUnavailable(str(err).splitlines()[0])
        raw.rollback()
    return out


def _unavailable(tile: dict[str, Any], columns: dict[str, str] | None) -> TableUnavailable | None:
    """Why the tile's table cannot answer its query (gone, a column gone or of another type), or None."""
    if columns is None:
        return TableUnavailable(f"no table {tile['resource_id']}")
    if tile["kind"] == "count":
        return None
    if columns.get(tile["value_column"]) not in NUMERIC_TYPES:
        return TableUnavailable(f"no numeric column {tile['value_column']}")
    allowed = TIME_TYPES - ({"date"} if tile["kind"] == "series" else set())
    if columns.get(tile["time_column"]) not in allowed:
        return TableUnavailable(f"no time column {tile['time_column']}")
    return None


def _utc_expr(column: sql.Composable, pg_type: str) -> sql.Composable:
    """A time column as a timestamp in UTC without time zone (one type for every table of a statement)."""
    if pg_type == "timestamp with time zone":
        return sql.SQL("({} AT TIME ZONE 'UTC')").format(column)
    return column


def _latest(n: int, tile: dict[str, Any]) -> sql.Composable:
    """``last_<n>``: the tile's latest time with a value and that value, backwards along the
    time column's index (a CTE of the kind's statement)."""
    return sql.SQL(
        "{name} AS (SELECT s.{t} AS udp_t, s.{v} AS udp_v FROM {tbl} AS s "
        "WHERE s.{v} IS NOT NULL AND s.{t} IS NOT NULL ORDER BY s.{t} DESC LIMIT 1)"
    ).format(
        name=sql.Identifier(f"last_{n}"),
        t=sql.Identifier(tile["time_column"]),
        v=sql.Identifier(tile["value_column"]),
        tbl=sql.Identifier(tile["resource_id"]),
    )


def _empty() -> dict[str, Any]:
    return {"value": None, "time": None, "points": [], "trend": None, "step": None}


def _series_batch(
    group: list[dict[str, Any]], days: int, run: Any, types: dict[str, dict[str, str]], _res: Any
) -> dict[str, dict[str, Any]]:
    """Latest value and hourly means of the last SERIES_HOURS hours of every series tile, in one statement."""
    ctes, parts = [], []
    for n, tile in enumerate(group):
        pg_type = types[tile["resource_id"]][tile["time_column"]]
        t, v = sql.Identifier("s", tile["time_column"]), sql.Identifier("s", tile["value_column"])
        last = sql.Identifier(f"last_{n}")
        ctes.append(_latest(n, tile))
        parts.append(
            sql.SQL("SELECT {n}, 0, {lt}, {last}.udp_v FROM {last}").format(
                n=sql.Literal(n), lt=_utc_expr(sql.Identifier(f"last_{n}", "udp_t"), pg_type), last=last
            )
        )
        parts.append(
            sql.SQL(
                "SELECT {n}, 1, date_trunc('hour', {te}) AS h, avg({v}) FROM {tbl} AS s, {last} "
                "WHERE {t} > {last}.udp_t - %(hours)s AND {v} IS NOT NULL GROUP BY h"
            ).format(
                n=sql.Literal(n), te=_utc_expr(t, pg_type), v=v, t=t, tbl=sql.Identifier(tile["resource_id"]), last=last
            )
        )
    rows = run(
        sql.SQL("WITH {} {}").format(sql.SQL(", ").join(ctes), sql.SQL(" UNION ALL ").join(parts)),
        {"hours": dt.timedelta(hours=SERIES_HOURS)},
    )
    latest: dict[int, tuple[Any, Any]] = {}
    hourly: dict[int, list[tuple[dt.datetime, float | None]]] = {}
    for n, part, t_value, v_value in rows:
        if part == 0:
            latest[n] = (t_value, v_value)
        else:
            hourly.setdefault(n, []).append((_utc(t_value), _number(v_value)))
    out = {}
    for n, tile in enumerate(group):
        found = _empty()
        if n in latest:
            points = sorted(hourly.get(n, []), key=lambda p: p[0])
            found.update(
                value=_number(latest[n][1]),
                time=_utc(latest[n][0]),
                step="hour",
                points=points,
                trend=_trend(points, dt.timedelta(hours=24)),
            )
        out[tile["id"]] = found
    return out


def _daily_batch(
    group: list[dict[str, Any]], days: int, run: Any, types: dict[str, dict[str, str]], _res: Any
) -> dict[str, dict[str, Any]]:
    """The last ``days`` daily values (a day longer back: the time zone) up to the latest of
    every daily tile, in one statement."""
    ctes, parts = [], []
    for n, tile in enumerate(group):
        pg_type = types[tile["resource_id"]][tile["time_column"]]
        t, v = sql.Identifier("s", tile["time_column"]), sql.Identifier("s", tile["value_column"])
        last = sql.Identifier(f"last_{n}")
        agg = sql.SQL(AGGREGATIONS.get(tile.get("aggregation") or "mean", "avg"))
        ctes.append(_latest(n, tile))
        parts.append(
            sql.SQL(
                "(SELECT {n}, {d} AS d, {agg}({v}) FROM {tbl} AS s, {last} "
                "WHERE {v} IS NOT NULL AND {t} >= {last}.udp_t - %(span)s GROUP BY d ORDER BY d DESC LIMIT %(days)s)"
            ).format(
                n=sql.Literal(n),
                d=_day_expr(t, pg_type),
                agg=agg,
                v=v,
                t=t,
                tbl=sql.Identifier(tile["resource_id"]),
                last=last,
            )
        )
    rows = run(
        sql.SQL("WITH {} {}").format(sql.SQL(", ").join(ctes), sql.SQL(" UNION ALL ").join(parts)),
        {"days": days, "span": dt.timedelta(days=days + 1)},
    )
    daily: dict[int, list[tuple[dt.datetime, float | None]]] = {}
    for n, day, value in rows:
        daily.setdefault(n, []).append((_utc(day), _number(value)))
    out = {}
    for n, tile in enumerate(group):
        found = _empty()
        points = sorted(daily.get(n, []), key=lambda p: p[0])
        if points:
            found.update(value=points[-1][1], time=points[-1][0], points=points, step="day")
            found["trend"] = _trend(points, dt.timedelta(days=1))
        out[tile["id"]] = found
    return out


def _count_batch(
    group: list[dict[str, Any]], days: int, run: Any, types: Any, resources: dict[str, model.Resource]
) -> dict[str, dict[str, Any]]:
    """The number of rows of every counted table: one statement, each table counted once."""
    tables = sorted({t["resource_id"] for t in group})
    rows = run(
        sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(n), sql.Identifier(table))
            for n, table in enumerate(tables)
        )
    )
    counts = {tables[n]: float(c) for n, c in rows}
    out = {}
    for tile in group:
        res = resources.get(tile["resource_id"])
        stamp = res and (res.last_modified or res.metadata_modified or res.created)
        out[tile["id"]] = dict(_empty(), value=counts[tile["resource_id"]], time=_utc(stamp) if stamp else None)
    return out


def _numbers(
    tile: dict[str, Any], days: int, run: Any, types: dict[str, str], resources: dict[str, model.Resource]
) -> dict[str, Any]:
    table = sql.Identifier(tile["resource_id"])
    kind = tile["kind"]
    out = _empty()
    if kind == "count":
        out["value"] = float(run(sql.SQL("SELECT count(*) FROM {}").format(table))[0][0])
        res = resources.get(tile["resource_id"])
        stamp = res and (res.last_modified or res.metadata_modified or res.created)
        out["time"] = _utc(stamp) if stamp else None
        return out
    value, time = sql.Identifier(tile["value_column"]), sql.Identifier(tile["time_column"])
    # the latest time with a value: backwards along the time column's index
    last = run(
        sql.SQL(
            "SELECT {t}, {v} FROM {tbl} WHERE {v} IS NOT NULL AND {t} IS NOT NULL ORDER BY {t} DESC LIMIT 1"
        ).format(t=time, v=value, tbl=table)
    )
    if not last:
        return out
    last_t = last[0][0]
    if kind == "series":
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
    if tile["time_column"] not in types:
        raise TableUnavailable(f"no column {tile['time_column']}")
    day = _day_expr(sql.Identifier(tile["time_column"]), types[tile["time_column"]])
    agg = sql.SQL(AGGREGATIONS.get(tile.get("aggregation") or "mean", "avg"))
    # the last ``days`` days up to the latest (a day longer: the time zone), along the index
    rows = run(
        sql.SQL(
            "SELECT {d} AS d, {agg}({v}) FROM {tbl} WHERE {v} IS NOT NULL AND {t} >= %(since)s "
            "GROUP BY d ORDER BY d DESC LIMIT %(n)s"
        ).format(d=day, agg=agg, v=value, t=time, tbl=table),
        {"n": days, "since": last_t - dt.timedelta(days=days + 1)},
    )
    points = [(_utc(r[0]), _number(r[1])) for r in reversed(rows)]
    if points:
        out.update(value=points[-1][1], time=points[-1][0], points=points, step="day")
        out["trend"] = _trend(points, dt.timedelta(days=1))
    return out


_BATCHED = {"series": _series_batch, "daily": _daily_batch, "count": _count_batch}
