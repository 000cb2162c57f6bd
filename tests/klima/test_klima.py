"""The Klimadashboard (udp_klima): tiles validated against the DataStore and the
dataset's visibility, their numbers from the tables, the pages and downloads, and
who may change them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

pytestmark = pytest.mark.usefixtures("loaded", "no_tiles")

T0 = dt.datetime(2026, 11, 28, 0, 0)  # UTC


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def act(name: str, user: dict[str, Any] | None = None, **data: Any) -> Any:
    context = {"user": user["name"]} if user else {"user": ""}
    return tk.get_action(name)(context, data)


def table(pkg: dict[str, Any], name: str, fields: list[dict[str, str]], records: list[dict[str, Any]]) -> str:
    res = tk.get_action("datastore_create")(
        system(),
        {"resource": {"package_id": pkg["id"], "name": name}, "fields": fields, "records": records, "force": True},
    )
    return res["resource_id"]


@pytest.fixture
def no_tiles() -> None:
    """Each test starts without tiles (the world of datasets is built once per module)."""
    import ckan.model as model
    import sqlalchemy as sa

    model.Session.execute(sa.text("DELETE FROM udp_klima_tile"))
    model.Session.commit()


@pytest.fixture(scope="module")
def loaded() -> Iterator[None]:
    """The plugins loaded once for the module (``with_plugins`` per test cost ~5 s a test on a loaded box)."""
    plugins.load_all()
    try:
        yield
    finally:
        plugins.unload_all()


@pytest.fixture(scope="module")
def world(loaded: None, reset_db: Any) -> dict[str, Any]:
    return _world(reset_db)


@pytest.fixture(scope="module")
def app(world: Any) -> Any:
    """One test client for the module (building one costs ~20 s on a loaded box)."""
    from ckan.tests.helpers import _get_test_app

    return _get_test_app()


def _world(reset_db: Any) -> dict[str, Any]:
    reset_db()
    sysadmin = factories.Sysadmin()
    org = factories.Organization()
    pkg = public_dataset(owner_org=org["id"], name="klima-probe", title="Klima-Probe")
    # a sensor series: 30 hourly values, the last one 14.5 at 05:00 UTC on the 29th
    series = table(
        pkg,
        "Messwerte",
        [{"id": "time", "type": "timestamp"}, {"id": "device", "type": "text"}, {"id": "feuchte", "type": "numeric"}],
        [{"time": (T0 + dt.timedelta(hours=h)).isoformat(), "device": "s1", "feuchte": 20 + h / 2} for h in range(29)]
        + [{"time": (T0 + dt.timedelta(hours=29)).isoformat(), "device": "s2", "feuchte": 14.5}],
    )
    daily = table(
        pkg,
        "Luft",
        [{"id": "station", "type": "text"}, {"id": "datum", "type": "date"}, {"id": "no2", "type": "numeric"}],
        [
            {"station": s, "datum": f"2025-06-0{d}", "no2": v}
            for d, values in ((1, (10, 30)), (2, (20, 50)), (3, (41, 45)))
            for s, v in zip(("A", "B"), values, strict=True)
        ],
    )
    hidden = factories.Dataset(owner_org=org["id"], name="klima-entwurf")
    hidden_res = table(hidden, "Tabelle", [{"id": "a", "type": "int"}], [{"a": 1}])
    # withdrawn by one test: its own dataset
    leaving = public_dataset(owner_org=org["id"], name="klima-geht", title="Klima-Rückzug")
    table(
        leaving,
        "Messwerte",
        [{"id": "time", "type": "timestamp"}, {"id": "feuchte", "type": "numeric"}],
        [{"time": T0.isoformat(), "feuchte": 14.5}],
    )
    return {
        "leaving": leaving,
        "sysadmin": sysadmin,
        "pkg": pkg,
        "series": series,
        "daily": daily,
        "hidden": hidden,
        "hidden_res": hidden_res,
    }


BANDS = [
    {"upto": 15, "label": "trocken", "tone": "poor"},
    {"upto": 30, "label": "gut", "tone": "good"},
    {"upto": None, "label": "nass", "tone": "fair"},
]


def series_tile(world: dict[str, Any], **kw: Any) -> dict[str, Any]:
    data = dict(
        title="Bodenfeuchte",
        kind="series",
        dataset="klima-probe",
        resource="Messwerte",
        value_column="feuchte",
        time_column="time",
        unit="%",
        bands=BANDS,
    )
    data.update(kw)
    return act("udp_klima_tile_create", world["sysadmin"], **data)


def test_a_series_tile_shows_the_latest_value_its_band_trend_and_hourly_means(world):
    tile = series_tile(world)
    data = act("udp_klima_tile_data", id=tile["id"])  # anonymous
    assert data["latest"] == {"value": 14.5, "time": "2026-11-29T05:00:00+00:00"}
    assert data["band"] == BANDS[0]  # 14.5 <= 15: "trocken"
    assert data["step"] == "hour"
    assert len(data["points"]) == 30 and data["points"][0] == ["2026-11-28T00:00:00+00:00", 20.0]
    # the last hour against the hour 24 hours earlier (05:00 on the 28th: 22.5)
    assert data["trend"]["direction"] == "down" and data["trend"]["delta"] == pytest.approx(14.5 - 22.5)


def test_daily_values_aggregate_per_day(world):
    for agg, expected in (("mean", [20, 35, 43]), ("max", [30, 50, 45]), ("min", [10, 20, 41]), ("sum", [40, 70, 86])):
        tile = act(
            "udp_klima_tile_create",
            world["sysadmin"],
            title=f"NO2 {agg}",
            kind="daily",
            dataset="klima-probe",
            resource=world["daily"],
            value_column="no2",
            time_column="datum",
            aggregation=agg,
            unit="µg/m³",
        )
        data = act("udp_klima_tile_data", id=tile["id"])
        assert [v for _t, v in data["points"]] == expected, agg
        assert data["latest"]["value"] == expected[-1]
        assert data["points"][-1][0].startswith("2025-06-03")
    # saving the tile built a valid index on its time column (CONCURRENTLY: outside a transaction)
    from ckanext.udp.klima.logic import tiles as tile_logic

    rid = tile["resource_id"] if "resource_id" in tile else act("udp_klima_tile_show", id=tile["id"])["resource_id"]
    with tile_logic.write_engine().connect() as conn:
        valid = conn.execute(
            sa.text("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :n"),
            {"n": tile_logic.index_name(rid, "datum")},
        ).scalar_one_or_none()
    assert valid is True


def test_a_count_tile_counts_the_rows(world):
    tile = act(
        "udp_klima_tile_create", world["sysadmin"], title="Zeilen", kind="count", dataset="klima-probe", resource="Luft"
    )
    assert act("udp_klima_tile_data", id=tile["id"])["latest"]["value"] == 6


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dataset": "gibt-es-nicht"}, "dataset", "Es gibt keinen Datensatz"),
        ({"dataset": "klima-entwurf", "resource": "Tabelle"}, "dataset", "nicht veröffentlicht"),
        ({"resource": "Keine"}, "resource", "keine Ressource"),
        ({"value_column": "fehlt"}, "value_column", "keine Spalte"),
        ({"value_column": "device"}, "value_column", "Zahlen"),
        ({"time_column": "feuchte"}, "time_column", "Zeit"),
        ({"bands": [{"upto": 5, "label": "", "tone": "good"}]}, "bands", "Beschriftung"),
        (
            {"bands": [{"upto": 9, "label": "a", "tone": "good"}, {"upto": 3, "label": "b", "tone": "poor"}]},
            "bands",
            "steigen",
        ),
    ],
)
def test_a_tile_on_missing_or_hidden_data_is_refused_in_german(app, world, change, field, words):
    """Through the Action API, as a client sees it: a 409 with the field and a German message."""
    token = factories.APIToken(user=world["sysadmin"]["name"])["token"]
    data = dict(
        title="Bodenfeuchte",
        kind="series",
        dataset="klima-probe",
        resource="Messwerte",
        value_column="feuchte",
        time_column="time",
        unit="%",
        bands=BANDS,
    )
    data.update(change)
    res = app.post("/api/3/action/udp_klima_tile_create", json=data, headers={"Authorization": token})
    assert res.status_code == 409, res.body
    error = res.json["error"]
    assert field in error, error
    message = " ".join(error[field])
    assert words in message, message
    assert act("udp_klima_tile_list") == []


def test_only_sysadmins_change_tiles(world):
    tile = series_tile(world)
    editor = factories.User()
    for name, data in (
        ("udp_klima_tile_create", {"title": "x", "kind": "count", "dataset": "klima-probe", "resource": "Luft"}),
        ("udp_klima_tile_update", dict(act("udp_klima_tile_show", id=tile["id"]), resource="Luft", kind="count")),
        ("udp_klima_tile_delete", {"id": tile["id"]}),
        ("udp_klima_tile_reorder", {"order": [tile["id"]]}),
        ("udp_klima_tile_list", {"all": True}),
    ):
        for user in (None, editor):
            with pytest.raises(tk.NotAuthorized):
                act(name, user, **data)
    assert act("udp_klima_tile_show", id=tile["id"])["title"] == "Bodenfeuchte"


def test_edit_reorder_delete(world):
    first = series_tile(world)
    second = act(
        "udp_klima_tile_create", world["sysadmin"], title="Zeilen", kind="count", dataset="klima-probe", resource="Luft"
    )
    assert [t["id"] for t in act("udp_klima_tile_list")] == [first["id"], second["id"]]
    act("udp_klima_tile_reorder", world["sysadmin"], order=[second["id"], first["id"]])
    assert [t["id"] for t in act("udp_klima_tile_list")] == [second["id"], first["id"]]
    changed = dict(act("udp_klima_tile_show", id=first["id"]), resource="Messwerte", title="Neu")
    act("udp_klima_tile_update", world["sysadmin"], **changed)
    assert act("udp_klima_tile_show", id=first["id"])["title"] == "Neu"
    act("udp_klima_tile_delete", world["sysadmin"], id=second["id"])
    assert [t["id"] for t in act("udp_klima_tile_list")] == [first["id"]]


def test_a_withdrawn_dataset_takes_its_tile_off_every_channel(app, world):
    tile = series_tile(world, dataset="klima-geht")
    urls = [
        f"/klimadashboard/kachel/{tile['id']}",
        f"/klimadashboard/kachel/{tile['id']}/daten.json",
        f"/klimadashboard/kachel/{tile['id']}/daten.csv",
    ]
    for url in urls:
        assert app.get(url).status_code == 200, url
    assert "Bodenfeuchte" in app.get("/klimadashboard").body
    tk.get_action("udp_withdraw")(
        {"user": world["sysadmin"]["name"]}, {"id": world["leaving"]["id"], "reason": "Fehler"}
    )
    for url in urls:
        res = app.get(url)
        assert res.status_code == 404, url
        assert "Kachel" in res.body
    assert "Bodenfeuchte" not in app.get("/klimadashboard").body
    assert act("udp_klima_tile_list") == []
    with pytest.raises(tk.ObjectNotFound):
        act("udp_klima_tile_data", id=tile["id"])
    # the sysadmins still see it, marked as not shown
    listed = act("udp_klima_tile_list", world["sysadmin"], all=True)
    assert [t["visible"] for t in listed] == [False]


def test_pages_downloads_and_frame_headers(app, world):
    tile = series_tile(world)
    page = app.get("/klimadashboard")
    assert page.status_code == 200
    body = page.body
    # German value and time of the last value in Europe/Berlin (05:00 UTC = 06:00 CET), label beside the colour
    assert "14,5" in body and "29.11.2026, 06:00 Uhr" in body and "trocken" in body
    assert "fallend" in body
    assert page.headers["X-Frame-Options"] == "DENY"
    embed = app.get(f"/klimadashboard/kachel/{tile['id']}")
    assert "X-Frame-Options" not in embed.headers
    assert embed.headers["Content-Security-Policy"] == "frame-ancestors *"
    assert "14,5" in embed.body
    data = app.get(f"/klimadashboard/kachel/{tile['id']}/daten.json").json
    assert data["display"]["value"] == "14,5" and data["display"]["band"] == "trocken"
    # the chart's text alternative once (its label), not again as a caption
    assert data["display"]["alt"].startswith("Bodenfeuchte: letzter Wert 14,5 %")
    assert body.count(data["display"]["alt"]) == 1 and embed.body.count(data["display"]["alt"]) == 1
    rows = list(csv.reader(io.StringIO(app.get(f"/klimadashboard/kachel/{tile['id']}/daten.csv").body)))
    assert rows[0] == ["zeit", "wert"] and rows[-1] == ["2026-11-29T05:00:00+00:00", "14.5"]
    assert len(rows) == 31
    assert app.get("/klimadashboard/kachel/nicht-da").status_code == 404
    assert app.get(f"/klimadashboard/kachel/{tile['id']}/daten.xml").status_code == 404


def test_a_tile_whose_table_went_away_is_left_out_not_a_500(app, world):
    """A table deleted (or reloaded with other columns) after its tile was saved:
    the dashboard leaves the tile out, its addresses answer 404."""
    gone = table(
        world["pkg"],
        "Wegfall",
        [{"id": "time", "type": "timestamp"}, {"id": "feuchte", "type": "numeric"}],
        [{"time": T0.isoformat(), "feuchte": 9.5}],
    )
    tile = series_tile(world, title="Bald ohne Tabelle", resource="Wegfall")
    tk.get_action("datastore_delete")(system(), {"resource_id": gone, "force": True})
    page = app.get("/klimadashboard", query_string={"aktualisierung": "\u00b2"})  # "²" as refresh: ignored
    assert page.status_code == 200 and "Bald ohne Tabelle" not in page.body
    for url in (f"/klimadashboard/kachel/{tile['id']}", f"/klimadashboard/kachel/{tile['id']}/daten.json"):
        assert app.get(url).status_code == 404, url


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_read_server_down_answers_a_german_503_not_a_500(app, world, monkeypatch):
    """The DataStore's read URL on one host (a replica without the primary as fallback)
    and that server down: the dashboard, a tile, its downloads and the actions answer the
    German 503 of ``datastore_search``, never a 500; a connection lost in the middle of the
    tiles' statements too, and not as "the table went away" (a tile left out, a 404)."""
    from ckanext.udp.klima.logic import tiles as tile_logic

    tile = series_tile(world)
    pages = (
        "/klimadashboard",
        f"/klimadashboard/kachel/{tile['id']}",
        f"/klimadashboard/kachel/{tile['id']}/daten.json",
        f"/klimadashboard/kachel/{tile['id']}/daten.csv",
        "/api/3/action/udp_klima_tile_list?data=true",
        f"/api/3/action/udp_klima_tile_data?id={tile['id']}",
    )
    for url in pages:
        assert app.get(url).status_code == 200, url

    def all_503(why: str) -> None:
        for url in pages:
            answer = app.get(url)
            assert answer.status_code == 503, (why, url, answer.status_code, answer.body[:300])
            text = answer.body
            if url.startswith("/api/"):
                text = answer.json["error"]["message"]
            elif "/daten." in url:
                text = answer.json["error"]
            assert "Die Daten können gerade nicht gelesen werden" in text, (why, url, answer.body[:300])
            if "/daten." in url or url.startswith("/api/"):
                assert answer.headers["Retry-After"] == "30", (why, url)

    with monkeypatch.context() as mp:
        down = sa.engine.make_url(tk.config["ckan.datastore.read_url"]).set(host="127.0.0.1", port=_closed_port())
        mp.setitem(tk.config, "ckan.datastore.read_url", down.render_as_string(hide_password=False))
        all_503("nothing listens on the read URL")
    with monkeypatch.context() as mp:
        import psycopg2

        def lost(*_a: Any) -> Any:
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

        mp.setattr(tile_logic, "_columns_of", lost)
        all_503("the connection lost between the statements")
    assert app.get(f"/klimadashboard/kachel/{tile['id']}/daten.json").status_code == 200  # back


def test_the_admin_form_refuses_a_hidden_dataset_in_german_and_saves_a_good_tile(app, world):
    user = world["sysadmin"]
    headers = {"Authorization": factories.APIToken(user=user["name"])["token"]}
    assert app.get("/klimadashboard/verwalten").status_code == 403
    assert app.get("/klimadashboard/verwalten", headers=headers).status_code == 200
    form = {"title": "Probe", "kind": "count", "dataset": "klima-entwurf", "resource": "Tabelle", "aggregation": "mean"}
    res = app.post("/klimadashboard/verwalten/neu", data=form, headers=headers)
    assert res.status_code == 400
    assert "nicht veröffentlicht" in res.body
    res = app.post(
        "/klimadashboard/verwalten/neu",
        data=dict(form, dataset="klima-probe", resource="Luft"),
        headers=headers,
        follow_redirects=False,
    )
    assert res.status_code == 302
    assert [t["title"] for t in act("udp_klima_tile_list")] == ["Probe"]


def test_one_statement_per_kind_gives_the_numbers_of_the_queries_per_tile(world, monkeypatch):
    """The page's numbers come from one statement per kind for all its tiles (series, daily
    values, counts); they equal what the statements per tile (the fallback when a kind's
    statement fails) give, tile by tile, and a page asks the DataStore four times however
    many tiles it shows."""
    from ckanext.udp.klima.logic import tiles as tile_logic

    series_tile(world)
    series_tile(world, title="Bodenfeuchte 2", bands=[])
    for agg in ("mean", "max"):
        act(
            "udp_klima_tile_create",
            world["sysadmin"],
            title=f"NO2 {agg}",
            kind="daily",
            dataset="klima-probe",
            resource=world["daily"],
            value_column="no2",
            time_column="datum",
            aggregation=agg,
        )
    act(
        "udp_klima_tile_create", world["sysadmin"], title="Zeilen", kind="count", dataset="klima-probe", resource="Luft"
    )
    stored = tile_logic.all_tiles()
    statements: list[Any] = []
    real_columns = tile_logic._columns_of

    def counting_columns(cur: Any, ids: list[str]) -> Any:
        statements.append("columns")
        return real_columns(cur, ids)

    monkeypatch.setattr(tile_logic, "_columns_of", counting_columns)
    batched_kinds = dict(tile_logic._BATCHED)
    for kind, run_kind in batched_kinds.items():

        def counted(*a: Any, _run: Any = run_kind, _kind: str = kind) -> Any:
            statements.append(_kind)
            return _run(*a)

        monkeypatch.setitem(tile_logic._BATCHED, kind, counted)
    batched = tile_logic.numbers_of(stored)
    assert sorted(statements) == ["columns", "count", "daily", "series"]

    def failing(*_a: Any) -> Any:
        import psycopg2

        # a query's error (a table changed between the statements), not a server gone (that is a 503)
        raise psycopg2.ProgrammingError("as if the kind's statement failed")

    for kind in batched_kinds:
        monkeypatch.setitem(tile_logic._BATCHED, kind, failing)
    one_by_one = tile_logic.numbers_of(stored)
    assert set(batched) == {t["id"] for t in stored}
    for tile in stored:
        assert batched[tile["id"]] == one_by_one[tile["id"]], tile["title"]
        assert batched[tile["id"]]["value"] is not None, tile["title"]
    by_title = {t["title"]: batched[t["id"]] for t in stored}
    assert by_title["Bodenfeuchte"]["value"] == 14.5 and len(by_title["Bodenfeuchte"]["points"]) == 30
    assert [v for _t, v in by_title["NO2 max"]["points"]] == [30, 50, 45]
    assert by_title["Zeilen"]["value"] == 6


def test_numbers_are_german_as_babels_pattern_and_never_a_500():
    import random

    from babel import Locale
    from babel.numbers import parse_pattern

    from ckanext.udp.klima.views import number

    pattern, locale = parse_pattern("#,##0.##"), Locale.parse("de_DE")
    rnd = random.Random(17)
    values = [0.0, -0.0, -0.001, 0.005, 0.015, 2.675, 999.995, -1234.567, 10**14, 23.5, 0.1 + 0.2]
    values += [rnd.uniform(-(10**k), 10**k) for k in range(0, 14) for _i in range(300)]
    values += [round(rnd.uniform(-1000, 1000), 3) for _i in range(3000)]
    for v in values:
        assert number(v) == pattern.apply(v, locale), v
    assert number(1234.5) == "1.234,5" and number(None) == "–"
    assert number(1e300) == "1,000e+300"  # babel cannot round it to two places (InvalidOperation)
