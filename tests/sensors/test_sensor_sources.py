"""Sensor source configuration: validation and the row mapping."""

from __future__ import annotations

import hashlib
import hmac
import json
import pathlib

import pytest
import yaml

from ckanext.udp.sensors import lorawan
from ckanext.udp.sensors.logic import sources as s

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
KEY = "pseudonym-test-secret"


def load(**replace) -> s.SourceSet:
    text = (FIXTURES / "sources.yaml").read_text()
    text = text.replace("DATASET_SOIL", "soil").replace("DATASET_AIR", "air")
    return s.parse_sources(
        yaml.safe_load(text), env={"UDP_TEST_LUFT_SECRET": "x" * 20, **replace}, pseudonym_secret=KEY
    )


def test_load_the_fixture():
    srcs = load()
    assert [x.name for x in srcs.sources] == ["friedrichsplatz", "luft"]
    assert srcs.datasets == ("soil", "air")
    assert srcs.by_name("luft").webhook_secret == "x" * 20
    assert srcs.by_name("friedrichsplatz").webhook_secret is None
    assert srcs.for_topic("v3/bodenfeuchte@karlsruhe/devices/soil-fp-01/up").name == "friedrichsplatz"
    assert srcs.for_topic("v3/other@karlsruhe/devices/x/up") is None
    assert [c.name for c in srcs.columns_for("soil")] == ["bodenfeuchte", "bodentemperatur", "batterie"]
    assert srcs.radio_for("soil") and not srcs.radio_for("air")
    assert not srcs.eui_for("air")


def test_row_keeps_unknown_fields_in_extra_and_radio_metadata():
    srcs = load()
    src = srcs.by_name("friedrichsplatz")
    up = lorawan.parse_tts("", (FIXTURES / "tts_uplink.json").read_bytes())
    dev = src.device(up)
    row = s.row_for(src, srcs.columns_for("soil"), up, dev, radio=True, eui=True)
    assert row["device"] == "soil-fp-01" and row["dev_eui"] == "70B3D57ED0061A01"
    assert row["bodenfeuchte"] == 27.4 and row["batterie"] == 3.61
    assert row["extra"] == {"status": "ok"}
    assert row["rssi"] == -97 and row["gateways"][0]["gateway_id"] == "ka-rathaus-gw"
    assert row["time"] == "2026-06-15T08:00:03.412846+00:00"


def test_privacy_switches_drop_ids_and_radio_metadata():
    srcs = load()
    src = srcs.by_name("luft")
    up = lorawan.parse_chirpstack("", (FIXTURES / "chirpstack_up.json").read_bytes())
    dev = src.device(up)  # configured in lower case, matched case-insensitively
    assert dev is not None
    row = s.row_for(src, srcs.columns_for("air"), up, dev, radio=False, eui=False)
    assert row["device"] == "Kaiserstraße 3"
    assert "A81758FFFE0412C3" not in json.dumps(row) and "air-kaiserstr-03" not in json.dumps(row)
    assert "rssi" not in row and "gateways" not in row
    assert row["co2"] == 500 and row["extra"] == {"humidity": 49.0, "vdd": 3640}


def test_value_of_the_wrong_type_is_kept_in_extra():
    srcs = load()
    src = srcs.by_name("luft")
    d = json.loads((FIXTURES / "chirpstack_up.json").read_text())
    d["object"]["co2"] = "n/a"
    up = lorawan.parse_chirpstack("", json.dumps(d))
    row = s.row_for(src, srcs.columns_for("air"), up, src.device(up), radio=False, eui=False)
    assert row["co2"] is None and row["extra"]["co2"] == "n/a"


def test_pseudonym_without_label_is_stable_and_not_the_id():
    srcs = load()
    src = srcs.by_name("luft")
    dev = s.Device("A81758FFFE0412C3", "air")
    up = lorawan.parse_chirpstack("", (FIXTURES / "chirpstack_up.json").read_bytes())
    name = src.public_device_name(dev, up)
    assert name.startswith("dev-") and "A817" not in name
    assert name == src.public_device_name(dev, up)


@pytest.mark.parametrize(
    "mutate,problem",
    [
        (lambda d: d["sources"][0].update(flavour="ttn"), "flavour"),
        (lambda d: d["sources"][0].update(devices=[]), "at least one device"),
        (
            lambda d: d["sources"][0]["columns"].append({"field": "x", "name": "time"}),
            "must be a lower-case identifier",
        ),
        (lambda d: d["sources"][0]["columns"].append({"field": "x", "type": "varchar"}), "type must be one of"),
        (lambda d: d["sources"][1].update(name="friedrichsplatz"), "unique"),
        (lambda d: d["sources"][0].update(drop_device_ids="ja"), "true or false"),
        (lambda d: d["sources"][0].update(topic="x"), "unknown keys"),
        (lambda d: d["sources"][1]["devices"].append({"id": "x", "dataset": "soil"}), "has types numeric and int"),
    ],
)
def test_invalid_configuration_lists_the_problem(mutate, problem):
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    mutate(doc)
    if "has types" in problem:  # make the same column name differ in type across sources of one dataset
        doc["sources"][1]["columns"][0] = {"field": "battery", "name": "batterie", "type": "int"}
        doc["sources"][1]["devices"][-1]["dataset"] = "DATASET_SOIL"
    with pytest.raises(s.SourceConfigError) as err:
        s.parse_sources(doc, env={}, pseudonym_secret=KEY)
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_short_webhook_secret_is_refused():
    with pytest.raises(s.SourceConfigError, match="16 characters"):
        load(UDP_TEST_LUFT_SECRET="short")


def test_missing_file(tmp_path):
    with pytest.raises(s.SourceConfigError, match="cannot read"):
        s.load_sources(tmp_path / "nope.yaml")
    assert s.load_sources("").sources == ()


def _luft_devices(doc: dict) -> list:
    return doc["sources"][1]["devices"]


def test_two_devices_with_one_label_in_one_dataset_are_refused():
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    _luft_devices(doc).append({"id": "air-kaiserstr-04", "dataset": "DATASET_AIR", "label": "Kaiserstraße 3"})
    with pytest.raises(s.SourceConfigError) as err:
        s.parse_sources(doc, env={})
    clash = [p for p in err.value.problems if "would both be stored" in p]
    assert len(clash) == 1
    assert "'A81758FFFE0412C3'" in clash[0] and "'air-kaiserstr-04'" in clash[0]
    assert "'Kaiserstraße 3'" in clash[0] and "DATASET_AIR" in clash[0]


def test_same_label_is_fine_in_another_dataset_or_with_ids_kept():
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    _luft_devices(doc).append({"id": "air-2", "dataset": "OTHER", "label": "Kaiserstraße 3"})
    # friedrichsplatz keeps its device ids: labels there are not the series key
    doc["sources"][0]["devices"] = [
        {"id": "soil-fp-01", "dataset": "DATASET_SOIL", "label": "A"},
        {"id": "soil-fp-02", "dataset": "DATASET_SOIL", "label": "A"},
    ]
    srcs = s.parse_sources(doc, env={})
    assert srcs.by_name("luft").devices[-1].dataset == "OTHER"


def test_label_equal_to_another_devices_pseudonym_is_refused_across_sources():
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    second = json.loads(json.dumps(doc["sources"][1]))
    second.update(name="luft2", topics=["application/x/device/+/event/up"])
    doc["sources"].append(second)
    # a device without label in luft gets a pseudonym; luft2 labels another device with exactly that name
    _luft_devices(doc).append({"id": "air-nolabel", "dataset": "DATASET_AIR"})
    pseudonym = s.Source(
        "luft", lorawan.FLAVOURS[0], (), (), (), drop_device_ids=True, pseudonym_secret=KEY
    ).public_device_name(s.Device("air-nolabel", "DATASET_AIR"), None)  # type: ignore[arg-type]
    second["devices"] = [{"id": "air-x", "dataset": "DATASET_AIR", "label": pseudonym}]
    with pytest.raises(s.SourceConfigError) as err:
        s.parse_sources(doc, env={}, pseudonym_secret=KEY)
    clash = [p for p in err.value.problems if "would both be stored" in p]
    assert len(clash) == 1 and "'air-nolabel' (source 'luft')" in clash[0] and "'air-x' (source 'luft2')" in clash[0]
    assert f"device {pseudonym!r}" in clash[0]


def test_two_devices_without_label_get_distinct_pseudonyms():
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    _luft_devices(doc)[:] = [{"id": f"air-{i}", "dataset": "DATASET_AIR"} for i in range(50)]
    src = s.parse_sources(doc, env={}, pseudonym_secret=KEY).by_name("luft")
    names = {src.public_device_name(d, None) for d in src.devices}  # type: ignore[arg-type]
    assert len(names) == 50


def test_pseudonyms_are_keyed_with_the_portal_secret():
    """Device ids are guessable: an unkeyed hash of "source:id" can be reversed by
    trying ids. The pseudonym is an HMAC under a secret of the installation."""
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    _luft_devices(doc)[:] = [{"id": "air-nolabel", "dataset": "DATASET_AIR"}]
    dev = s.Device("air-nolabel", "DATASET_AIR")
    name = s.parse_sources(doc, env={}, pseudonym_secret=KEY).by_name("luft").public_device_name(dev, None)
    other = (
        s.parse_sources(doc, env={}, pseudonym_secret="another-secret").by_name("luft").public_device_name(dev, None)
    )
    guessed = "dev-" + hashlib.sha256(b"luft:air-nolabel").hexdigest()[:12]  # what anybody could compute
    assert name.startswith("dev-") and name != other
    assert name != guessed and not guessed.startswith(name) and s.legacy_pseudonym("luft", "air-nolabel") == guessed
    assert name == "dev-" + hmac.new(KEY.encode(), b"luft:air-nolabel", hashlib.sha256).hexdigest()[:16]


def test_pseudonyms_without_a_secret_are_refused():
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    _luft_devices(doc).append({"id": "air-nolabel", "dataset": "DATASET_AIR"})
    with pytest.raises(s.SourceConfigError, match="pseudonym_secret"):
        s.parse_sources(doc, env={}, pseudonym_secret="")
    # every device labelled: no pseudonym, no secret needed
    assert s.parse_sources(yaml.safe_load((FIXTURES / "sources.yaml").read_text()), env={}, pseudonym_secret="")


def test_a_huge_extra_is_cut_with_a_marker():
    srcs = load()
    src = srcs.by_name("friedrichsplatz")
    d = json.loads((FIXTURES / "tts_uplink.json").read_text())
    d["uplink_message"]["decoded_payload"].update(blob="x" * 1_000_000, note="kurz", names=["y" * 50] * 40)
    up = lorawan.parse_tts("", json.dumps(d))
    limits = s.Limits(extra_bytes=4096)
    row = s.row_for(src, srcs.columns_for("soil"), up, src.device(up), radio=True, eui=True, limits=limits)
    assert row["bodenfeuchte"] == 27.4  # the measured values are kept
    extra = row["extra"]
    assert len(json.dumps(extra).encode()) <= 4096
    assert extra["status"] == "ok" and extra["note"] == "kurz"
    assert extra[s.TRUNCATED]["dropped"] == ["blob"] and extra[s.TRUNCATED]["bytes"] > 1_000_000
    assert len(extra["names"]) == 40  # kept in order while there is room
    # a text column gets no more than extra may hold: the long value moves to extra (and is cut there)
    col = s.Column("label", "label", "text")
    spill: dict = {}
    assert s.coerce(col, "z" * 10_000, spill, "label", 4096) is None and spill == {"label": "z" * 10_000}
    assert s.coerce(col, "kurz", spill, "label", 4096) == "kurz"
