"""``/sozialatlas``: an indicator of a district table as a choropleth of the
27 Stadtteile (server-rendered SVG), a ranked table and a comparison of two
years. Read as an anonymous visitor (see :mod:`.atlas`)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from flask import Blueprint

from ckanext.udp.sozialatlas import atlas, districts, geometry

sozialatlas = Blueprint("udp_sozialatlas", __name__)

# a sequential palette (ColorBrewer "Blues", 5 classes); classes are also numbered on the map
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
TEXT_ON = ("#000", "#000", "#000", "#000", "#fff")  # #3182bd: black 5.1:1, white only 4.15:1


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def shown(v: atlas.Value | None) -> str:
    if v is None:
        return tk._("no data")
    if v.withheld:
        return tk._("withheld")
    if v.value is None:
        return tk._("no data")
    return fmt(v.value)


def classes(numbers: list[float], k: int = 5) -> list[tuple[float, float]]:
    """Up to ``k`` classes of (about) equal count: [(low, high), ...]."""
    ordered = sorted(set(numbers))
    if not ordered:
        return []
    k = min(k, len(ordered))
    bounds = []
    for i in range(k):
        lo = ordered[(i * len(ordered)) // k]
        hi = ordered[((i + 1) * len(ordered)) // k - 1]
        bounds.append((lo, hi))
    return bounds


def class_of(value: float, bounds: list[tuple[float, float]]) -> int:
    for i, (_, hi) in enumerate(bounds):
        if value <= hi:
            return i
    return len(bounds) - 1


def _bad(message: str) -> Any:
    return tk.abort(400, message)


def _year(raw: str | None, years: list[Any]) -> Any:
    for y in years:
        if str(y) == raw:
            return y
    return None


@sozialatlas.route("/sozialatlas")
def index() -> Any:
    _ = tk._
    args = tk.request.args
    try:
        shapes = geometry.shapes()
        known = districts.all_districts()
    except (districts.DistrictsMissing, OSError, ValueError):
        return tk.abort(503, _("The district list is not available at the moment."))
    found = atlas.tables()
    extra: dict[str, Any] = {"tables": found, "table": None, "shapes": shapes, "palette": PALETTE}
    wanted = args.get("tabelle")
    if not found and not wanted:
        return tk.render("udp_sozialatlas/index.html", extra_vars=extra)
    table = next((t for t in found if t.resource_id == wanted), None) if wanted else found[0]
    if table is None:
        return tk.abort(404, _("This table is not available in the social atlas."))
    indicator = args.get("merkmal") or table.indicators[0][0]
    labels = dict(table.indicators)
    if indicator not in labels:
        return _bad(_("Unknown indicator."))
    try:
        by_year = atlas.values(table, indicator)
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        return tk.abort(404, _("This table is not available in the social atlas."))
    years = sorted(by_year, key=str)
    year = _year(args.get("jahr"), years) if args.get("jahr") else (years[-1] if years else None)
    if args.get("jahr") and year is None:
        return _bad(_("Unknown year."))
    compare = None
    if args.get("vergleich"):
        compare = _year(args.get("vergleich"), years)
        if compare is None:
            return _bad(_("Unknown year."))
    elif len(years) > 1 and year is not None:
        earlier = [y for y in years if str(y) < str(year)]
        compare = earlier[-1] if earlier else None
    current = by_year.get(year, atlas.Series(year)).values
    numbers = [v.value for v in current.values() if v.value is not None]
    bounds = classes(numbers)
    districts_out: list[dict[str, Any]] = []
    for d in known:
        v = current.get(d.number)
        cls = class_of(v.value, bounds) if v is not None and v.value is not None else None
        districts_out.append(
            {
                "number": d.number,
                "name": d.name,
                "path": shapes.paths.get(d.number, ""),
                "label": shapes.labels.get(d.number),
                "class": cls,
                "shown": shown(v),
                "withheld": bool(v and v.withheld),
                "value": v.value if v else None,
            }
        )
    ranked = sorted(districts_out, key=lambda r: (r["value"] is None, -(r["value"] or 0), r["number"]))
    rank = 0
    for r in ranked:
        if r["value"] is not None:
            rank += 1
            r["rank"] = rank
        else:
            r["rank"] = None
    comparison = []
    if compare is not None:
        before = by_year.get(compare, atlas.Series(compare)).values
        for d in known:
            a, b = before.get(d.number), current.get(d.number)
            diff = None
            pct = None
            if a and b and a.value is not None and b.value is not None:
                diff = b.value - a.value
                pct = (diff / a.value * 100) if a.value else None
            comparison.append(
                {
                    "number": d.number,
                    "name": d.name,
                    "before": shown(a),
                    "after": shown(b),
                    "diff": ("+" if diff and diff > 0 else "") + fmt(diff) if diff is not None else "–",
                    "pct": (("+" if pct > 0 else "") + fmt(round(pct, 1)) + " %") if pct is not None else "–",
                }
            )
    legend = [{"class": i, "colour": PALETTE[i], "low": fmt(lo), "high": fmt(hi)} for i, (lo, hi) in enumerate(bounds)]
    extra.update(
        table=table,
        indicator=indicator,
        indicator_label=labels[indicator],
        years=years,
        year=year,
        compare=compare,
        districts=districts_out,
        ranked=ranked,
        comparison=comparison,
        legend=legend,
        text_on=TEXT_ON,
        drawn=sum(1 for d in districts_out if d["path"]),
    )
    return tk.render("udp_sozialatlas/index.html", extra_vars=extra)
