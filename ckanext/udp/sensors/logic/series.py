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
from typing import Any

import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk

from ckanext.udp.sensors.logic.sources import Column, SourceSet

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

    dataset: str                       # name as configured
    package_id: str
    observations: str                  # resource ids = DataStore table names
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
        {"id": "f_cnt", "type": "int", "info": {"label": "Frame-Zähler"}},
        {"id": "uplink_id", "type": "text"},
    ]
    if eui:
        fields.append({"id": "dev_eui", "type": "text"})
    fields += [{"id": c.name, "type": c.type, "info": _info(c.label, c.unit)} for c in columns]
    fields.append({"id": "extra", "type": "json", "info": {"notes": "Weitere Felder der Nutzlast"}})
    if radio:
        fields += [{"id": "rssi", "type": "numeric"}, {"id": "snr", "type": "numeric"},
                   {"id": "gateways", "type": "json"}]
    return fields


def latest_fields(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    return [
        {"id": "device", "type": "text"},
        {"id": "time", "type": "timestamp"},
        {"id": "f_cnt", "type": "int"},
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
    context = {"user": user, "ignore_auth": True}
    pkg = tk.get_action("package_show")(dict(context), {"id": dataset})
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
        if rid not in live:
            res = tk.get_action("resource_create")(dict(context), {
                "package_id": pkg["id"],
                "name": RESOURCE_NAMES[kind],
                "description": RESOURCE_DESCRIPTIONS[kind],
                "format": "CSV",
                "url": f"{site}/dataset/{pkg['name']}/sensors/{kind}.csv",
                # the series is written while the dataset is published (udp_governance's
                # rule for DataStore writes to published tables)
                RESOURCE_LIVE_KEY: True,
            })
            rid = res["id"]
            model.Session.execute(sa.text(
                "INSERT INTO udp_sensor_series (package_id, kind, resource_id) VALUES (:p, :k, :r) "
                "ON CONFLICT (package_id, kind) DO UPDATE SET resource_id = EXCLUDED.resource_id"
            ), {"p": pkg["id"], "k": kind, "r": rid})
            model.Session.commit()
        fields, pk, indexes = specs[kind]
        tk.get_action("datastore_create")(dict(context), {
            "resource_id": rid, "force": True, "fields": fields, "primary_key": pk,
            "indexes": indexes, "records": [],
        })
        ids[kind] = rid
    _fulltext(ids["observations"], tk.config.get("ckanext.udp.sensors.observations_fulltext"))
    return Series(dataset, pkg["id"], ids["observations"], ids["latest"], ids["hourly"], columns, radio, eui)


def _fulltext(table: str, enabled: bool) -> None:
    """Switch the DataStore's full-text trigger ("zfulltext") of a table on or off."""
    from ckanext.udp.sensors.logic.ingest import write_engine

    engine = write_engine()
    try:
        with engine.begin() as conn:
            state = conn.execute(sa.text(
                "SELECT tgenabled FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND tgname = 'zfulltext'"
            ), {"t": '"' + table + '"'}).scalar()
            if state is not None and (state != "D") != enabled:
                conn.execute(sa.text(f'ALTER TABLE "{table}" {"ENABLE" if enabled else "DISABLE"} TRIGGER zfulltext'))
    finally:
        engine.dispose()


def ensure_all(sources: SourceSet) -> dict[str, Series]:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    return {ds: ensure_series(sources, ds, user) for ds in sources.datasets}


def series_for_package(package_id: str) -> dict[str, str]:
    """kind -> resource id of a dataset (empty if it has no sensor series)."""
    return _stored(package_id)
