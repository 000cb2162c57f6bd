"""Blueprints of udp_sensors: the webhook for The Things Stack / ChirpStack
HTTP integrations and the stable CSV/JSON download URLs of a dataset's series."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlencode

import ckan.plugins.toolkit as tk
import psycopg2
import psycopg2.errors
import sqlalchemy as sa
from ckan.types import Context
from flask import Blueprint, Response, request, stream_with_context

from ckanext.udp.sensors.logic import export, runtime
from ckanext.udp.sensors.logic.ingest import Message, process_safely
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
    if src is None or not src.webhook_secret or not hmac.compare_digest(given.encode(), src.webhook_secret.encode()):
        return _json(403, error="unknown source or wrong secret")
    if src.flavour == "chirpstack" and request.args.get("event", "up") != "up":
        return _json(204)  # join, status, ack ... events are not observations
    if (request.content_length or 0) > MAX_BODY:
        return _json(413, error=f"body larger than {MAX_BODY} bytes")
    body = request.stream.read(MAX_BODY + 1)  # never more than the cap into memory
    if len(body) > MAX_BODY:
        return _json(413, error=f"body larger than {MAX_BODY} bytes")
    msg = Message(
        topic=f"webhook/{src.name}", payload=body, received_at=dt.datetime.now(dt.timezone.utc), source=src.name
    )
    try:
        result = process_safely(runtime.ingester(), [msg])
    except sa.exc.SQLAlchemyError as err:  # the database does not answer: the network server retries
        log.error("webhook of %s: database not reachable: %s", src.name, str(err).splitlines()[0])
        return _json(503, error="the database is not reachable, please retry")
    if result.dead:
        d = result.dead[0]
        return _json(422, error=d.detail, reason=d.reason)
    return _json(200, stored=result.inserted, duplicate=result.duplicates > 0)


class BadRequest(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.errors = {field: [message]}


def _error(fmt: str, status: int, message: str, fields: dict[str, list[str]] | None = None) -> Response:
    """An error in the format asked for: JSON for .json, plain text otherwise
    (a CSV client gets no HTML page)."""
    if fmt == "json":
        body: dict[str, Any] = {"error": message}
        if fields:
            body["fields"] = fields
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    lines = [message] + [f"{k}: {m}" for k, msgs in (fields or {}).items() for m in msgs]
    return Response("\n".join(lines) + "\n", status=status, content_type="text/plain; charset=utf-8")


def _parse_bound(name: str) -> dt.datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        if len(value) == 10:
            value += "T00:00:00Z"
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        # 0001-01-01T00:00:00+01:00 is before year 1 in UTC: OverflowError
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise BadRequest(name, tk._("Not an ISO 8601 date or time between the years 1 and 9999 (UTC)")) from None


@dataclasses.dataclass
class Query:
    """What one download asks for, checked and with the defaults applied."""

    start: dt.datetime | None
    end: dt.datetime | None
    device: str | None
    after: int | None  # arrival cursor (observations only)
    limit: int  # rows per cursor page
    window_moved: dt.datetime | None  # the default window's start changed at this time


def _query(kind: str, anonymous: bool) -> Query:
    start, end = _parse_bound("from"), _parse_bound("to")
    if start and end and end < start:
        raise BadRequest("to", tk._("'to' must not be before 'from'"))
    device = request.args.get("device") or None
    if device is not None and ("\x00" in device or len(device) > 200):
        raise BadRequest("device", tk._("Not a device name"))
    token = request.args.get("after")
    after = None
    if token is not None:
        if kind != "observations":
            raise BadRequest("after", tk._("The arrival cursor 'after' exists for the observations only"))
        try:
            after = export.decode_cursor(token)
        except export.CursorError:
            raise BadRequest("after", tk._("Not a cursor of this series (take it from the last response)")) from None
    page = tk.config.get("ckanext.udp.sensors.download_page_rows")
    limit = page
    if request.args.get("limit") is not None:
        raw = request.args["limit"]
        if token is None or not raw.isdigit() or not 1 <= int(raw) <= page:
            raise BadRequest("limit", tk._("'limit' (1 to {max}) goes with 'after'").format(max=page))
        limit = int(raw)
    moved = None
    max_days = _max_days(kind) if anonymous and after is None else 0
    if max_days:
        span = dt.timedelta(days=max_days)
        if start is None and end is None:
            # the last max_days, moving by the hour (stable ETag within the hour)
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            moved = now.replace(minute=0, second=0, microsecond=0)
            start = moved - span
        elif end is not None and start is None:
            start = _shift(end, -span)
        elif start is not None and end is None:
            end = _shift(start, span)
        elif start is not None and end is not None and end - start > span:
            raise BadRequest(
                "to",
                tk._("At most {days} days per download without login; ask for the next days in another request").format(
                    days=max_days
                ),
            )
    return Query(start, end, device, after, limit, moved)


def _shift(when: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``when + delta``, held within the calendar (years 1 to 9999)."""
    try:
        return when + delta
    except OverflowError:
        return dt.datetime.min if delta < dt.timedelta(0) else dt.datetime.max


def _max_days(kind: str) -> int:
    if kind == "observations":
        return tk.config.get("ckanext.udp.sensors.download_max_days")
    if kind == "hourly":
        return tk.config.get("ckanext.udp.sensors.download_max_days_hourly")
    return 0  # latest: one row per device


def _http_date(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _validators(
    rid: str, kind: str, fmt: str, q: Query, state: tuple[int, dt.datetime | None] | None
) -> tuple[str | None, dt.datetime | None]:
    """ETag and Last-Modified of a download. The ETag names the table's write
    version and everything that selects the rows (the default window included).
    Last-Modified is given only once it is more than 2 s old: a write in the
    same second could otherwise hide behind a whole-second If-Modified-Since.
    Without the table's write count there are no validators at all."""
    if state is None:
        return None, None
    version, modified = state
    ident = [rid, kind, fmt, str(version), str(q.start), str(q.end), q.device or "", str(q.after), str(q.limit)]
    etag = 'W/"' + hashlib.sha256("|".join(ident).encode()).hexdigest()[:32] + '"'
    last = modified
    if q.window_moved is not None:
        moved = q.window_moved.replace(tzinfo=dt.timezone.utc)
        last = max(last, moved) if last else moved
    if last is not None and last > dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2):
        last = None
    return etag, last


def _not_modified(etag: str | None, last: dt.datetime | None) -> bool:
    if etag is None:
        return False
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag.split('"')[1])
    ims = request.if_modified_since
    return bool(ims and last and last.replace(microsecond=0) <= ims)


@sensors.route("/dataset/<id>/sensors/<kind>.<fmt>", methods=["GET", "HEAD"])
def download(id: str, kind: str, fmt: str) -> Response:
    """A series as CSV (comma-separated UTF-8, ISO 8601 UTC times) or JSON,
    streamed, with ``?from=&to=`` (ISO 8601; ``to`` exclusive), ``?device=``
    and, for the observations, the arrival cursor ``?after=`` (docs/sensors.md).
    Errors answer in the format asked for, never as an HTML page."""
    if fmt not in ("csv", "json"):
        return _error("csv", 404, tk._("Not found"))
    if kind not in KINDS:
        return _error(fmt, 404, tk._("Not found"))
    anonymous = not tk.current_user.is_authenticated
    context: Context = {"user": "" if anonymous else tk.current_user.name}
    try:
        pkg = tk.get_action("package_show")(context.copy(), {"id": id})
        rid = series_for_package(pkg["id"]).get(kind)
        if not rid or rid not in {r["id"] for r in pkg.get("resources", [])}:
            return _error(fmt, 404, tk._("This dataset has no sensor series"))
        tk.check_access("datastore_search", context.copy(), {"resource_id": rid})
    except tk.ObjectNotFound:
        return _error(fmt, 404, tk._("Dataset not found"))
    except tk.NotAuthorized:
        return _error(fmt, 403, tk._("Not authorized to see this dataset"))
    try:
        q = _query(kind, anonymous)
    except BadRequest as err:
        return _error(fmt, 400, tk._("Invalid request"), err.errors)
    time_col = "hour" if kind == "hourly" else "time"
    snap = None
    try:
        snap = export.Snapshot(runtime.read_engine(), tk.config.get("ckanext.udp.sensors.download_timeout"))
        fields = snap.fields(rid)
        etag, last = _validators(rid, kind, fmt, q, snap.version(rid))
        headers = {"Content-Disposition": f'attachment; filename="{pkg["name"]}-{kind}.{fmt}"'}
        if etag is not None:
            headers["ETag"] = etag
        if last is not None:
            headers["Last-Modified"] = _http_date(last)
        upto = after = None
        order: tuple[str, ...] | None = None
        if kind == "observations":
            if q.after is not None:
                after = q.after
                upto, _full = snap.page_end(rid, after, q.limit, export.filters(time_col, q.start, q.end, q.device))
                order = ("_id",)
            else:
                upto = snap.last_arrival(rid)
                order = ("time", "device", "f_cnt")
            nxt = export.encode_cursor(upto)
            headers["X-Udp-Next-After"] = nxt
            headers["Link"] = f'<{_next_url(nxt, q)}>; rel="next"'
        if _not_modified(etag, last):
            return Response(status=304, headers=headers)
        ctype = "text/csv; charset=utf-8" if fmt == "csv" else "application/json; charset=utf-8"
        if request.method == "HEAD":
            return Response(b"", headers=headers, content_type=ctype)
        select = export.select_sql(rid, fields, time_col, q.start, q.end, q.device, after=after, upto=upto, order=order)
        if fmt == "csv":
            body = snap.stream(export.copy_sql(select, "csv"), "csv")
        else:
            head: dict[str, Any] = {"fields": [{"id": f["id"], "type": f["type"]} for f in fields]}
            if upto is not None:
                head["next_after"] = headers["X-Udp-Next-After"]
            text = json.dumps(head, ensure_ascii=False)
            body = snap.stream(
                export.copy_sql(select, "json"), "json", head=(text[:-1] + ', "records": [\n').encode(), tail=b"]}\n"
            )
    except (sa.exc.SQLAlchemyError, psycopg2.Error) as err:
        log.error("download of %s (%s) failed: %s", rid, kind, str(err).splitlines()[0] if str(err) else err)
        if isinstance(err, psycopg2.errors.QueryCanceled):
            return _error(fmt, 503, tk._("The download took too long. Please ask for a shorter time range."))
        return _error(fmt, 503, tk._("The series cannot be read right now. Please try again later."))
    finally:
        if snap is not None:
            snap.close()  # nothing to do once the body owns the connection
    return Response(stream_with_context(body), headers=headers, content_type=ctype)


def _next_url(token: str, q: Query) -> str:
    args = {k: v for k, v in request.args.items() if k not in ("after",)}
    args["after"] = token
    return request.base_url + "?" + urlencode(args)
