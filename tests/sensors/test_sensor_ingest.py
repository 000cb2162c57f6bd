"""Batches into the real DataStore, read back through datastore_search."""

from __future__ import annotations

import datetime as dt
import json

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from uplinks import T0, chirpstack, msg, tts

from ckanext.udp.sensors import lorawan
from ckanext.udp.sensors.logic.ingest import REJECTED, process_safely
from ckanext.udp.sensors.logic.series import ensure_all


def search(resource_id: str, **kw) -> dict:
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": resource_id, "limit": 1000, **kw})


def dead_letters() -> list:
    return model.Session.execute(
        sa.text("SELECT reason, source, topic, payload FROM udp_sensor_dead_letter ORDER BY id")
    ).fetchall()


pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def test_setup_creates_three_datastore_resources_idempotently(sensor_env, ingester):
    series = ingester.series[sensor_env.soil["name"]]
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": sensor_env.soil["id"]})
    ids = {r["id"]: r for r in pkg["resources"]}
    assert {series.observations, series.latest, series.hourly} <= set(ids)
    assert all(ids[r]["datastore_active"] for r in (series.observations, series.latest, series.hourly))
    fields = [f["id"] for f in search(series.observations)["fields"]]
    assert fields == [
        "_id",
        "time",
        "device",
        "f_cnt",
        "uplink_id",
        "dev_eui",
        "bodenfeuchte",
        "bodentemperatur",
        "batterie",
        "extra",
        "rssi",
        "snr",
        "gateways",
    ]
    unit = next(f for f in search(series.observations)["fields"] if f["id"] == "bodenfeuchte")
    assert unit["info"]["notes"] == "Einheit: %"
    again = ensure_all(sensor_env.sources)[sensor_env.soil["name"]]
    assert again == series
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": sensor_env.soil["id"]})
    assert len(pkg["resources"]) == 3
    air = [f["id"] for f in search(ingester.series[sensor_env.air["name"]].observations)["fields"]]
    assert "dev_eui" not in air and "rssi" not in air and "gateways" not in air


def trigger_state(table: str) -> str:
    from ckanext.udp.datastore_sql import write_engine

    engine = write_engine()
    with engine.connect() as conn:
        state = conn.execute(
            sa.text("SELECT tgenabled FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND tgname = 'zfulltext'"),
            {"t": f'"{table}"'},
        ).scalar()
    engine.dispose()
    return state


def test_fulltext_trigger_is_off_for_observations_unless_configured(sensor_env, ingester, ckan_config, monkeypatch):
    series = ingester.series[sensor_env.soil["name"]]
    assert trigger_state(series.observations) == "D"
    assert trigger_state(series.latest) == "O"
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.observations_fulltext", True)
    ensure_all(sensor_env.sources)
    assert trigger_state(series.observations) == "O"
    ingester.process([msg(sensor_env.tts_topic(), tts(f_cnt=1, soil_moisture=1.5, status="trocken"))])
    found = tk.get_action("datastore_search")(
        {"ignore_auth": True}, {"resource_id": series.observations, "q": "trocken"}
    )
    assert found["total"] == 1


def test_batch_with_duplicates_out_of_order_and_bad_messages(sensor_env, ingester):
    e = sensor_env
    h = dt.timedelta(hours=1)
    m = dt.timedelta(minutes=10)
    batch = [
        msg(e.tts_topic(), tts(f_cnt=3, t=T0 + 2 * m, soil_moisture=30.0, soil_temperature=18.0, battery=3.6)),
        msg(e.tts_topic(), tts(f_cnt=1, t=T0, soil_moisture=20.0, soil_temperature=17.0, battery=3.6, status="ok")),
        msg(e.tts_topic(), tts(f_cnt=1, t=T0, soil_moisture=20.0, soil_temperature=17.0, battery=3.6)),  # duplicate
        msg(e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=7, t=T0 + h, soil_moisture=40.0)),
        msg(e.cs_topic(), chirpstack(f_cnt=9, t=T0, temperature=21.5, co2=612, humidity=40)),
        msg(e.tts_topic("soil-xx-99"), tts("soil-xx-99", f_cnt=1)),  # unknown device
        msg(e.tts_topic(), b'{"end_device_ids": '),  # malformed
        msg(e.cs_topic(), chirpstack(f_cnt=10).replace(b'"object"', b'"objekt"')),  # undecoded
        msg(f"v3/other-{e.tag}@x/devices/a/up", tts()),  # no source
    ]
    result = ingester.process(batch)
    assert (result.received, result.inserted, result.duplicates, len(result.dead)) == (9, 4, 1, 4)

    soil = ingester.series[e.soil["name"]]
    obs = search(soil.observations, sort="device, time")["records"]
    assert [(r["device"], r["f_cnt"], r["bodenfeuchte"]) for r in obs] == [
        ("soil-fp-01", 1, 20.0),
        ("soil-fp-01", 3, 30.0),
        ("soil-fp-02", 7, 40.0),
    ]
    assert dt.datetime.fromisoformat(obs[0]["time"]) == T0.replace(tzinfo=None) and obs[0]["extra"] == {"status": "ok"}
    assert obs[0]["dev_eui"] == "70B3D57ED0061A01" and obs[0]["rssi"] == -97

    # a late uplink (f_cnt 2, between 1 and 3) and a replay of the whole first batch
    late = [msg(e.tts_topic(), tts(f_cnt=2, t=T0 + m, soil_moisture=25.5, soil_temperature=17.5, battery=3.6))]
    result = ingester.process(late + batch[:5])
    assert (result.inserted, result.duplicates) == (1, 5)
    assert search(soil.observations)["total"] == 4

    latest = {r["device"]: r for r in search(soil.latest)["records"]}
    assert latest["soil-fp-01"]["f_cnt"] == 3 and latest["soil-fp-01"]["bodenfeuchte"] == 30.0
    assert latest["soil-fp-02"]["f_cnt"] == 7

    hourly = search(soil.hourly, sort="device, hour")["records"]
    first = hourly[0]
    assert (first["device"], dt.datetime.fromisoformat(first["hour"]), first["n"]) == (
        "soil-fp-01",
        dt.datetime(2026, 6, 15, 8),
        3,
    )
    assert float(first["bodenfeuchte_min"]) == 20.0 and float(first["bodenfeuchte_max"]) == 30.0
    assert float(first["bodenfeuchte_mean"]) == pytest.approx(25.1666, abs=1e-3)
    assert (hourly[1]["device"], dt.datetime.fromisoformat(hourly[1]["hour"]), hourly[1]["n"]) == (
        "soil-fp-02",
        dt.datetime(2026, 6, 15, 9),
        1,
    )

    air = ingester.series[e.air["name"]]
    rec = search(air.observations)["records"]
    assert [(r["device"], r["co2"], r["extra"]) for r in rec] == [("Kaiserstraße 3", 612, {"humidity": 40})]
    # hourly of a float8 and an int column: means as plain numbers (no trailing zeros)
    hour = search(air.hourly)["records"]
    assert [(r["temperatur_mean"], r["co2_mean"], r["co2_max"]) for r in hour] == [(21.5, 612, 612)]

    dead = dead_letters()
    assert [d[0] for d in dead] == [
        lorawan.UNKNOWN_DEVICE,
        lorawan.MALFORMED_JSON,
        lorawan.UNDECODED_PAYLOAD,
        lorawan.UNKNOWN_SOURCE,
    ]
    assert bytes(dead[1][3]) == b'{"end_device_ids": ' and dead[1][2] == e.tts_topic()
    assert dead[0][1] == "friedrichsplatz" and dead[3][1] is None


def test_a_value_the_database_rejects_is_isolated(sensor_env, ingester):
    e = sensor_env
    batch = [
        msg(e.tts_topic(), tts(f_cnt=i, t=T0 + dt.timedelta(minutes=i), soil_moisture=float(i))) for i in range(1, 6)
    ]
    # 1e400 is valid JSON; PostgreSQL refuses it in a numeric column ("Infinity")
    batch[2] = msg(
        e.tts_topic(), tts(f_cnt=3, soil_moisture=1).replace(b'"soil_moisture": 1', b'"soil_moisture": 1e400')
    )
    result = process_safely(ingester, batch)
    assert result.inserted == 4 and [d.reason for d in result.dead] == [REJECTED]
    assert search(ingester.series[e.soil["name"]].observations)["total"] == 4
    # the MQTT consumer's messages carry no source name: it is found from the topic
    assert [(d[0], d[1]) for d in dead_letters()] == [(REJECTED, "friedrichsplatz")]


def test_hourly_values_stay_exact_with_two_writers_on_one_dataset(sensor_env, ingester):
    """Another writer (a second consumer, the webhook) has inserted a row of the same hour and not
    committed yet: our recomputation of that hour waits for it and then counts its row."""
    import threading

    from ckanext.udp.sensors.logic.ingest import write_lock_key

    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    other = ingester.engine.connect()
    tx = other.begin()
    other.execute(
        sa.text(
            f'INSERT INTO "{soil.observations}" (time, device, f_cnt, bodenfeuchte) '
            "VALUES (:t, 'soil-fp-01', 50, 10.0)"
        ),
        {"t": T0.replace(tzinfo=None)},
    )
    other.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": write_lock_key(soil)})

    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (
            ingester.process([msg(e.tts_topic(), tts(f_cnt=1, t=T0 + dt.timedelta(minutes=5), soil_moisture=30.0))]),
            done.set(),
        )
    )
    worker.start()
    with ingester.engine.connect() as watch:  # until our writer waits for the lock (or has finished)
        for _ in range(200):
            waiting = watch.execute(
                sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar()
            if waiting or done.is_set():
                break
            done.wait(0.05)
    tx.commit()
    other.close()
    worker.join(30)
    assert done.is_set()
    hourly = search(soil.hourly)["records"]
    assert [(r["device"], r["n"], float(r["bodenfeuchte_min"]), float(r["bodenfeuchte_max"])) for r in hourly] == [
        ("soil-fp-01", 2, 10.0, 30.0)
    ]


def test_poison_messages_are_dead_letters_and_the_rest_is_stored(sensor_env, ingester):
    """The two poison messages of the audit: a time that is year 10000 in UTC (OverflowError)
    and a 5,000-digit integer (ValueError) raised out of the batch; now each is a dead letter."""
    e = sensor_env
    late = json.loads(tts(f_cnt=2))
    late["received_at"] = "9999-12-31T23:59:59-01:00"
    batch = [
        msg(e.tts_topic(), tts(f_cnt=1, soil_moisture=1.0)),
        msg(e.tts_topic(), json.dumps(late).encode()),
        msg(e.tts_topic(), tts(f_cnt=3).replace(b'"f_cnt": 3', b'"f_cnt": ' + b"9" * 5000)),
        msg(e.tts_topic(), tts(f_cnt=4, t=T0 + dt.timedelta(minutes=4), soil_moisture=4.0)),
    ]
    result = process_safely(ingester, batch)
    assert (result.inserted, [d.reason for d in result.dead]) == (2, [lorawan.INVALID_FIELD, lorawan.MALFORMED_JSON])
    assert [(d[0], d[1]) for d in dead_letters()] == [
        (lorawan.INVALID_FIELD, "friedrichsplatz"),
        (lorawan.MALFORMED_JSON, "friedrichsplatz"),
    ]


def test_any_exception_while_handling_one_message_makes_it_a_dead_letter(sensor_env, ingester, monkeypatch):
    """Not only the failures we know: whatever raises while one message is handled (here a
    bug in the row mapping for one device) dead-letters that message, the others are stored."""
    from ckanext.udp.sensors.logic import ingest

    real = ingest.row_for

    def buggy(source, columns, uplink, dev, *args):
        if uplink.device_id == "soil-fp-02":
            raise KeyError("a bug")
        return real(source, columns, uplink, dev, *args)

    monkeypatch.setattr(ingest, "row_for", buggy)
    e = sensor_env
    batch = [
        msg(e.tts_topic(), tts(f_cnt=1)),
        msg(e.tts_topic("soil-fp-02"), tts("soil-fp-02", f_cnt=1)),
        msg(e.tts_topic(), tts(f_cnt=2, t=T0 + dt.timedelta(minutes=1))),
    ]
    result = process_safely(ingester, batch)
    assert result.inserted == 2 and [d.reason for d in result.dead] == [ingest.PROCESSING_ERROR]
    assert "KeyError" in result.dead[0].detail
    # and an exception while storing (not the database refusing a value) is isolated the same way
    real_write = ingester.write

    def failing_write(dataset, rows):
        if any(r["f_cnt"] == 13 for r in rows):
            raise RuntimeError("disk on fire")
        return real_write(dataset, rows)

    monkeypatch.setattr(ingester, "write", failing_write)
    batch = [msg(e.tts_topic(), tts(f_cnt=n, t=T0 + dt.timedelta(minutes=n))) for n in (12, 13, 14)]
    result = process_safely(ingester, batch)
    assert result.inserted == 2 and [d.reason for d in result.dead] == [ingest.PROCESSING_ERROR]
    assert [(d[0], d[1]) for d in dead_letters()] == [(ingest.PROCESSING_ERROR, "friedrichsplatz")] * 2


def test_a_32_bit_frame_counter_is_stored(sensor_env, ingester):
    e = sensor_env
    result = process_safely(
        ingester,
        [
            msg(e.tts_topic(), tts(f_cnt=2**31, soil_moisture=1.0)),
            msg(e.tts_topic(), tts(f_cnt=2**32 - 1, t=T0 + dt.timedelta(minutes=1))),
        ],
    )
    assert result.inserted == 2 and not result.dead
    soil = ingester.series[e.soil["name"]]
    assert [r["f_cnt"] for r in search(soil.observations, sort="f_cnt")["records"]] == [2**31, 2**32 - 1]
    assert search(soil.latest)["records"][0]["f_cnt"] == 2**32 - 1


def test_tables_of_earlier_versions_are_upgraded_to_bigint(sensor_env, ingester):
    """Tables created before had an int4 f_cnt (and _id): the next start of the consumer (or
    `ckan udp sensors setup`) widens them; until then 2^31 was a dead letter."""
    e = sensor_env
    soil = ingester.series[e.soil["name"]]

    def types() -> dict:
        with ingester.engine.connect() as conn:
            return {
                (r[0], r[1]): r[2]
                for r in conn.execute(
                    sa.text(
                        "SELECT c.relname, a.attname, t.typname FROM pg_attribute a "
                        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid "
                        "WHERE c.relname = ANY(:t) AND a.attname IN ('f_cnt', '_id')"
                    ),
                    {"t": [soil.observations, soil.latest]},
                ).fetchall()
            }

    with ingester.engine.begin() as conn:  # as an earlier version left them
        conn.execute(
            sa.text(f'ALTER TABLE "{soil.observations}" ALTER COLUMN f_cnt TYPE int, ALTER COLUMN "_id" TYPE int')
        )
        conn.execute(sa.text(f'ALTER TABLE "{soil.latest}" ALTER COLUMN f_cnt TYPE int'))
        conn.execute(sa.text(f'DROP TRIGGER udp_sensor_version ON "{soil.observations}"'))
    process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=5, soil_moisture=1.0))])
    assert [d.reason for d in process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=2**31))]).dead] == [REJECTED]
    ensure_all(e.sources)
    t = types()
    assert (t[(soil.observations, "f_cnt")], t[(soil.observations, "_id")], t[(soil.latest, "f_cnt")]) == (
        "int8",
        "int8",
        "int8",
    )
    assert process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=2**31))]).inserted == 1
    assert [r["f_cnt"] for r in search(soil.observations, sort="f_cnt")["records"]] == [5, 2**31]
    with ingester.engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT version FROM _udp_sensor_table_version WHERE table_name = :t"), {"t": soil.observations}
            ).scalar()
            >= 1
        )


def _set_permissions_migration() -> str:
    """The block of CKAN's `ckan datastore set-permissions` that puts the full-text trigger
    on every table of the DataStore's public schema that lacks one (operators rerun it on upgrades)."""
    from importlib.resources import files

    sql = (files("ckanext.datastore") / "set_permissions.sql").read_text()
    start = sql.index("DO $body$")
    return sql[start : sql.index("$body$;", start + len("DO $body$")) + len("$body$;")]


def test_datastore_set_permissions_does_not_break_the_writes(sensor_env, ingester):
    """`ckan datastore set-permissions` after the series exist put its full-text trigger on the
    plugin's write-count table, which has no `_full_text`: every later write was rejected."""
    e = sensor_env
    assert process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=1, soil_moisture=1.0))]).inserted == 1
    with ingester.engine.begin() as conn:
        conn.exec_driver_sql(_set_permissions_migration())
    result = process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=2, soil_moisture=2.0))])
    assert result.inserted == 1 and not result.dead


def test_the_write_count_table_of_earlier_versions_is_renamed_and_repaired(sensor_env, ingester):
    """Earlier versions named it `udp_sensor_table_version`, and set-permissions may have put its
    trigger on it: the next `ensure_series` renames it, drops that trigger, keeps the counts."""
    from ckanext.udp.sensors.logic import series

    e = sensor_env
    soil = ingester.series[e.soil["name"]]
    assert process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=1, soil_moisture=1.0))]).inserted == 1
    old = series._OLD_VERSION_TABLE
    with ingester.engine.begin() as conn:  # as an earlier version and a set-permissions run left it
        before = conn.execute(
            sa.text(f"SELECT version FROM {series.VERSION_TABLE} WHERE table_name = :t"), {"t": soil.observations}
        ).scalar()
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {old}")
        conn.exec_driver_sql(f"ALTER TABLE {series.VERSION_TABLE} RENAME TO {old}")
        conn.exec_driver_sql(series._VERSION_SETUP.replace(series.VERSION_TABLE, old))
        conn.exec_driver_sql(_set_permissions_migration())
        assert (
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND tgname = 'zfulltext'"
                ),
                {"t": old},
            ).scalar()
            == 1
        )
    ensure_all(e.sources)
    result = process_safely(ingester, [msg(e.tts_topic(), tts(f_cnt=2, soil_moisture=2.0))])
    assert result.inserted == 1 and not result.dead
    with ingester.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": old}).scalar() is None
        assert (
            conn.execute(
                sa.text(f"SELECT version FROM {series.VERSION_TABLE} WHERE table_name = :t"), {"t": soil.observations}
            ).scalar()
            > before
        )
