"""``ckan udp klima``: the Klimadashboard from the command line.

ckan udp klima tiles     the tiles with their latest values
ckan udp klima demo      the demo tiles of ``make run`` (only when there are none yet)
"""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import click
from ckan.types import Context

from ckanext.udp.commands import register
from ckanext.udp.klima.logic import tiles as store

SOIL_BANDS = [
    {"upto": 20, "label": "trocken", "tone": "poor"},
    {"upto": 35, "label": "ausreichend feucht", "tone": "good"},
    {"upto": None, "label": "sehr feucht", "tone": "fair"},
]
TEMP_BANDS = [
    {"upto": 5, "label": "kalt", "tone": "fair"},
    {"upto": 20, "label": "gemäßigt", "tone": "good"},
    {"upto": None, "label": "warm", "tone": "poor"},
]
NO2_BANDS = [
    {"upto": 20, "label": "gering", "tone": "good"},
    {"upto": 40, "label": "mäßig", "tone": "fair"},
    {"upto": None, "label": "hoch (über 40 µg/m³)", "tone": "poor"},
]
PM10_BANDS = [
    {"upto": 20, "label": "gering", "tone": "good"},
    {"upto": 50, "label": "mäßig", "tone": "fair"},
    {"upto": None, "label": "über dem Tagesgrenzwert (50 µg/m³)", "tone": "poor"},
]


def _context() -> Context:
    user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": user["name"], "ignore_auth": True}


def _series_resource(dataset: str, column: str) -> str | None:
    """The live observations table of a sensor dataset: the table with the column and an uplink id."""
    pkg = model.Package.get(dataset)
    for res in pkg.resources if pkg else []:
        columns = store.table_columns(res.id) if res.state == "active" else {}
        if column in columns and "time" in columns and "uplink_id" in columns:
            return res.id
    return None


def demo_tiles() -> list[dict[str, Any]]:
    wanted: list[dict[str, Any]] = []
    for column, title, unit, bands in (
        ("bodenfeuchte", "Bodenfeuchte Friedrichsplatz", "%", SOIL_BANDS),
        ("bodentemperatur", "Bodentemperatur Friedrichsplatz", "°C", TEMP_BANDS),
    ):
        resource = _series_resource("bodenfeuchte-friedrichsplatz", column)
        if resource:
            wanted.append(
                {
                    "title": title,
                    "kind": "series",
                    "dataset": "bodenfeuchte-friedrichsplatz",
                    "resource": resource,
                    "value_column": column,
                    "time_column": "time",
                    "unit": unit,
                    "bands": bands,
                }
            )
    air = {"kind": "daily", "dataset": "luftqualitaet-tagesmittel", "resource": "Tagesmittelwerte Juni 2025"}
    wanted += [
        dict(
            air,
            title="Stickstoffdioxid (NO2), Tagesmittel aller Stationen (Demodaten)",
            value_column="no2_ugm3",
            time_column="datum",
            aggregation="mean",
            unit="µg/m³",
            bands=NO2_BANDS,
        ),
        dict(
            air,
            title="Feinstaub (PM10), höchstes Tagesmittel der Stationen (Demodaten)",
            value_column="pm10_ugm3",
            time_column="datum",
            aggregation="max",
            unit="µg/m³",
            bands=PM10_BANDS,
        ),
        {
            "title": "Bäume im Baumkataster",
            "kind": "count",
            "dataset": "baumkataster",
            "resource": "Baumkataster (CSV)",
            "unit": "Bäume",
        },
    ]
    return wanted


@click.group("klima", short_help="Klimadashboard")
def klima() -> None:
    """The Klimadashboard's tiles."""


@klima.command("tiles")
def tiles_command() -> None:
    """The tiles with their latest values."""
    for tile in tk.get_action("udp_klima_tile_list")(_context(), {"all": True}):
        data = store.numbers(tile) if tile["visible"] else {"value": None}
        click.echo(
            f"{tile['position']:>3} {tile['id']} {tile['kind']:<7} {tile['title']}: {data['value']} {tile['unit']}"
            + ("" if tile["visible"] else " (nicht öffentlich: nicht gezeigt)")
        )


@klima.command("demo")
def demo() -> None:
    """The demo tiles (soil sensors, air quality, trees), only when there are no tiles yet."""
    if store.all_tiles():
        click.echo("Klimadashboard: tiles exist, demo tiles not added")
        return
    n = 0
    for tile in demo_tiles():
        try:
            tk.get_action("udp_klima_tile_create")(_context(), tile)
            n += 1
        except tk.ValidationError as e:
            click.echo(f"demo tile {tile['title']!r} refused: {e.error_dict}", err=True)
    click.echo(f"Klimadashboard: {n} demo tiles")


def get_commands() -> list[Any]:
    return register(klima)
