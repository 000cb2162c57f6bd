"""Renaming pseudonymised devices in stored series.

A source with ``drop_device_ids`` stores a device without a label under a
pseudonym (``sources.pseudonym``). Earlier versions used an unkeyed SHA-256;
a change of ``ckanext.udp.sensors.pseudonym_secret`` also changes every
pseudonym. ``rename`` moves the stored rows from the old names to the current
ones: observations renamed (a row that already exists under the new name
wins), latest and hourly values recomputed from them, one transaction per
dataset under the dataset's write lock.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection

from ckanext.udp import compat
from ckanext.udp.datastore_sql import excluded, ident, text, write_engine
from ckanext.udp.sensors.logic.ingest import hourly_sql, write_lock
from ckanext.udp.sensors.logic.series import Series, latest_fields
from ckanext.udp.sensors.logic.sources import SourceSet, pseudonym


def renames(sources: SourceSet, old: Callable[[str, str], str]) -> dict[str, list[tuple[str, str]]]:
    """dataset -> [(old name, new name)] of every pseudonymised device."""
    out: dict[str, list[tuple[str, str]]] = {}
    for src in sources.sources:
        for dev in src.pseudonymised():
            before, after = old(src.name, dev.key), pseudonym(src.name, dev.key, src.pseudonym_secret or "")
            if before != after:
                out.setdefault(dev.dataset, []).append((before, after))
    return out


def rename(sources: SourceSet, series: dict[str, Series], old: Callable[[str, str], str]) -> dict[str, int]:
    """Rename the devices of every dataset; returns dataset -> devices that had rows."""
    done: dict[str, int] = {}
    engine = write_engine()
    try:
        for dataset, pairs in renames(sources, old).items():
            ser = series[dataset]
            lat = [f["id"] for f in latest_fields(ser.columns)]
            ids = {
                "obs": sql.Identifier(ser.observations),
                "latest": sql.Identifier(ser.latest),
                "hourly": sql.Identifier(ser.hourly),
                "cols": ident(*lat),
                "sets": excluded(c for c in lat if c != "device"),
            }
            n = 0
            with engine.begin() as conn:
                q = functools.partial(_statement, conn, ids)

                write_lock(conn, ser)
                hourly = text(conn, hourly_sql(ser))
                for before, after in pairs:
                    p = {"old": before, "new": after}
                    conn.execute(
                        q(
                            "DELETE FROM {obs} o WHERE o.device = :old AND EXISTS (SELECT 1 FROM {obs} n "
                            "WHERE n.device = :new AND n.time = o.time AND n.f_cnt = o.f_cnt)"
                        ),
                        p,
                    )
                    moved = conn.execute(q("UPDATE {obs} SET device = :new WHERE device = :old"), p).rowcount
                    if not moved:
                        continue
                    n += 1
                    conn.execute(q("DELETE FROM {latest} WHERE device IN (:old, :new)"), p)
                    conn.execute(
                        q(
                            "INSERT INTO {latest} ({cols}) SELECT {cols} FROM {obs} WHERE device = :new "
                            "ORDER BY time DESC, f_cnt DESC LIMIT 1 ON CONFLICT (device) DO UPDATE SET {sets}"
                        ),
                        p,
                    )
                    conn.execute(q("DELETE FROM {hourly} WHERE device IN (:old, :new)"), p)
                    hours = conn.execute(
                        q("SELECT DISTINCT date_trunc('hour', time) FROM {obs} WHERE device = :new"), p
                    ).fetchall()
                    keys = json.dumps([{"device": after, "hour": h[0].isoformat()} for h in hours])
                    conn.execute(hourly, {"keys": keys})
                compat.datastore_forget_row_counts(conn, [ser.observations, ser.latest, ser.hourly])
            done[dataset] = n
    finally:
        engine.dispose()
    return done


def _statement(conn: Connection, names: dict[str, sql.Composable], template: str) -> sa.TextClause:
    """``template`` with the dataset's quoted table and column names filled in."""
    return text(conn, sql.SQL(template).format(**names))
