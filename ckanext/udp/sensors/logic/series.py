"""The three DataStore resources of a sensor dataset and their tables.

``ensure_series`` runs once per dataset when the consumer (or ``ckan udp
sensors setup``) starts: it creates, through the ordinary actions, the
resources "observations", "latest" and "hourly" and their DataStore tables
(``datastore_create``; it also adds columns newly configured). Which resource
is which is kept in the plugin's table ``udp_sensor_series``. Ingestion itself
never calls an action (see ``ingest``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan.types import Context
from psycopg2 import sql

from ckanext.udp import compat
from ckanext.udp.datastore_sql import render, text, write_engine
from ckanext.udp.sensors.logic.sources import Column, SourceSet

log = logging.getLogger(__name__)

KINDS = ("observations", "latest", "hourly")
# Resource names are data (German portal), not UI strings
RESOURCE_NAMES = {
    "observations": "Messwerte (Zeitreihe, live)",
    "latest": "Aktuelle Werte je Sensor",
    "hourly": "Stundenwerte (Minimum, Mittel, Maximum)",
}
RESOURCE_DESCRIPTIONS = {
    "observations": "Alle Messwerte der Sensoren, laufend aus dem LoRaWAN-Netz übernommen. "
    "Download als CSV oder JSON mit Zeitfilter (?from=...&to=..., ISO 8601).",
    "latest": "Der jeweils letzte Messwert je Sensor.",
    "hourly": "Stündliche Kennwerte (Anzahl, Minimum, Mittelwert, Maximum) je Sensor.",
}


@dataclasses.dataclass(frozen=True)
class Series:
    """The tables of one dataset as the ingester writes them."""

    dataset: str  # name as configured
    package_id: str
    observations: str  # resource ids = DataStore table names
    latest: str
    hourly: str
    columns: tuple[Column, ...]
    radio: bool
    eui: bool

    @property
    def numeric_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.numeric)


def _info(label: str | None, unit: str | None) -> dict[str, str]:
    info = {}
    if label:
        info["label"] = label
    if unit:
        info["notes"] = f"Einheit: {unit}"
    return info


def observation_fields(columns: tuple[Column, ...], radio: bool, eui: bool) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = [
        {"id": "time", "type": "timestamp", "info": {"label": "Zeitpunkt (UTC)"}},
        {"id": "device", "type": "text", "info": {"label": "Sensor"}},
        {"id": "f_cnt", "type": "int8", "info": {"label": "Frame-Zähler"}},
        {"id": "uplink_id", "type": "text"},
    ]
    if eui:
        fields.append({"id": "dev_eui", "type": "text"})
    fields += [{"id": c.name, "type": c.type, "info": _info(c.label, c.unit)} for c in columns]
    fields.append({"id": "extra", "type": "json", "info": {"notes": "Weitere Felder der Nutzlast"}})
    if radio:
        fields += [
            {"id": "rssi", "type": "numeric"},
            {"id": "snr", "type": "numeric"},
            {"id": "gateways", "type": "json"},
        ]
    return fields


def latest_fields(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    return [
        {"id": "device", "type": "text"},
        {"id": "time", "type": "timestamp"},
        {"id": "f_cnt", "type": "int8"},
        *({"id": c.name, "type": c.type, "info": _info(c.label, c.unit)} for c in columns),
        {"id": "extra", "type": "json"},
    ]


def hourly_fields(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = [
        {"id": "device", "type": "text"},
        {"id": "hour", "type": "timestamp", "info": {"label": "Stunde (Beginn, UTC)"}},
        {"id": "n", "type": "int", "info": {"label": "Anzahl Messwerte"}},
    ]
    for c in columns:
        if c.numeric:
            for agg in ("min", "mean", "max"):
                fields.append({"id": f"{c.name}_{agg}", "type": "numeric", "info": _info(c.label, c.unit)})
    return fields


def _stored(package_id: str) -> dict[str, str]:
    rows = model.Session.execute(
        sa.text("SELECT kind, resource_id FROM udp_sensor_series WHERE package_id = :p"), {"p": package_id}
    ).fetchall()
    return {r[0]: r[1] for r in rows}


# resource field that declares a DataStore table live (docs/publishing.md)
RESOURCE_LIVE_KEY = "udp_live_table"


def ensure_series(sources: SourceSet, dataset: str, site_user: str | None = None) -> Series:
    """Create what is missing for one dataset and return its tables (idempotent)."""
    user = site_user or tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    context: Context = {"user": user, "ignore_auth": True}
    pkg = tk.get_action("package_show")(context.copy(), {"id": dataset})
    columns = sources.columns_for(dataset)
    radio, eui = sources.radio_for(dataset), sources.eui_for(dataset)
    stored = _stored(pkg["id"])
    live = {r["id"] for r in pkg.get("resources", [])}
    site = tk.config.get("ckan.site_url", "").rstrip("/")
    specs = {
        "observations": (observation_fields(columns, radio, eui), ["device", "time", "f_cnt"], ["time"]),
        "latest": (latest_fields(columns), ["device"], []),
        "hourly": (hourly_fields(columns), ["device", "hour"], ["hour"]),
    }
    ids: dict[str, str] = {}
    for kind in KINDS:
        rid = stored.get(kind)
        if rid is None or rid not in live:
            res = tk.get_action("resource_create")(
                context.copy(),
                {
                    "package_id": pkg["id"],
                    "name": RESOURCE_NAMES[kind],
                    "description": RESOURCE_DESCRIPTIONS[kind],
                    "format": "CSV",
                    "url": f"{site}/dataset/{pkg['name']}/sensors/{kind}.csv",
                    # the series is written while the dataset is published (udp_governance's
                    # rule for DataStore writes to published tables)
                    RESOURCE_LIVE_KEY: True,
                },
            )
            rid = res["id"]
            model.Session.execute(
                sa.text(
                    "INSERT INTO udp_sensor_series (package_id, kind, resource_id) VALUES (:p, :k, :r) "
                    "ON CONFLICT (package_id, kind) DO UPDATE SET resource_id = EXCLUDED.resource_id"
                ),
                {"p": pkg["id"], "k": kind, "r": rid},
            )
            model.Session.commit()
        fields, pk, indexes = specs[kind]
        tk.get_action("datastore_create")(
            context.copy(),
            {
                "resource_id": rid,
                "force": True,
                "fields": fields,
                "primary_key": pk,
                "indexes": indexes,
                "records": [],
            },
        )
        ids[kind] = rid
    _fulltext(ids["observations"], tk.config.get("ckanext.udp.sensors.observations_fulltext"))
    for change in upgrade_tables(ids):
        log.info("sensor series of %s: %s", dataset, change)
    return Series(dataset, pkg["id"], ids["observations"], ids["latest"], ids["hourly"], columns, radio, eui)


def _fulltext(table: str, enabled: bool) -> None:
    """Switch the DataStore's full-text trigger of a table on or off."""
    engine = write_engine()
    try:
        with engine.begin() as conn:
            compat.datastore_set_fulltext(conn, table, enabled)
    finally:
        engine.dispose()


# A leading underscore: ``ckan datastore set-permissions`` puts its full-text
# trigger on every other table of the DataStore's public schema, and that trigger
# fails on a table without ``_full_text`` (every series write would fail with it).
VERSION_TABLE = "_udp_sensor_table_version"
_OLD_VERSION_TABLE = "udp_sensor_table_version"  # name up to 2026-11

_VERSION_SETUP = f"""
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    table_name text PRIMARY KEY,
    version bigint NOT NULL,
    modified timestamptz NOT NULL
);
CREATE OR REPLACE FUNCTION udp_sensor_bump_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO {VERSION_TABLE} AS v (table_name, version, modified)
    VALUES (TG_TABLE_NAME, 1, clock_timestamp())
    ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1, modified = clock_timestamp();
    RETURN NULL;
END
$fn$;
"""


def upgrade_tables(ids: dict[str, str]) -> list[str]:
    """Bring the tables of one dataset up to date (idempotent; runs with every
    ``ensure_series``); returns what it changed.

    * ``f_cnt`` bigint (a 32-bit LoRaWAN counter does not fit int4; tables of
      earlier versions have int4), and the observations' ``_id`` bigint (it is
      the arrival cursor of the downloads). One ALTER, so one table rewrite.
    * A statement trigger on each table that counts its writes in
      ``_udp_sensor_table_version`` (version, time): ETag and Last-Modified of
      the downloads, whoever writes (ingester, DataStore API, a migration).
    """
    done: list[str] = []
    engine = write_engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('udp_sensors:upgrade'))"))
            version = sql.Identifier(VERSION_TABLE)
            exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": render(conn, version)}).scalar()
            if exists is None and conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": _OLD_VERSION_TABLE}).scalar():
                conn.execute(
                    text(
                        conn, sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(_OLD_VERSION_TABLE), version)
                    )
                )
                done.append(f"version table renamed to {VERSION_TABLE}")
            elif exists is None:
                done.append("version table")
            conn.exec_driver_sql(_VERSION_SETUP)  # idempotent; the function names the table
            if compat.datastore_drop_fulltext(conn, VERSION_TABLE):
                done.append("version table: full-text trigger dropped")
            for kind, table in ids.items():
                name = render(conn, sql.Identifier(table))
                types: dict[str, str] = {
                    r[0]: r[1]
                    for r in conn.execute(
                        sa.text(
                            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                            "WHERE a.attrelid = CAST(:t AS regclass) AND a.attname IN ('_id', 'f_cnt') "
                            "AND NOT a.attisdropped"
                        ),
                        {"t": name},
                    )
                }
                alter = []
                if types.get("f_cnt") == "int4":
                    alter.append("ALTER COLUMN f_cnt TYPE bigint")
                if kind == "observations" and types.get("_id") == "int4":
                    alter.append('ALTER COLUMN "_id" TYPE bigint')
                if alter:
                    conn.execute(
                        text(
                            conn, sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(table), sql.SQL(", ".join(alter)))
                        )
                    )
                    done.append(f"{kind}: {', '.join(alter)}")
                    if 'ALTER COLUMN "_id" TYPE bigint' in alter:
                        seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, '_id')"), {"t": name}).scalar()
                        if seq:  # already quoted by PostgreSQL
                            conn.execute(sa.text(f"ALTER SEQUENCE {seq} AS bigint"))
                if not conn.execute(
                    sa.text(
                        "SELECT 1 FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                        "AND tgname = 'udp_sensor_version'"
                    ),
                    {"t": name},
                ).scalar():
                    conn.execute(
                        text(
                            conn,
                            sql.SQL(
                                "CREATE TRIGGER udp_sensor_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                                "ON {} FOR EACH STATEMENT EXECUTE FUNCTION udp_sensor_bump_version()"
                            ).format(sql.Identifier(table)),
                        )
                    )
                    done.append(f"{kind}: version trigger")
    finally:
        engine.dispose()
    return done


def ensure_all(sources: SourceSet) -> dict[str, Series]:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    return {ds: ensure_series(sources, ds, user) for ds in sources.datasets}


def series_for_package(package_id: str) -> dict[str, str]:
    """kind -> resource id of a dataset (empty if it has no sensor series)."""
    return _stored(package_id)
