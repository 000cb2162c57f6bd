"""The webhook endpoint and the stable CSV/JSON download URLs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from uplinks import SECRET, T0, chirpstack, msg, tts

from ckanext.udp.sensors import lorawan
from ckanext.udp.sensors.logic import runtime

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


@pytest.fixture
def configured(sensor_env, monkeypatch, ckan_config):
    monkeypatch.setenv("UDP_TEST_LUFT_SECRET", SECRET)
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.sources", str(sensor_env.path))
    runtime.reset()
    yield sensor_env
    runtime.reset()


def admin() -> dict:
    return {"Authorization": factories.SysadminWithToken()["token"]}


def post(app, source, body, secret=SECRET, query=""):
    return app.post(
        f"/api/udp/sensors/{source}/uplink{query}",
        data=body,
        headers={"X-Udp-Webhook-Secret": secret, "Content-Type": "application/json"},
    )


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
    rows = model.Session.execute(
        sa.text("SELECT reason, source, payload FROM udp_sensor_dead_letter ORDER BY id")
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(lorawan.MALFORMED_JSON, "luft"), (lorawan.UNKNOWN_DEVICE, "luft")]
    assert bytes(rows[0][2]) == b"{broken"


@pytest.fixture
def filled(configured):
    ing = runtime.ingester()
    e = configured
    batch = [
        msg(e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(hours=i), soil_moisture=10.0 + i, status="ok"))
        for i in range(6)
    ]
    batch.append(
        msg(e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=1, t=T0 + dt.timedelta(hours=2), soil_moisture=50.0))
    )
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
    # the whole series: logged in (anonymous downloads are limited, see test_anonymous_downloads_...)
    assert app.get(url, headers=admin()).body.count("\r\n") == 8  # header + 7 rows


def test_json_download_and_device_filter(app, filled):
    url = f"/dataset/{filled.soil['name']}/sensors/observations.json"
    res = app.get(url, query_string={"device": "soil-fp-02", "from": "2026-06-15"})
    assert res.status_code == 200
    doc = json.loads(res.body)
    assert [r["f_cnt"] for r in doc["records"]] == [1]
    assert doc["records"][0]["time"] == "2026-06-15T10:00:00Z"
    assert "bodenfeuchte" in [f["id"] for f in doc["fields"]]
    # the same columns and type names as the DataStore API reports
    stock = obs(filled, "soil")["fields"]
    assert doc["fields"] == [{"id": f["id"], "type": f["type"]} for f in stock if f["id"] != "_id"]
    june = {"from": "2026-06-15", "to": "2026-06-16"}
    hourly = json.loads(app.get(f"/dataset/{filled.soil['name']}/sensors/hourly.json", query_string=june).body)
    assert len(hourly["records"]) == 7 and hourly["records"][0]["bodenfeuchte_mean"] == 10.0
    rows = list(
        csv.DictReader(
            io.StringIO(app.get(f"/dataset/{filled.soil['name']}/sensors/hourly.csv", query_string=june).body)
        )
    )
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
    ing.process([msg(filled.tts_topic(), tts(f_cnt=99, t=T0 + dt.timedelta(days=2), soil_moisture=1.5, status=tricky))])
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
    tk.get_action("udp_withdraw")(
        {"user": site_user, "ignore_auth": True}, {"id": filled.soil["id"], "reason": "Sensor falsch kalibriert"}
    )
    base = f"/dataset/{filled.soil['name']}/sensors/observations"
    for fmt in ("csv", "json"):
        res = app.get(f"{base}.{fmt}")
        assert res.status_code in (403, 404) and not res.body.lstrip().startswith("<"), res.body[:200]
        assert app.get(
            f"{base}.{fmt}", headers={"Authorization": factories.APIToken(user=user["name"])["token"]}
        ).status_code in (403, 404)
        # no 304 (nor the version behind it) for those who may not see the series
        assert app.get(f"{base}.{fmt}", headers={"If-None-Match": "*"}).status_code in (403, 404)
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
        running = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT generate_series(1, 500000000)%'"
            )
        ).scalar()
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
    assert res.status_code == 503 and res.headers["Content-Type"].startswith("text/plain")
    assert "Zeitreihe" in res.body or "series" in res.body
    res = app.get(f"/dataset/{filled.soil['name']}/sensors/observations.json")
    assert res.status_code == 503 and ("Zeitreihe" in res.json["error"] or "series" in res.json["error"])


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


# --- issue 11 / 14: no 500s, errors in the format asked for, limits, cursor, validators ---


def test_webhook_answers_poison_payloads_with_a_clear_4xx(app, configured):
    """A time beyond year 9999 in UTC (OverflowError) and a 5,000-digit number (ValueError)
    used to answer 500; they are dead letters like any other broken uplink."""
    doc = json.loads(chirpstack(f_cnt=3))
    doc["time"] = "9999-12-31T23:59:59-01:00"
    res = post(app, "luft", json.dumps(doc).encode())
    assert res.status_code == 422 and res.json["reason"] == lorawan.INVALID_FIELD, res.body
    res = post(app, "luft", chirpstack(f_cnt=4).replace(b'"fCnt": 4', b'"fCnt": ' + b"7" * 5000))
    assert res.status_code == 422 and res.json["reason"] == lorawan.MALFORMED_JSON, res.body
    reasons = model.Session.execute(sa.text("SELECT reason, source FROM udp_sensor_dead_letter ORDER BY id")).fetchall()
    assert [tuple(r) for r in reasons] == [(lorawan.INVALID_FIELD, "luft"), (lorawan.MALFORMED_JSON, "luft")]
    assert post(app, "luft", chirpstack(f_cnt=5, temperature=20.0, co2=500)).status_code == 200


def _is_format(res, fmt: str) -> bool:
    if fmt == "json":
        return res.headers["Content-Type"].startswith("application/json") and isinstance(res.json["error"], str)
    return res.headers["Content-Type"].startswith("text/plain") and not res.body.lstrip().startswith("<")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_download_errors_answer_in_the_format_asked_for(app, filled, fmt):
    base = f"/dataset/{filled.soil['name']}/sensors"
    for args in (
        {"from": "0001-01-01T00:00:00+01:00"},
        {"from": "9999-12-31T23:59:59-01:00"},
        {"to": "9999-12-31T23:59:59-01:00"},
        {"from": "gestern"},
        {"from": "2026-06-16", "to": "2026-06-15T23:00:00Z"},  # to before from
        {"after": "kein-cursor"},
        {"after": "dWRwMTotMQ"},  # not a token; udp1:-1
        {"limit": "5"},
        {"device": "a\x00b"},
    ):
        res = app.get(f"{base}/observations.{fmt}", query_string=args)
        assert res.status_code == 400, (args, res.status_code, res.body[:300])
        assert _is_format(res, fmt), (args, res.headers["Content-Type"], res.body[:300])
        if fmt == "json":
            assert set(res.json["fields"]) <= {"from", "to", "after", "limit", "device"}
    res = app.get(f"{base}/hourly.{fmt}", query_string={"after": "dWRwMTow"})  # udp1:0, observations only
    assert res.status_code == 400 and _is_format(res, fmt)
    for url in (f"{base}/nothing.{fmt}", f"/dataset/does-not-exist/sensors/observations.{fmt}"):
        res = app.get(url)
        assert res.status_code == 404 and _is_format(res, fmt), (url, res.body[:300])
    res = app.get(f"{base}/observations.xml")
    assert res.status_code == 404 and _is_format(res, "csv")
    # from == to: an empty answer, not an error
    empty = app.get(f"{base}/observations.{fmt}", query_string={"from": "2026-06-15", "to": "2026-06-15"})
    assert empty.status_code == 200


def test_anonymous_downloads_are_limited_to_a_time_range(app, configured, ckan_config, monkeypatch):
    """Without login a download covers at most download_max_days (31): without from/to the last
    31 days, never the whole table."""
    e = configured
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=2)
    assert (
        runtime.ingester()
        .process(
            [
                msg(e.tts_topic(), tts(f_cnt=1, t=old, soil_moisture=1.0)),
                msg(e.tts_topic(), tts(f_cnt=2, t=recent, soil_moisture=2.0)),
            ]
        )
        .inserted
        == 2
    )
    base = f"/dataset/{e.soil['name']}/sensors"

    def f_cnts(path: str, **kw) -> list[str]:
        res = app.get(f"{base}/{path}", **kw)
        assert res.status_code == 200, res.body
        return [r["f_cnt"] for r in csv.DictReader(io.StringIO(res.body))]

    assert f_cnts("observations.csv") == ["2"]
    day = dt.timedelta(days=1)
    assert f_cnts("observations.csv", query_string={"from": (old - day).isoformat()}) == ["1"]  # from + 31 days
    assert f_cnts("observations.csv", query_string={"to": (old + day).isoformat()}) == ["1"]  # to - 31 days
    res = app.get(f"{base}/observations.csv", query_string={"from": (old - day).isoformat(), "to": now.isoformat()})
    assert res.status_code == 400 and "31" in res.body
    # the window stays inside the calendar at its ends
    assert f_cnts("observations.csv", query_string={"to": "0001-01-02"}) == []
    assert f_cnts("observations.csv", query_string={"from": "9999-12-30"}) == []
    # hourly values: a year; latest: one row per device, no limit
    assert len(list(csv.DictReader(io.StringIO(app.get(f"{base}/hourly.csv").body)))) == 2
    assert f_cnts("latest.csv") == ["2"]
    # logged in: the whole series
    assert f_cnts("observations.csv", headers=admin()) == ["1", "2"]
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.download_max_days", 0)
    assert f_cnts("observations.csv") == ["1", "2"]


def test_a_download_that_takes_too_long_is_cut_off(app, filled, ckan_config, monkeypatch):
    """Each download runs with a statement_timeout (download_timeout): 200,000 rows cannot be
    read in a millisecond, so the query is cancelled and the client gets a clear 503."""
    series = runtime.ingester().series[filled.soil["name"]]
    with runtime.ingester().engine.begin() as conn:
        conn.execute(
            sa.text(
                f'INSERT INTO "{series.observations}" (time, device, f_cnt) '
                "SELECT timestamp '2026-06-20' + i * interval '1 second', 'soil-fp-01', 1000 + i "
                "FROM generate_series(1, 200000) i"
            )
        )
    url = f"/dataset/{filled.soil['name']}/sensors/observations.csv"
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.download_timeout", 0.001)
    res = app.get(url, headers=admin())
    assert res.status_code == 503 and _is_format(res, "csv"), res.body[:200]
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.download_timeout", 60.0)
    assert app.get(url, headers=admin()).body.count("\r\n") == 200_000 + 8


def test_a_huge_valid_uplink_keeps_the_csv_readable(app, configured):
    """A valid uplink of 1 MB: its extra fields are cut (with a marker), so every CSV field stays
    below the 131,072 characters Python's csv module accepts by default."""
    e = configured
    big = tts(f_cnt=1, t=T0, soil_moisture=12.5, note="x" * 1_000_000, status="ok")
    assert len(big) > 1_000_000
    assert runtime.ingester().process([msg(e.tts_topic(), big)]).inserted == 1
    body = app.get(
        f"/dataset/{e.soil['name']}/sensors/observations.csv", query_string={"from": "2026-06-15", "to": "2026-06-16"}
    ).body
    rows = list(csv.DictReader(io.StringIO(body, newline="")))  # csv.field_size_limit() untouched
    assert len(rows) == 1 and rows[0]["bodenfeuchte"] == "12.5"
    extra = json.loads(rows[0]["extra"])
    assert extra["status"] == "ok" and extra["_truncated"]["dropped"] == ["note"]
    assert len(body) < 10_000


def test_polling_by_arrival_cursor_never_misses_a_late_uplink(app, configured):
    """A client that polls by measurement time (from=<newest time seen>) misses an uplink that
    arrives late; the arrival cursor (after=<token>) returns it."""
    e = configured
    ing = runtime.ingester()
    h = dt.timedelta(hours=1)
    ing.process([msg(e.tts_topic(), tts(f_cnt=i, t=T0 + i * h, soil_moisture=float(i))) for i in (1, 2, 3)])
    url = f"/dataset/{e.soil['name']}/sensors/observations.json"
    first = app.get(url, query_string={"from": "2026-06-15"})
    doc = json.loads(first.body)
    assert [r["f_cnt"] for r in doc["records"]] == [1, 2, 3]
    newest_seen = doc["records"][-1]["time"]
    token = doc["next_after"]
    assert first.headers["X-Udp-Next-After"] == token and "after=" in first.headers["Link"]
    # f_cnt 4 was measured at 01:30 but reaches the portal only now (a gateway's backlog), with f_cnt 5
    ing.process(
        [
            msg(e.tts_topic(), tts(f_cnt=4, t=T0 + 1.5 * h, soil_moisture=4.0)),
            msg(e.tts_topic(), tts(f_cnt=5, t=T0 + 4 * h, soil_moisture=5.0)),
        ]
    )
    by_time = json.loads(app.get(url, query_string={"from": newest_seen}).body)["records"]
    assert [r["f_cnt"] for r in by_time if r["time"] > newest_seen] == [5]  # 4 is missed
    page = json.loads(app.get(url, query_string={"after": token}).body)
    assert [r["f_cnt"] for r in page["records"]] == [4, 5]  # in arrival order
    # nothing new: an empty page with the same position
    again = json.loads(app.get(url, query_string={"after": page["next_after"]}).body)
    assert again["records"] == [] and again["next_after"] == page["next_after"]
    # pages of at most `limit` rows, CSV too (the token in the header)
    csv_url = f"/dataset/{e.soil['name']}/sensors/observations.csv"
    one = app.get(csv_url, query_string={"after": token, "limit": 1})
    assert [r["f_cnt"] for r in csv.DictReader(io.StringIO(one.body))] == ["4"]
    two = app.get(csv_url, query_string={"after": one.headers["X-Udp-Next-After"], "limit": 1})
    assert [r["f_cnt"] for r in csv.DictReader(io.StringIO(two.body))] == ["5"]


def test_downloads_answer_304_until_the_series_changes(app, filled):
    e = filled
    url = f"/dataset/{e.soil['name']}/sensors/observations.csv"
    june = {"from": "2026-06-15", "to": "2026-06-16"}
    # (the test client reads each body: a streamed response holds its request context until read)
    first = app.get(url, query_string=june)
    etag = first.headers["ETag"]
    assert first.body.count("\r\n") == 8
    res = app.get(url, query_string=june, headers={"If-None-Match": etag})
    assert res.status_code == 304 and res.body == ""
    for u, q in ((url, {**june, "device": "soil-fp-02"}), (url.replace(".csv", ".json"), june)):
        other = app.get(u, query_string=q)
        assert other.body and other.headers["ETag"] != etag
    # the last write was a minute ago: Last-Modified, and If-Modified-Since answers 304
    series = runtime.ingester().series[e.soil["name"]]
    with runtime.ingester().engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE _udp_sensor_table_version SET modified = modified - interval '1 minute' WHERE table_name = :t"
            ),
            {"t": series.observations},
        )
    res = app.get(url, query_string=june)
    last = res.headers["Last-Modified"]
    assert res.status_code == 200 and res.headers["ETag"] == etag and res.body
    assert app.get(url, query_string=june, headers={"If-Modified-Since": last}).status_code == 304
    # a new uplink (any write to the table) changes both
    runtime.ingester().process([msg(e.tts_topic(), tts(f_cnt=40, t=T0 + dt.timedelta(minutes=7)))])
    res = app.get(url, query_string=june, headers={"If-None-Match": etag})
    assert res.status_code == 200 and res.headers["ETag"] != etag and "\r\n" in res.body
    assert app.get(url, query_string=june, headers={"If-Modified-Since": last}).body
    # a write through the DataStore API counts as well (statement trigger)
    etag = res.headers["ETag"]
    tk.get_action("datastore_delete")(
        {"ignore_auth": True}, {"resource_id": series.observations, "force": True, "filters": {"f_cnt": 40}}
    )
    assert app.get(url, query_string=june, headers={"If-None-Match": etag}).body.count("\r\n") == 8


def test_head_request_starts_no_query(app, filled):
    url = f"/dataset/{filled.soil['name']}/sensors/observations.csv"
    res = app.test_client().head(url, query_string={"from": "2026-06-15"})
    assert res.status_code == 200 and res.headers["ETag"] and res.body == ""
    with runtime.read_engine().connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%' AND state <> 'idle'")
            ).scalar()
            == 0
        )


def test_without_the_write_count_a_download_has_no_validators(app, filled):
    """A read-only user who may not read the write counts (a hand-made installation) still gets
    the data, only without ETag/Last-Modified, and never a 304 from a stale validator."""
    from sqlalchemy.engine import make_url

    reader = make_url(tk.config["ckan.datastore.read_url"]).username
    url = f"/dataset/{filled.soil['name']}/sensors/observations.csv"
    june = {"from": "2026-06-15", "to": "2026-06-16"}
    first = app.get(url, query_string=june)
    etag = first.headers["ETag"]
    assert first.body  # (read: a streamed response holds its request context until then)
    engine = runtime.ingester().engine
    with engine.begin() as conn:
        conn.execute(sa.text(f'REVOKE SELECT ON _udp_sensor_table_version FROM "{reader}"'))
    try:
        res = app.get(url, query_string=june, headers={"If-None-Match": etag})
        assert res.status_code == 200 and "ETag" not in res.headers and res.body.count("\r\n") == 8
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'GRANT SELECT ON _udp_sensor_table_version TO "{reader}"'))
