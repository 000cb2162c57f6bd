"""``ckan udp sensors setup`` and ``dead-letters``."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
import yaml
from ckan.cli.cli import ckan as ckan_cli
from uplinks import msg, tts

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def test_setup_creates_the_series(cli, sensor_env):
    result = cli.invoke(ckan_cli, ["udp", "sensors", "setup", "--sources", str(sensor_env.path)])
    assert result.exit_code == 0, result.output
    assert f"{sensor_env.soil['name']}: observations " in result.output
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": sensor_env.soil["id"]})
    assert len([r for r in pkg["resources"] if r["datastore_active"]]) == 3


def test_setup_refuses_a_broken_file_and_missing_datasets(cli, sensor_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - name: X\n    flavour: ttn\n")
    result = cli.invoke(ckan_cli, ["udp", "sensors", "setup", "--sources", str(bad)])
    assert result.exit_code != 0
    assert "flavour must be one of" in result.output and "lower-case slug" in result.output
    missing = tmp_path / "missing.yaml"
    missing.write_text(sensor_env.path.read_text().replace(sensor_env.soil["name"], "gibt-es-nicht"))
    result = cli.invoke(ckan_cli, ["udp", "sensors", "setup", "--sources", str(missing)])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_dead_letters_lists_the_newest(cli, sensor_env, ingester):
    ingester.process([msg(sensor_env.tts_topic("soil-zz-01"), tts("soil-zz-01"))])
    result = cli.invoke(ckan_cli, ["udp", "sensors", "dead-letters"])
    assert result.exit_code == 0, result.output
    assert "unknown_device" in result.output and "soil-zz-01" in result.output


def test_demo_uplinks_are_valid_deterministic_and_repeat_exactly():
    """The demo publisher of `make run`: parseable TTS uplinks, one per device and quarter hour;
    a later run repeats the earlier ones byte for byte (so the consumer drops them as duplicates)."""
    import datetime as dt

    from ckanext.udp.sensors import lorawan
    from ckanext.udp.sensors.logic import demo

    now = dt.datetime(2026, 11, 26, 12, 7, tzinfo=dt.timezone.utc)
    first = list(demo.uplinks(["soil-fp-01", "soil-fp-02"], "bodenfeuchte", "karlsruhe", 1, now))
    assert len(first) == 2 * 97  # 24 h in quarter hours, both ends included
    ups = [lorawan.parse("tts", topic, payload) for topic, payload in first]
    assert len({(u.device_id, u.f_cnt) for u in ups}) == len(ups)  # one key per uplink
    assert ups[-1].time == dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
    assert all(set(u.values) == {"soil_moisture", "soil_temperature", "battery"} for u in ups)
    later = list(
        demo.uplinks(["soil-fp-01", "soil-fp-02"], "bodenfeuchte", "karlsruhe", 1, now + dt.timedelta(hours=1))
    )
    assert set(first) & set(later) == set(first[8:])  # the first two hours drop out, the rest repeats


def _dead() -> list[tuple]:
    import ckan.model as model
    import sqlalchemy as sa

    model.Session.remove()
    return [
        tuple(r)
        for r in model.Session.execute(
            sa.text("SELECT reason, source FROM udp_sensor_dead_letter ORDER BY id")
        ).fetchall()
    ]


def test_dead_letters_replay_after_a_configuration_fix(cli, sensor_env, ingester):
    """Uplinks of a device nobody had mapped yet are dead letters; once the sources file maps
    it, `dead-letters replay` stores them and removes them from the dead letters. What still
    fails stays, with its reason."""
    import datetime as dt

    from uplinks import T0

    e = sensor_env
    ingester.process(
        [msg(e.tts_topic("soil-fp-03"), tts("soil-fp-03", f_cnt=i, t=T0 + dt.timedelta(minutes=i))) for i in (1, 2)]
        + [msg(e.tts_topic(), b"{kaputt")]
    )
    assert _dead() == [("unknown_device", "friedrichsplatz")] * 2 + [("malformed_json", "friedrichsplatz")]
    fixed = e.path.parent / "fixed.yaml"
    doc = yaml.safe_load(e.path.read_text())
    doc["sources"][0]["devices"].append({"id": "soil-fp-03", "dataset": e.soil["name"]})
    fixed.write_text(yaml.safe_dump(doc))
    args = ["udp", "sensors", "dead-letters", "replay", "--sources", str(fixed)]
    dry = cli.invoke(ckan_cli, args + ["--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "replayed 3 dead letters: 2 would be stored" in dry.output and len(_dead()) == 3
    result = cli.invoke(ckan_cli, args)
    assert result.exit_code == 0, result.output
    assert "replayed 3 dead letters: 2 stored, 0 already stored; still dead: 1 malformed_json" in result.output
    assert _dead() == [("malformed_json", "friedrichsplatz")]
    soil = ingester.series[e.soil["name"]]
    found = tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": soil.observations})
    assert sorted((r["device"], r["f_cnt"]) for r in found["records"]) == [("soil-fp-03", 1), ("soil-fp-03", 2)]
    # replaying again finds nothing new to store
    again = cli.invoke(ckan_cli, args + ["--reason", "malformed_json"])
    assert "replayed 1 dead letters: 0 stored" in again.output


def test_dead_letters_are_pruned_by_age_and_count(cli, sensor_env, ingester):
    import ckan.model as model
    import sqlalchemy as sa

    ingester.process([msg(sensor_env.tts_topic("soil-zz-01"), tts("soil-zz-01", f_cnt=i)) for i in range(5)])
    model.Session.execute(
        sa.text(
            "UPDATE udp_sensor_dead_letter SET received_at = now() - interval '40 days' "
            "WHERE id = (SELECT min(id) FROM udp_sensor_dead_letter)"
        )
    )
    model.Session.commit()
    result = cli.invoke(ckan_cli, ["udp", "sensors", "dead-letters", "prune"])  # 30 days by default
    assert result.exit_code == 0 and "deleted 1 dead letters" in result.output, result.output
    assert len(_dead()) == 4
    result = cli.invoke(ckan_cli, ["udp", "sensors", "dead-letters", "prune", "--max-rows", "2"])
    assert "deleted 2 dead letters" in result.output and len(_dead()) == 2
    summary = cli.invoke(ckan_cli, ["udp", "sensors", "dead-letters", "list", "--summary"])
    assert "unknown_device" in summary.output and "friedrichsplatz" in summary.output


def test_demo_publish_sends_only_what_is_missing_and_waits_for_the_consumer(
    cli, sensor_env, ingester, ckan_config, monkeypatch
):
    """`make run` publishes the demo uplinks the series lacks (not all 772 every time) and fails
    when no consumer stores them."""
    from uplinks import consuming

    from ckanext.udp.sensors.logic import runtime

    e = sensor_env
    monkeypatch.setitem(ckan_config, "ckanext.udp.sensors.sources", str(e.path))
    runtime.reset()
    args = ["udp", "sensors", "demo-publish", "--days", "0.25"]
    # no consumer: the uplinks wait in the broker, the command gives up with an error
    lonely = cli.invoke(ckan_cli, args + ["--wait", "2"])
    assert lonely.exit_code != 0 and "has not stored" in lonely.output, lonely.output
    try:
        with consuming(ingester, f"test-demo-{e.tag}", batch_size=100) as (consumer, _):
            first = cli.invoke(ckan_cli, args)
            assert first.exit_code == 0, first.output
            assert "published 50 of 50 demo uplinks" in first.output and "stored all 50" in first.output
            received = consumer.totals.received
            second = cli.invoke(ckan_cli, args)
            assert second.exit_code == 0, second.output
            assert "published 0 of 50 demo uplinks" in second.output and "(50 already stored)" in second.output
            assert consumer.totals.received == received  # nothing sent again
    finally:
        runtime.reset()


def test_pseudonyms_rename_moves_stored_series_to_the_keyed_names(cli, sensor_env, ingester):
    """Series stored under the unkeyed SHA-256 pseudonyms of earlier versions move to the HMAC
    names (observations renamed, latest and hourly values recomputed)."""
    import datetime as dt

    import sqlalchemy as sa
    from uplinks import T0

    from ckanext.udp.sensors.logic.sources import legacy_pseudonym, pseudonym

    e = sensor_env
    doc = yaml.safe_load(e.path.read_text())
    del doc["sources"][1]["devices"][0]["label"]
    e.path.write_text(yaml.safe_dump(doc))
    srcs = e.sources
    assert srcs.by_name("luft").pseudonymised()
    air = ingester.series[e.air["name"]]
    old = legacy_pseudonym("luft", "A81758FFFE0412C3")
    new = pseudonym("luft", "A81758FFFE0412C3", tk.config["ckanext.udp.sensors.pseudonym_secret"])
    with ingester.engine.begin() as conn:  # as stored by an earlier version
        for i in range(3):
            conn.execute(
                sa.text(f'INSERT INTO "{air.observations}" (time, device, f_cnt, co2) VALUES (:t, :d, :n, 400 + :n)'),
                {"t": (T0 + dt.timedelta(minutes=20 * i)).replace(tzinfo=None), "d": old, "n": i},
            )
        conn.execute(
            sa.text(f'INSERT INTO "{air.latest}" (device, time, f_cnt, co2) VALUES (:d, :t, 2, 402)'),
            {"d": old, "t": T0.replace(tzinfo=None)},
        )
    result = cli.invoke(
        ckan_cli, ["udp", "sensors", "pseudonyms", "rename", "--from-unkeyed", "--sources", str(e.path)]
    )
    assert result.exit_code == 0, result.output
    assert f"{e.air['name']}: 1 devices renamed" in result.output

    def devices(rid: str) -> list:
        return [
            (r["device"], r.get("f_cnt", r.get("n")))
            for r in tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": rid, "sort": "_id"})[
                "records"
            ]
        ]

    assert devices(air.observations) == [(new, 0), (new, 1), (new, 2)]
    assert devices(air.latest) == [(new, 2)]
    assert devices(air.hourly) == [(new, 3)]
    # new uplinks of the device land in the same series
    from ckanext.udp.sensors.logic.ingest import Ingester

    ing = Ingester(srcs, ingester.series, ingester.engine, ingester.dead_engine)
    from uplinks import chirpstack

    assert ing.process([msg(e.cs_topic(), chirpstack(f_cnt=9, t=T0 + dt.timedelta(hours=2), co2=500))]).inserted == 1
    assert {d for d, _ in devices(air.observations)} == {new}
