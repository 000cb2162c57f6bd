"""The pages: ``/klimadashboard`` (every tile the public may see),
``/klimadashboard/kachel/<id>`` (one tile, for an iframe: the only route whose
frame headers allow embedding), its numbers as ``daten.json`` / ``daten.csv``,
and ``/klimadashboard/verwalten`` (sysadmins: add, edit, reorder, delete).
Everything goes through the actions. The DataStore's read server down: the pages
answer CKAN's error page with the German 503, ``daten.json``/``daten.csv`` a JSON 503."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import functools
import io
import json
import math
from typing import Any

import ckan.plugins.toolkit as tk
from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from ckan.types import Context
from flask import Blueprint, Response, make_response, request
from werkzeug.exceptions import ServiceUnavailable

from ckanext.udp import unavailable as read_server
from ckanext.udp.klima.logic.tiles import AGGREGATIONS, BERLIN, KINDS, TONES

klima = Blueprint("udp_klima", __name__)

MIN_REFRESH, MAX_REFRESH = 2, 3600
EMBED_ENDPOINTS = {"udp_klima.tile"}


def _context() -> Context:
    return {"user": tk.current_user.name if tk.current_user else "", "auth_user_obj": tk.current_user}


@klima.after_request
def _frame_headers(response: Response) -> Response:
    """Only a tile may be embedded in another site's page; everything else of the dashboard may not."""
    if request.endpoint in EMBED_ENDPOINTS:
        response.headers.pop("X-Frame-Options", None)
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    else:
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


# --- German display ----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _german_number() -> tuple[NumberPattern, Locale]:
    # parsed once: babel's format_decimal parses the pattern and the locale on every call
    return parse_pattern("#,##0.##"), Locale.parse("de_DE")


_CENT = decimal.Decimal("0.01")


def number(value: float | None) -> str:
    """German "#,##0.##" (as babel's pattern, half-even to two places): about twenty
    times faster than babel's ``apply``, which took ~0.1 s of a 20-tile page (800 numbers
    in the value tables). Babel's own for what this does not cover (NaN, infinities, huge)."""
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) < 1e15:
        rounded = decimal.Decimal(str(value)).quantize(_CENT, decimal.ROUND_HALF_EVEN)
        whole, _dot, frac = f"{abs(rounded):,.2f}".partition(".")
        frac = frac.rstrip("0")
        text = whole.replace(",", ".") + ("," + frac if frac else "")
        return "-" + text if rounded.is_signed() else text
    pattern, locale = _german_number()
    try:
        return pattern.apply(value, locale)
    except decimal.InvalidOperation:  # babel cannot round 1e300 to two places: a power of ten
        return f"{value:.3e}".replace(".", ",")


def when(iso: str | None, step: str | None) -> str:
    if not iso:
        return "–"
    t = dt.datetime.fromisoformat(iso).astimezone(BERLIN)
    # formatted by hand: strftime cost ~30 µs a call, and a page has ~800 of them
    if step == "day":
        return f"{t.day:02d}.{t.month:02d}.{t.year:04d}"
    return f"{t.day:02d}.{t.month:02d}.{t.year:04d}, {t.hour:02d}:{t.minute:02d} Uhr"


def words() -> dict[str, str]:
    """The tiles' German words, translated once per page (not once per tile: a page of 20
    tiles asked gettext ~340 times)."""
    _ = tk._
    return {
        "up": _("rising"),
        "down": _("falling"),
        "flat": _("steady"),
        "trend": _("{arrow} {word} ({delta} since {since})"),
        "hour": _("hourly means"),
        "day": _("daily values"),
        "alt_count": _("{title}: {value} {unit} (as of {time})."),
        "alt_rows": _(
            "{title}: last value {value} {unit} at {time}; "
            "{n} {step} from {first} to {last}, lowest {min}, highest {max}."
        ),
        "alt_empty": _("{title}: there are no values yet."),
        # the labels of tile.html
        "latest_value": _("Latest value"),
        "rating": _("Rating"),
        "trend_label": _("Trend"),
        "as_of": _("As of"),
        "last_value": _("Last value"),
        "show_table": _("Show the values as a table"),
        "values_of": _("Values of {title}"),
        "newest_first": _("newest first"),
        "time": _("Time"),
        "value": _("Value"),
        "dataset": _("Dataset"),
        "embed": _("Embed"),
    }


def display(data: dict[str, Any], w: dict[str, str] | None = None) -> dict[str, Any]:
    """The German strings of a tile's numbers (the page, the embed and the JSON's ``display``)."""
    w = w or words()
    unit = data.get("unit") or ""
    latest = data["latest"]
    trend = data.get("trend")
    trend_text = ""
    if trend:
        arrows = {"up": "↗", "down": "↘", "flat": "→"}
        sign = "+" if trend["delta"] > 0 else ("−" if trend["delta"] < 0 else "±")
        trend_text = w["trend"].format(
            arrow=arrows[trend["direction"]],
            word=w[trend["direction"]],
            delta=f"{sign}{number(abs(trend['delta']))} {unit}".strip(),
            since=when(trend["since"], data.get("step")),
        )
    band = data.get("band")
    value = number(latest["value"])
    rows = [[when(t, data.get("step")), number(v)] for t, v in reversed(data.get("points") or [])]
    step_word = w.get(data.get("step") or "", "") if data.get("step") in ("hour", "day") else ""
    if data["kind"] == "count":
        alt = w["alt_count"]
    elif rows:
        alt = w["alt_rows"]
    else:
        alt = w["alt_empty"]
    values = [v for _t, v in data.get("points") or [] if v is not None]
    return {
        "value": value,
        "unit": unit,
        "time": when(latest["time"], data.get("step") if data["kind"] != "count" else None),
        "trend": trend_text,
        "band": band["label"] if band else "",
        "tone": band["tone"] if band else "",
        "rows": rows,
        "step": step_word,
        "alt": alt.format(
            title=data["title"],
            value=value,
            unit=unit,
            time=when(latest["time"], data.get("step") if data["kind"] != "count" else None),
            n=len(rows),
            step=step_word,
            first=rows[-1][0] if rows else "",
            last=rows[0][0] if rows else "",
            min=number(min(values)) if values else "–",
            max=number(max(values)) if values else "–",
        ).replace("  ", " "),
    }


_MARK = "udpklimamarke"


def _with_links(tile_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each tile's links (``links``: json, csv, embed, dataset), from one ``url_for`` per
    route with a marker put in for the id: ``url_for`` costs about a millisecond, and a
    page of 20 tiles asked it 100 times. A tile id is 12 hex digits, a dataset name
    [a-z0-9_-]: neither needs quoting."""
    if not tile_list:
        return tile_list
    patterns = {
        "json": tk.h.url_for("udp_klima.tile_data", id=_MARK, fmt="json"),
        "csv": tk.h.url_for("udp_klima.tile_data", id=_MARK, fmt="csv"),
        "embed": tk.h.url_for("udp_klima.tile", id=_MARK),
        "dataset": tk.h.url_for("dataset.read", id=_MARK),
    }
    for tile in tile_list:
        tile["links"] = {
            key: pattern.replace(_MARK, str(tile["dataset"] if key == "dataset" else tile["id"]))
            for key, pattern in patterns.items()
        }
    return tile_list


def _tile_data(tile_id: str) -> dict[str, Any]:
    data = tk.get_action("udp_klima_tile_data")(_context(), {"id": tile_id})
    data["display"] = display(data)
    return data


def _refresh() -> int:
    seconds = int(tk.config.get("ckanext.udp.klima.refresh_seconds") or 60)
    asked = request.args.get("aktualisierung") or ""
    if asked.isascii() and asked.isdigit() and len(asked) <= 6:  # "²" is a digit to isdigit, not to int
        seconds = int(asked)
    return max(MIN_REFRESH, min(MAX_REFRESH, seconds))


def _not_found(json_answer: bool = False) -> Any:
    message = tk._("There is no such tile.")
    if json_answer:
        return make_response(
            json.dumps({"error": message}, ensure_ascii=False), 404, {"Content-Type": "application/json; charset=utf-8"}
        )
    return tk.abort(404, message)


# --- public pages --------------------------------------------------------------------


@klima.route("/klimadashboard")
def dashboard() -> Any:
    # one action: one visibility check for all tiles, their numbers on one connection
    tiles = tk.get_action("udp_klima_tile_list")(_context(), {"data": True})
    w = words()
    for data in tiles:
        data["display"] = display(data, w)
    return tk.render("udp_klima/dashboard.html", {"tiles": _with_links(tiles), "refresh": _refresh(), "words": w})


@klima.route("/klimadashboard/kachel/<id>")
def tile(id: str) -> Any:
    try:
        data = _tile_data(id)
    except tk.ObjectNotFound:
        return _not_found()
    return tk.render("udp_klima/embed.html", {"tile": _with_links([data])[0], "refresh": _refresh(), "words": words()})


@klima.route("/klimadashboard/kachel/<id>/daten.<fmt>")
def tile_data(id: str, fmt: str) -> Any:
    if fmt not in ("json", "csv"):
        return _not_found(json_answer=True)
    try:
        data = _tile_data(id)
    except tk.ObjectNotFound:
        return _not_found(json_answer=fmt == "json")
    except ServiceUnavailable as err:  # the DataStore's read server does not answer (tiles.py)
        return make_response(
            json.dumps({"error": err.description}, ensure_ascii=False),
            503,
            {"Content-Type": "application/json; charset=utf-8", "Retry-After": str(read_server.RETRY_AFTER)},
        )
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
        return make_response(
            body, 200, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache"}
        )
    out = io.StringIO()
    writer = csv.writer(out)
    if data["kind"] == "count":
        writer.writerow(["zeit", "anzahl"])
        writer.writerow([data["latest"]["time"] or "", data["latest"]["value"]])
    else:
        writer.writerow(["zeit", "wert"])
        for t, v in data["points"]:
            writer.writerow([t, "" if v is None else v])
    filename = f"klimadashboard-{id}.csv"
    return make_response(
        out.getvalue(),
        200,
        {"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- the sysadmins' pages ---------------------------------------------------------------


def _may_edit() -> None:
    try:
        tk.check_access("udp_klima_tile_create", _context(), {})
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only sysadmins may change the Klimadashboard."))


def _labels() -> dict[str, dict[str, str]]:
    _ = tk._
    return {
        "kind": {
            "series": _("Sensor series: latest value and trend"),
            "daily": _("Table: daily values"),
            "count": _("Table: number of rows"),
        },
        "aggregation": {"mean": _("Mean"), "max": _("Maximum"), "min": _("Minimum"), "sum": _("Sum")},
        "tone": {"good": _("Green (good)"), "fair": _("Yellow (moderate)"), "poor": _("Red (poor)")},
    }


@klima.route("/klimadashboard/verwalten")
def admin() -> Any:
    _may_edit()
    tiles = tk.get_action("udp_klima_tile_list")(_context(), {"all": True})
    return tk.render("udp_klima/admin.html", {"tiles": tiles, "labels": _labels()})


def _form_data() -> dict[str, Any]:
    form = request.form
    bands = []
    for i in range(1, 4):
        label = (form.get(f"band_{i}_label") or "").strip()
        if label:
            bands.append(
                {"upto": form.get(f"band_{i}_upto") or None, "label": label, "tone": form.get(f"band_{i}_tone")}
            )
    data: dict[str, Any] = {
        k: form.get(k, "")
        for k in ("title", "kind", "dataset", "resource", "value_column", "time_column", "aggregation", "unit")
    }
    data["bands"] = bands
    return data


def _form(tile: dict[str, Any] | None) -> Any:
    _may_edit()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = _form_data()
        try:
            if tile:
                tk.get_action("udp_klima_tile_update")(_context(), dict(data, id=tile["id"]))
                tk.h.flash_success(tk._("The tile was saved."))
            else:
                tk.get_action("udp_klima_tile_create")(_context(), data)
                tk.h.flash_success(tk._("The tile was added."))
            return tk.redirect_to("udp_klima.admin")
        except tk.ValidationError as e:
            errors = e.error_dict if isinstance(e.error_dict, dict) else {}
        values = data
    elif tile:
        values = dict(tile, resource=tile["resource_id"])
    else:
        values = {"kind": "series", "aggregation": "mean", "bands": []}
    bands = list(values.get("bands") or [])
    bands += [{"upto": None, "label": "", "tone": TONES[min(len(bands), 2)]} for _i in range(3 - len(bands))]
    return tk.render(
        "udp_klima/form.html",
        {
            "tile": tile,
            "values": values,
            "bands": bands[:3],
            "errors": errors,
            "labels": _labels(),
            "kinds": KINDS,
            "aggregations": list(AGGREGATIONS),
            "tones": TONES,
        },
    ), (400 if errors else 200)


@klima.route("/klimadashboard/verwalten/neu", methods=["GET", "POST"])
def new() -> Any:
    return _form(None)


@klima.route("/klimadashboard/verwalten/<id>", methods=["GET", "POST"])
def edit(id: str) -> Any:
    _may_edit()
    listed = {t["id"]: t for t in tk.get_action("udp_klima_tile_list")(_context(), {"all": True})}
    if id not in listed:
        return _not_found()
    return _form(listed[id])


@klima.route("/klimadashboard/verwalten/<id>/loeschen", methods=["POST"])
def delete(id: str) -> Any:
    _may_edit()
    try:
        tk.get_action("udp_klima_tile_delete")(_context(), {"id": id})
    except tk.ObjectNotFound:
        return _not_found()
    tk.h.flash_success(tk._("The tile was deleted."))
    return tk.redirect_to("udp_klima.admin")


@klima.route("/klimadashboard/verwalten/<id>/verschieben", methods=["POST"])
def move(id: str) -> Any:
    _may_edit()
    order = [t["id"] for t in tk.get_action("udp_klima_tile_list")(_context(), {"all": True})]
    if id not in order:
        return _not_found()
    i = order.index(id)
    j = i - 1 if request.form.get("richtung") == "hoch" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        tk.get_action("udp_klima_tile_reorder")(_context(), {"order": order})
    return tk.redirect_to("udp_klima.admin")
