"""``ckan udp sensors setup`` and ``dead-letters``."""
from __future__ import annotations

import pytest

import ckan.plugins.toolkit as tk
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

    from ckanext.udp.harvesters import lorawan
    from ckanext.udp.sensors.logic import demo

    now = dt.datetime(2026, 11, 26, 12, 7, tzinfo=dt.timezone.utc)
    first = list(demo.uplinks(["soil-fp-01", "soil-fp-02"], "bodenfeuchte", "karlsruhe", 1, now))
    assert len(first) == 2 * 97  # 24 h in quarter hours, both ends included
    ups = [lorawan.parse("tts", topic, payload) for topic, payload in first]
    assert len({(u.device_id, u.f_cnt) for u in ups}) == len(ups)  # one key per uplink
    assert ups[-1].time == dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
    assert all(set(u.values) == {"soil_moisture", "soil_temperature", "battery"} for u in ups)
    later = list(demo.uplinks(["soil-fp-01", "soil-fp-02"], "bodenfeuchte", "karlsruhe", 1,
                              now + dt.timedelta(hours=1)))
    assert set(first) & set(later) == set(first[8:])  # the first two hours drop out, the rest repeats
