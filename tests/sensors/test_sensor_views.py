"""The webhook endpoint and the stable CSV/JSON download URLs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.tests import factories

from ckanext.udp.harvesters import lorawan
from ckanext.udp.sensors.logic import runtime

from uplinks import SECRET, T0, chirpstack, msg, tts

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


@pytest.fixture
def configured(sensor_env, monkeypatch, ckan_config):
    monkeypatch.setenv("UDP_TEST_LUFT_SECRET", SECRET)
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.sources", str(sensor_env.path))
    runtime.reset()
    yield sensor_env
    runtime.reset()


def post(app, source, body, secret=SECRET, query=""):
    return app.post(f"/api/udp/sensors/{source}/uplink{query}", data=body,
                    headers={"X-Udp-Webhook-Secret": secret, "Content-Type": "application/json"})


def obs(env, name="air"):
    series = runtime.ingester().series[getattr(env, name)["name"]]
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": series.observations})


def test_webhook_stores_a_chirpstack_uplink_once(app, configured):
    body = chirpstack(f_cnt=3, temperature=20.5, co2=700)
    res = post(app, "luft", body, query="?event=up")
    assert res.status_code == 200, res.body
    assert res.json == {"stored": 1, "duplicate": False}
    res = post(app, "luft", body, query="?event=up")
    assert res.json == {"stored": 0, "duplicate": True}
    result = obs(configured)
    assert result["total"] == 1 and result["records"][0]["co2"] == 700


def test_webhook_refuses_wrong_or_missing_secret_and_unknown_source(app, configured):
    body = chirpstack()
    assert post(app, "luft", body, secret="x" * len(SECRET)).status_code == 403
    assert post(app, "luft", body, secret="").status_code == 403
    assert post(app, "nope", body).status_code == 403
    # friedrichsplatz has no webhook secret configured: its webhook is off
    assert post(app, "friedrichsplatz", tts(), secret="").status_code == 403
    assert obs(configured)["total"] == 0


def test_webhook_dead_letters_bad_input_and_ignores_other_events(app, configured):
    res = post(app, "luft", b"{broken")
    assert res.status_code == 422 and res.json["reason"] == lorawan.MALFORMED_JSON
    res = post(app, "luft", chirpstack("1111111111111111"))
    assert res.status_code == 422 and res.json["reason"] == lorawan.UNKNOWN_DEVICE
    assert post(app, "luft", b'{"deviceInfo": {}}', query="?event=join").status_code == 204
    assert post(app, "luft", b"x" * (70 * 1024)).status_code == 413
    rows = model.Session.execute(sa.text("SELECT reason, source, payload FROM udp_sensor_dead_letter ORDER BY id")).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(lorawan.MALFORMED_JSON, "luft"), (lorawan.UNKNOWN_DEVICE, "luft")]
    assert bytes(rows[0][2]) == b"{broken"


@pytest.fixture
def filled(configured):
    ing = runtime.ingester()
    e = configured
    batch = [msg(e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(hours=i), soil_moisture=10.0 + i, status="ok"))
             for i in range(6)]
    batch.append(msg(e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=1, t=T0 + dt.timedelta(hours=2),
                                                     soil_moisture=50.0)))
    assert ing.process(batch).inserted == 7
    return e


def test_csv_download_with_time_range(app, filled):
    url = f"/dataset/{filled.soil['name']}/sensors/observations.csv"
    res = app.get(url, query_string={"from": "2026-06-15T09:00:00Z", "to": "2026-06-15T12:00:00+01:00"})
    assert res.status_code == 200
    assert res.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(res.body)))
    # 09:00 <= time < 11:00 UTC
    assert [(r["device"], r["f_cnt"], r["time"]) for r in rows] == [
        ("soil-fp-01", "1", "2026-06-15T09:00:00Z"),
        ("soil-fp-01", "2", "2026-06-15T10:00:00Z"),
        ("soil-fp-02", "1", "2026-06-15T10:00:00Z"),
    ]
    assert rows[0]["bodenfeuchte"] == "11.0" and json.loads(rows[0]["extra"]) == {"status": "ok"}
    assert app.get(url).body.count("\r\n") == 8  # header + 7 rows


def test_json_download_and_device_filter(app, filled):
    url = f"/dataset/{filled.soil['name']}/sensors/observations.json"
    res = app.get(url, query_string={"device": "soil-fp-02"})
    assert res.status_code == 200
    doc = json.loads(res.body)
    assert [r["f_cnt"] for r in doc["records"]] == [1]
    assert doc["records"][0]["time"] == "2026-06-15T10:00:00Z"
    assert "bodenfeuchte" in [f["id"] for f in doc["fields"]]
    # the same columns and type names as the DataStore API reports
    stock = obs(filled, "soil")["fields"]
    assert doc["fields"] == [{"id": f["id"], "type": f["type"]} for f in stock if f["id"] != "_id"]
    hourly = json.loads(app.get(f"/dataset/{filled.soil['name']}/sensors/hourly.json").body)
    assert len(hourly["records"]) == 7 and hourly["records"][0]["bodenfeuchte_mean"] == 10.0
    rows = list(csv.DictReader(io.StringIO(app.get(f"/dataset/{filled.soil['name']}/sensors/hourly.csv").body)))
    assert (rows[0]["bodenfeuchte_min"], rows[0]["bodenfeuchte_mean"]) == ("10.0", "10")  # no 10.0000000000000000


def test_download_errors(app, filled):
    base = f"/dataset/{filled.soil['name']}/sensors"
    assert app.get(f"{base}/observations.csv", query_string={"from": "gestern"}).status_code == 400
    assert app.get(f"{base}/nothing.csv").status_code == 404
    assert app.get(f"{base}/observations.xml").status_code == 404
    assert app.get("/dataset/does-not-exist/sensors/observations.csv").status_code == 404


def test_downloads_keep_quotes_backslashes_and_newlines(app, filled):
    """PostgreSQL formats the CSV and the JSON (COPY): awkward characters survive both."""
    tricky = 'a "b", c\\d\nzweite Zeile; ä€\t'
    ing = runtime.ingester()
    ing.process([msg(filled.tts_topic(), tts(f_cnt=99, t=T0 + dt.timedelta(days=2), soil_moisture=1.5,
                                             status=tricky))])
    base = f"/dataset/{filled.soil['name']}/sensors/observations"
    q = {"from": "2026-06-17", "to": "2026-06-18"}
    rows = list(csv.DictReader(io.StringIO(app.get(base + ".csv", query_string=q).body, newline="")))
    assert len(rows) == 1 and json.loads(rows[0]["extra"]) == {"status": tricky}
    assert rows[0]["time"] == "2026-06-17T08:00:00Z" and rows[0]["bodenfeuchte"] == "1.5"
    doc = json.loads(app.get(base + ".json", query_string=q).body)
    assert [r["extra"] for r in doc["records"]] == [{"status": tricky}]
    assert doc["records"][0]["bodenfeuchte"] == 1.5 and doc["records"][0]["time"] == "2026-06-17T08:00:00Z"
    # an empty range is an empty but well-formed answer
    empty = {"from": "2020-01-01", "to": "2020-01-02"}
    assert json.loads(app.get(base + ".json", query_string=empty).body)["records"] == []
    assert app.get(base + ".csv", query_string=empty).body.count("\r\n") == 1  # the header


def test_download_of_a_private_dataset_needs_permission(app, filled):
    user = factories.User()
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    # withdrawn (taken offline by governance): only its organization and sysadmins see it
    tk.get_action("udp_withdraw")({"user": site_user, "ignore_auth": True},
                                  {"id": filled.soil["id"], "reason": "Sensor falsch kalibriert"})
    base = f"/dataset/{filled.soil['name']}/sensors/observations"
    for fmt in ("csv", "json"):
        assert app.get(f"{base}.{fmt}").status_code in (403, 404)
        assert app.get(f"{base}.{fmt}", headers={"Authorization": factories.APIToken(user=user["name"])["token"]}
                       ).status_code in (403, 404)
    sysadmin = factories.SysadminWithToken()
    res = app.get(f"{base}.csv", headers={"Authorization": sysadmin["token"]})
    assert res.status_code == 200 and res.body.count("\r\n") == 8


def test_export_stream_closed_early_cancels_and_returns_the_connection(filled):
    """A client that disconnects mid-download: the query is cancelled, the connection goes back."""
    from ckanext.udp.sensors.logic import export

    engine = runtime.read_engine()
    series = runtime.ingester().series[filled.soil["name"]]
    # minutes of output if the cancel did not reach PostgreSQL
    big = "SELECT generate_series(1, 500000000) AS i, repeat('x', 200) AS pad"
    body = export.stream(engine, export.copy_sql(big, "csv"), "csv")
    first = next(body)
    assert first.startswith(b"i,pad\r\n1,")
    body.close()
    with engine.connect() as conn:  # the pool still works, nothing left running
        running = conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT generate_series(1, 500000000)%'")).scalar()
        assert running == 0
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{series.observations}"')).scalar() == 7


def test_export_fails_before_the_first_byte_when_the_query_fails(filled):
    """An error at once (here: division by zero) is raised by stream() itself, so the
    view can still answer with an error status instead of a truncated 200."""
    import psycopg2

    from ckanext.udp.sensors.logic import export

    engine = runtime.read_engine()
    with pytest.raises(psycopg2.errors.DivisionByZero):
        export.stream(engine, export.copy_sql("SELECT 1 / 0 AS x", "csv"), "csv")
    assert b"".join(export.stream(engine, export.copy_sql("SELECT 1 AS x", "csv"), "csv")) == b"x\r\n1\r\n"


def test_download_with_the_database_unreachable_is_a_clear_503(app, filled, monkeypatch):
    down = sa.create_engine("postgresql://nobody:x@127.0.0.1:1/none", pool_pre_ping=False)
    monkeypatch.setitem(runtime._state, "read_engine", down)
    res = app.get(f"/dataset/{filled.soil['name']}/sensors/observations.csv")
    assert res.status_code == 503
    assert "Zeitreihe" in res.json["error"] or "series" in res.json["error"]


def test_export_many_rows_across_chunks_is_valid_csv_and_json(filled):
    from ckanext.udp.sensors.logic import export

    engine = runtime.read_engine()
    sql = "SELECT generate_series(1, 20000) AS i, 'Zeile \"' || generate_series(1, 20000) || E'\"\\n' AS s"
    chunks = list(export.stream(engine, export.copy_sql(sql, "json"), "json", head=b'{"records": [', tail=b"]}"))
    assert len(chunks) > 3  # several 64 KiB chunks
    records = json.loads(b"".join(chunks))["records"]
    assert len(records) == 20000 and records[-1] == {"i": 20000, "s": 'Zeile "20000"\n'}
    body = b"".join(export.stream(engine, export.copy_sql(sql, "csv"), "csv")).decode()
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0] == ["i", "s"] and len(rows) == 20001 and rows[-1] == ["20000", 'Zeile "20000"\n']
