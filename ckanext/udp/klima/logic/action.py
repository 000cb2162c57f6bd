"""The tile actions. Reading: ``udp_klima_tile_list`` / ``_show`` / ``_data``
answer only tiles whose dataset the public sees (published and open) and 404
for the others; ``udp_klima_tile_list`` with ``all`` (sysadmins) lists every
tile with its visibility. Writing (sysadmins): ``_create``, ``_update``,
``_delete``, ``_reorder``; a tile is refused with a German message when its
dataset, resource or column is missing or the dataset is not published and
open."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat
from ckanext.udp.klima.logic import schema, tiles

MAX_BANDS = 5
log = logging.getLogger(__name__)


def _public(tile: dict[str, Any], packages: dict[str, model.Package] | None = None) -> dict[str, Any]:
    pkg = packages.get(tile["package_id"]) if packages is not None else model.Package.get(tile["package_id"])
    return dict(
        tile,
        dataset=pkg.name if pkg else None,
        dataset_title=pkg.title if pkg else None,
    )


def _bands(value: Any) -> list[dict[str, Any]]:
    _ = tk._
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise tk.ValidationError({"bands": [_("The colour bands are not valid JSON.")]}) from None
    if not isinstance(value, list) or len(value) > MAX_BANDS or not all(isinstance(b, dict) for b in value):
        raise tk.ValidationError({"bands": [_("Give at most five colour bands.")]})
    bands: list[dict[str, Any]] = []
    for i, band in enumerate(value):
        label = str(band.get("label") or "").strip()
        tone = band.get("tone")
        upto = band.get("upto")
        if not label:
            raise tk.ValidationError({"bands": [_("Every colour band needs a label (colour alone says nothing).")]})
        if tone not in tiles.TONES:
            raise tk.ValidationError({"bands": [_("Unknown colour of a band.")]})
        if upto in (None, ""):
            if i != len(value) - 1:
                raise tk.ValidationError({"bands": [_("Only the last colour band may have no upper limit.")]})
            upto = None
        else:
            try:
                upto = float(str(upto).replace(",", "."))
            except ValueError:
                raise tk.ValidationError({"bands": [_("The upper limit of a colour band must be a number.")]}) from None
            if not math.isfinite(upto) or (bands and bands[-1]["upto"] is not None and upto <= bands[-1]["upto"]):
                raise tk.ValidationError({"bands": [_("The upper limits of the colour bands must rise.")]})
        bands.append({"upto": upto, "label": label, "tone": tone})
    return bands


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a tile, or a ValidationError in German."""
    _ = tk._
    pkg = model.Package.get(data["dataset"])
    if pkg is None or pkg.state == "deleted":
        raise tk.ValidationError({"dataset": [_("There is no dataset “{name}”.").format(name=data["dataset"])]})
    if not compat.is_public(pkg):
        raise tk.ValidationError(
            {
                "dataset": [
                    _("The dataset “{name}” is not published and open; only such datasets can be shown.").format(
                        name=pkg.name
                    )
                ]
            }
        )
    resources = [r for r in pkg.resources if r.state == "active"]
    res = next((r for r in resources if r.id == data["resource"]), None) or next(
        (r for r in resources if r.name == data["resource"]), None
    )
    if res is None:
        raise tk.ValidationError(
            {"resource": [_("The dataset has no resource “{name}”.").format(name=data["resource"])]}
        )
    columns = tiles.table_columns(res.id)
    if not columns:
        raise tk.ValidationError({"resource": [_("The resource has no table in the DataStore.")]})
    kind = data["kind"]
    if kind != "count":
        value_column, time_column = data.get("value_column") or "", data.get("time_column") or ""
        if value_column not in columns:
            raise tk.ValidationError(
                {"value_column": [_("The table has no column “{name}”.").format(name=value_column)]}
            )
        if columns[value_column] not in tiles.NUMERIC_TYPES:
            raise tk.ValidationError({"value_column": [_("The value column must hold numbers.")]})
        if time_column not in columns:
            raise tk.ValidationError({"time_column": [_("The table has no column “{name}”.").format(name=time_column)]})
        allowed = tiles.TIME_TYPES - ({"date"} if kind == "series" else set())
        if columns[time_column] not in allowed:
            raise tk.ValidationError(
                {
                    "time_column": [
                        _("The time column must hold times (a sensor series) or dates or times (daily values).")
                    ]
                }
            )
    else:
        value_column = time_column = None
    return {
        "id": data.get("id"),
        "title": data["title"],
        "kind": kind,
        "package_id": pkg.id,
        "resource_id": res.id,
        "value_column": value_column,
        "time_column": time_column,
        "aggregation": data.get("aggregation") if kind == "daily" else None,
        "unit": data.get("unit") or "",
        "bands": _bands(data.get("bands")),
    }


def _tile_or_404(context: Context, tile_id: str) -> dict[str, Any]:
    tile = tiles.get(tile_id)
    if tile is None or not tiles.visible(tile):
        raise tk.ObjectNotFound(tk._("There is no such tile."))
    return tile


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _with_numbers(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The (visible) tiles with their numbers; a tile whose table does not answer is left out."""
    days = int(tk.config.get("ckanext.udp.klima.chart_days") or 31)
    found = tiles.numbers_of(shown, days=days)
    packages = tiles.packages_of(shown)
    out = []
    for tile in shown:
        n = found[tile["id"]]
        if isinstance(n, tiles.TableUnavailable):  # the table changed under the tile: not shown, never a 500
            log.warning("Klimadashboard tile %s: its table does not answer: %s", tile["id"], n)
            continue
        trend = n["trend"]
        out.append(
            dict(
                _public(tile, packages),
                latest={"value": n["value"], "time": _iso(n["time"])},
                step=n["step"],
                points=[[_iso(t), v] for t, v in n["points"]],
                trend=dict(trend, since=_iso(trend["since"])) if trend else None,
                band=tiles.band_of(tile["bands"], n["value"]),
            )
        )
    return out


@tk.side_effect_free
@tk.validate(schema.tile_list)
def udp_klima_tile_list(context: Context, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The tiles the public sees, in order; with ``data`` each with its numbers as
    ``udp_klima_tile_data`` gives them (tiles whose table does not answer left out);
    with ``all`` (sysadmins) every tile with its visibility."""
    tk.check_access("udp_klima_tile_list", context, data_dict)
    stored = tiles.all_tiles()
    if data_dict.get("all"):
        tk.check_access("udp_klima_tile_list_all", context, data_dict)
        shown = {t["id"] for t in tiles.visible_tiles(stored)}
        packages = tiles.packages_of(stored)
        return [dict(_public(t, packages), visible=t["id"] in shown) for t in stored]
    public = tiles.visible_tiles(stored)
    if data_dict.get("data"):
        return _with_numbers(public)
    packages = tiles.packages_of(public)
    return [_public(t, packages) for t in public]


@tk.side_effect_free
@tk.validate(schema.tile_id)
def udp_klima_tile_show(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    tk.check_access("udp_klima_tile_show", context, data_dict)
    return _public(_tile_or_404(context, data_dict["id"]))


@tk.side_effect_free
@tk.validate(schema.tile_id)
def udp_klima_tile_data(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The tile with its numbers: ``latest`` (value, time), ``points`` (time, value; hourly
    means of the last 48 hours of a series, daily values of a table), ``trend``, ``band``."""
    tk.check_access("udp_klima_tile_data", context, data_dict)
    found = _with_numbers([_tile_or_404(context, data_dict["id"])])
    if not found:
        raise tk.ObjectNotFound(tk._("There is no such tile."))
    return found[0]


@tk.validate(schema.tile_create)
def udp_klima_tile_create(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    tk.check_access("udp_klima_tile_create", context, data_dict)
    data_dict.pop("id", None)
    return _public(tiles.save(_checked(data_dict)))


@tk.validate(schema.tile_update)
def udp_klima_tile_update(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    tk.check_access("udp_klima_tile_update", context, data_dict)
    if tiles.get(data_dict["id"]) is None:
        raise tk.ObjectNotFound(tk._("There is no such tile."))
    return _public(tiles.save(_checked(data_dict)))


@tk.validate(schema.tile_id)
def udp_klima_tile_delete(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    tk.check_access("udp_klima_tile_delete", context, data_dict)
    if not tiles.delete(data_dict["id"]):
        raise tk.ObjectNotFound(tk._("There is no such tile."))
    return {"id": data_dict["id"], "deleted": True}


@tk.validate(schema.tile_reorder)
def udp_klima_tile_reorder(context: Context, data_dict: dict[str, Any]) -> list[str]:
    tk.check_access("udp_klima_tile_reorder", context, data_dict)
    tiles.reorder(data_dict["order"])
    return [t["id"] for t in tiles.all_tiles()]


def get_actions() -> dict[str, Any]:
    return {
        f.__name__: f
        for f in (
            udp_klima_tile_list,
            udp_klima_tile_show,
            udp_klima_tile_data,
            udp_klima_tile_create,
            udp_klima_tile_update,
            udp_klima_tile_delete,
            udp_klima_tile_reorder,
        )
    }
