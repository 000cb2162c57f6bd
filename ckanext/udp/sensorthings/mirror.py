"""Observations of a Datastream into a DataStore table of its own (source
configuration ``"mirror_observations": true``).

Each mirrored Datastream gets a resource "Beobachtungen: <name>" whose DataStore
table holds its Observations (primary key = Observation id); which resource
mirrors which Datastream is kept in the plugin's table ``udp_sta_mirror``
(migration ``udp_sensorthings``). Every harvest adds what is new since the
newest stored ``phenomenonTime``, one INSERT per page of Observations.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan.types import Context
from psycopg2 import sql

from ckanext.udp import timestamps
from ckanext.udp.datastore_sql import insert_rows, text, transaction, write_engine
from ckanext.udp.sensorthings.client import StaError, fetch_json

TABLE = "udp_sta_mirror"

MIRROR_FIELDS: list[dict[str, Any]] = [
    {"id": "observation_id", "type": "text"},
    {"id": "phenomenon_time", "type": "timestamp", "info": {"label": "Zeitpunkt der Beobachtung (UTC)"}},
    {"id": "result_time", "type": "timestamp"},
    {"id": "result", "type": "numeric", "info": {"label": "Messwert"}},
    {"id": "result_json", "type": "json", "info": {"notes": "Nicht-numerische Ergebnisse"}},
]


def _utc(value: Any) -> str | None:
    """An ISO 8601 instant (or the start of an interval ``a/b``) as naive UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return timestamps.parse_utc(value.split("/")[0]).replace(tzinfo=None).isoformat()
    except ValueError:
        return None


def observation_rows(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for obs in page:
        when = _utc(obs.get("phenomenonTime"))
        if when is None or "@iot.id" not in obs:
            continue
        result = obs.get("result")
        numeric = isinstance(result, (int, float)) and not isinstance(result, bool)
        rows.append(
            {
                "observation_id": str(obs["@iot.id"]),
                "phenomenon_time": when,
                "result_time": _utc(obs.get("resultTime")),
                "result": result if numeric else None,
                "result_json": None if numeric or result is None else result,
            }
        )
    return rows


def mirrors(package_id: str) -> dict[str, str]:
    """Datastream id -> resource id of a dataset's mirrors."""
    rows = model.Session.execute(
        sa.text(f"SELECT datastream, resource_id FROM {TABLE} WHERE package_id = :p"), {"p": package_id}
    )
    return {r[0]: r[1] for r in rows}


def mirror_datastream(package_id: str, datastream: dict[str, Any], base: str, max_pages: int, context: Context) -> int:
    """Create/extend the DataStore table of one Datastream's Observations; returns new rows."""
    stream = str(datastream["@iot.id"])
    pkg = tk.get_action("package_show")(context.copy(), {"id": package_id})
    rid = mirrors(package_id).get(stream)
    if rid is None or rid not in {r["id"] for r in pkg["resources"]}:
        rid = _create(package_id, stream, datastream, context)
    engine = write_engine()
    try:
        with engine.connect() as conn:
            since = conn.execute(
                text(conn, sql.SQL("SELECT max(phenomenon_time) FROM {}").format(sql.Identifier(rid)))
            ).scalar()
        parsed = urlparse(base)
        link = datastream.get("@iot.selfLink") or f"{base.rstrip('/')}/Datastreams({datastream['@iot.id']})"
        first = f"{link}/Observations?$orderby=phenomenonTime asc&$top=1000"
        if since is not None:
            first += f"&$filter=phenomenonTime ge {since.isoformat()}Z"
        url: str | None = first
        new, pages = 0, 0
        while url:
            pages += 1
            if pages > max_pages:
                raise StaError(f"more than {max_pages} pages of Observations in {link}")
            doc = fetch_json(url, (parsed.scheme, parsed.netloc))
            rows = observation_rows([o for o in doc.get("value") or [] if isinstance(o, dict)])
            if rows:
                with transaction(engine) as conn:  # one statement per page
                    new += len(insert_rows(conn, rid, MIRROR_FIELDS, ["observation_id"], rows))
            url = doc.get("@iot.nextLink")
        return new
    finally:
        engine.dispose()


def _create(package_id: str, stream: str, datastream: dict[str, Any], context: Context) -> str:
    """The resource and DataStore table of a Datastream's mirror, recorded in ``udp_sta_mirror``."""
    res = tk.get_action("resource_create")(
        context.copy(),
        {
            "package_id": package_id,
            "name": f"Beobachtungen: {datastream.get('name') or f'sta:{stream}'}",
            "format": "CSV",
            "url": "",
            "description": "Kopie der Observations dieses Datastreams in der DataStore-Datenbank.",
        },
    )
    rid: str = res["id"]
    tk.get_action("datastore_create")(
        context.copy(),
        {
            "resource_id": rid,
            "force": True,
            "fields": MIRROR_FIELDS,
            "primary_key": ["observation_id"],
            "indexes": ["phenomenon_time"],
            "records": [],
        },
    )
    tk.get_action("resource_patch")(
        context.copy(), {"id": rid, "url": tk.url_for("datastore.dump", resource_id=rid, qualified=True)}
    )
    model.Session.execute(
        sa.text(
            f"INSERT INTO {TABLE} (package_id, datastream, resource_id) VALUES (:p, :d, :r) "
            "ON CONFLICT (package_id, datastream) DO UPDATE SET resource_id = EXCLUDED.resource_id"
        ),
        {"p": package_id, "d": stream, "r": rid},
    )
    model.Session.commit()
    return rid


__all__ = ["MIRROR_FIELDS", "TABLE", "mirror_datastream", "mirrors", "observation_rows"]
