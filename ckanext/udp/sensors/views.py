"""Blueprints of udp_sensors: the webhook for The Things Stack / ChirpStack
HTTP integrations and the stable CSV/JSON download URLs of a dataset's series."""
from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from typing import Any

import psycopg2
import sqlalchemy as sa
from flask import Blueprint, Response, request, stream_with_context

import ckan.plugins.toolkit as tk

from ckanext.udp.sensors.logic import export, runtime
from ckanext.udp.sensors.logic.consumer import process_safely
from ckanext.udp.sensors.logic.ingest import Message
from ckanext.udp.sensors.logic.series import KINDS, series_for_package

__all__ = ["sensors"]

log = logging.getLogger(__name__)

sensors = Blueprint("udp_sensors", __name__)

SECRET_HEADER = "X-Udp-Webhook-Secret"
MAX_BODY = 64 * 1024


def _json(status: int, **body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@sensors.route("/api/udp/sensors/<source>/uplink", methods=["POST"])
def webhook(source: str) -> Response:
    """One uplink per request, in the source's flavour; authenticated by the
    source's shared secret in the ``X-Udp-Webhook-Secret`` header."""
    src = runtime.sources().by_name(source)
    given = request.headers.get(SECRET_HEADER, "")
    # unknown source, disabled webhook and wrong secret answer alike
    expected = src.webhook_secret if src and src.webhook_secret else None
    if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
        return _json(403, error="unknown source or wrong secret")
    if src.flavour == "chirpstack" and request.args.get("event", "up") != "up":
        return _json(204)  # join, status, ack ... events are not observations
    if (request.content_length or 0) > MAX_BODY:
        return _json(413, error=f"body larger than {MAX_BODY} bytes")
    body = request.stream.read(MAX_BODY + 1)  # never more than the cap into memory
    if len(body) > MAX_BODY:
        return _json(413, error=f"body larger than {MAX_BODY} bytes")
    msg = Message(topic=f"webhook/{src.name}", payload=body,
                  received_at=dt.datetime.now(dt.timezone.utc), source=src.name)
    result = process_safely(runtime.ingester(), [msg])
    if result.dead:
        d = result.dead[0]
        return _json(422, error=d.detail, reason=d.reason)
    return _json(200, stored=result.inserted, duplicate=result.duplicates > 0)


def _parse_bound(name: str) -> dt.datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        if len(value) == 10:
            value += "T00:00:00Z"
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise tk.ValidationError({name: [tk._("Not an ISO 8601 date or time")]})
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)


@sensors.route("/dataset/<id>/sensors/<kind>.<fmt>")
def download(id: str, kind: str, fmt: str) -> Response:
    """A series as CSV (comma-separated UTF-8, ISO 8601 UTC times) or JSON,
    streamed, with ``?from=&to=`` (ISO 8601; ``to`` exclusive) and ``?device=``."""
    if kind not in KINDS or fmt not in ("csv", "json"):
        return tk.abort(404, tk._("Not found"))
    context = {"user": tk.current_user.name if tk.current_user.is_authenticated else ""}
    try:
        pkg = tk.get_action("package_show")(dict(context), {"id": id})
        rid = series_for_package(pkg["id"]).get(kind)
        if not rid or rid not in {r["id"] for r in pkg.get("resources", [])}:
            return tk.abort(404, tk._("This dataset has no sensor series"))
        tk.check_access("datastore_search", dict(context), {"resource_id": rid})
        start, end = _parse_bound("from"), _parse_bound("to")
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Dataset not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Not authorized to see this dataset"))
    except tk.ValidationError as err:
        return Response(json.dumps({"error": err.error_dict}), status=400, mimetype="application/json")
    device = request.args.get("device") or None
    if device is not None and "\x00" in device:
        return Response(json.dumps({"error": {"device": ["invalid"]}}), status=400, mimetype="application/json")
    engine = runtime.read_engine()
    try:
        fields = export.table_fields(engine, rid)
        select = export.select_sql(rid, fields, "hour" if kind == "hourly" else "time", start, end, device)
        if fmt == "csv":
            body = export.stream(engine, export.copy_sql(select, "csv"), "csv")
        else:
            head = json.dumps({"fields": [{"id": f["id"], "type": f["type"]} for f in fields]})
            body = export.stream(engine, export.copy_sql(select, "json"), "json",
                                 head=(head[:-1] + ', "records": [\n').encode(), tail=b"]}\n")
    except (sa.exc.SQLAlchemyError, psycopg2.Error) as err:
        log.error("download of %s (%s) failed: %s", rid, kind, str(err).splitlines()[0] if str(err) else err)
        return _json(503, error=tk._("The series cannot be read right now. Please try again later."))
    headers = {"Content-Disposition": f'attachment; filename="{pkg["name"]}-{kind}.{fmt}"'}
    ctype = "text/csv; charset=utf-8" if fmt == "csv" else "application/json; charset=utf-8"
    return Response(stream_with_context(body), headers=headers, content_type=ctype)
