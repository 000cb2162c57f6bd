"""Blueprints of udp_sensors: the webhook for The Things Stack / ChirpStack
HTTP integrations and the stable CSV/JSON download URLs of a dataset's series."""
from __future__ import annotations

import datetime as dt
import decimal
import hmac
import json
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Blueprint, Response, request, stream_with_context

import ckan.plugins.toolkit as tk

from ckanext.udp.sensors.logic import runtime
from ckanext.udp.sensors.logic.consumer import process_safely
from ckanext.udp.sensors.logic.ingest import Message
from ckanext.udp.sensors.logic.series import KINDS, series_for_package

__all__ = ["sensors"]

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


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


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
        if not rid:
            return tk.abort(404, tk._("This dataset has no sensor series"))
        info = tk.get_action("datastore_search")(dict(context), {"resource_id": rid, "limit": 0})
        start, end = _parse_bound("from"), _parse_bound("to")
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Dataset not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Not authorized to see this dataset"))
    except tk.ValidationError as err:
        return Response(json.dumps({"error": err.error_dict}), status=400, mimetype="application/json")
    fields = [f for f in info["fields"] if f["id"] not in ("_id", "_full_text")]
    time_col = "hour" if kind == "hourly" else "time"
    select = ", ".join(
        f'("{f["id"]}").json AS "{f["id"]}"' if f["type"] == "json" else f'"{f["id"]}"' for f in fields)
    where, params = [], {}
    if start:
        where.append(f'"{time_col}" >= :start')
        params["start"] = start
    if end:
        where.append(f'"{time_col}" < :end')
        params["end"] = end
    if request.args.get("device"):
        where.append('"device" = :device')
        params["device"] = request.args["device"]
    sql = sa.text(f'SELECT {select} FROM "{rid}"'
                  + (" WHERE " + " AND ".join(where) if where else "")
                  + f' ORDER BY "{time_col}", "device"')
    names = [f["id"] for f in fields]

    def rows() -> Iterator[tuple[Any, ...]]:
        with runtime.read_engine().connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=2000).execute(sql, params)
            for row in result:
                yield tuple(_cell(v) for v in row)

    filename = f"{pkg['name']}-{kind}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(stream_with_context(_csv(names, rows())), mimetype="text/csv", headers=headers,
                        content_type="text/csv; charset=utf-8")
    return Response(stream_with_context(_json_stream(fields, names, rows())), headers=headers,
                    content_type="application/json; charset=utf-8")


def _number(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    return str(value)


def _csv(names: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(names)
    n = 0
    for row in rows:
        writer.writerow([json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for v in row])
        n += 1
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _json_stream(fields: list[dict[str, Any]], names: list[str],
                 rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    head = {"fields": [{"id": f["id"], "type": f["type"]} for f in fields]}
    yield json.dumps(head)[:-1] + ', "records": ['
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps(dict(zip(names, row)), ensure_ascii=False, default=_number)
        first = False
    yield "]}"

