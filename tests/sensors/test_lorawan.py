"""Parsing The Things Stack v3 and ChirpStack v4 uplinks (pure functions)."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pytest

from ckanext.udp.sensors import lorawan

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "sensors" / "fixtures"
TTS_TOPIC = "v3/bodenfeuchte@karlsruhe/devices/soil-fp-01/up"
CS_TOPIC = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/a81758fffe0412c3/event/up"


def doc(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_tts_uplink():
    up = lorawan.parse("tts", TTS_TOPIC, (FIXTURES / "tts_uplink.json").read_bytes())
    assert up.flavour == "tts"
    assert up.device_id == "soil-fp-01"
    assert up.dev_eui == "70B3D57ED0061A01"
    assert up.application_id == "bodenfeuchte"
    # nanoseconds truncated to microseconds, UTC
    assert up.time == dt.datetime(2026, 6, 15, 8, 0, 3, 412846, tzinfo=dt.timezone.utc)
    assert up.f_cnt == 1187 and up.f_port == 2
    assert up.uplink_id == "as:up:01HF3Q7Y6B1QW6G4R4D0F2S7T9"
    assert up.values == {"soil_moisture": 27.4, "soil_temperature": 18.25, "battery": 3.61, "status": "ok"}
    assert [g.gateway_id for g in up.gateways] == ["ka-rathaus-gw", "ka-schloss-gw"]
    assert up.best_rssi == -97 and up.best_snr == 7.25
    assert up.device_keys == ("soil-fp-01", "70B3D57ED0061A01")


def test_tts_omitted_zero_frame_counter_is_zero():
    d = doc("tts_uplink.json")
    del d["uplink_message"]["f_cnt"]
    assert lorawan.parse_tts(TTS_TOPIC, json.dumps(d)).f_cnt == 0


def test_chirpstack_uplink():
    up = lorawan.parse("chirpstack", CS_TOPIC, (FIXTURES / "chirpstack_up.json").read_bytes())
    assert up.flavour == "chirpstack"
    assert up.device_id == "air-kaiserstr-03"
    assert up.dev_eui == "A81758FFFE0412C3"
    assert up.application_id == "17c82e96-be03-4f38-aef3-f83d48582d97"
    assert up.time == dt.datetime(2026, 6, 15, 8, 5, 11, 502367, tzinfo=dt.timezone.utc)
    assert up.f_cnt == 4410
    assert up.uplink_id == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    assert up.values["co2"] == 500
    assert up.gateways[0].gateway_id == "0016c001ff1e5a2b" and up.best_rssi == -83


def test_chirpstack_without_device_name_uses_the_eui():
    d = doc("chirpstack_up.json")
    del d["deviceInfo"]["deviceName"]
    assert lorawan.parse_chirpstack("", json.dumps(d)).device_id == "A81758FFFE0412C3"


def test_time_with_offset_is_converted_to_utc():
    assert lorawan.parse_time("2026-06-15T10:00:00.5+02:00", "t") == dt.datetime(
        2026, 6, 15, 8, 0, 0, 500000, tzinfo=dt.timezone.utc
    )


def _tts(mutate) -> bytes:
    d = doc("tts_uplink.json")
    mutate(d)
    return json.dumps(d).encode()


def _cs(mutate) -> bytes:
    d = doc("chirpstack_up.json")
    mutate(d)
    return json.dumps(d).encode()


@pytest.mark.parametrize(
    "flavour,topic,payload,reason",
    [
        ("tts", TTS_TOPIC, b"{not json", lorawan.MALFORMED_JSON),
        ("tts", TTS_TOPIC, b"\xff\xfe", lorawan.MALFORMED_JSON),
        ("tts", TTS_TOPIC, b"[1, 2]", lorawan.MALFORMED_JSON),
        ("chirpstack", CS_TOPIC, b"", lorawan.MALFORMED_JSON),
        ("chirpstack", CS_TOPIC, b"[" * 100_000 + b"]" * 100_000, lorawan.MALFORMED_JSON),  # hostile nesting
        ("tts", TTS_TOPIC, (FIXTURES / "tts_join.json").read_bytes(), lorawan.NOT_AN_UPLINK),
        ("tts", TTS_TOPIC, _tts(lambda d: d.pop("end_device_ids")), lorawan.MISSING_FIELD),
        ("tts", TTS_TOPIC, _tts(lambda d: d["end_device_ids"].pop("device_id")), lorawan.MISSING_FIELD),
        (
            "tts",
            TTS_TOPIC,
            _tts(lambda d: (d.pop("received_at"), d["uplink_message"].pop("received_at"))),
            lorawan.MISSING_FIELD,
        ),
        ("tts", TTS_TOPIC, _tts(lambda d: d.update(received_at="gestern")), lorawan.INVALID_FIELD),
        ("tts", TTS_TOPIC, _tts(lambda d: d["uplink_message"].update(f_cnt="7")), lorawan.INVALID_FIELD),
        ("tts", TTS_TOPIC, _tts(lambda d: d["uplink_message"].pop("decoded_payload")), lorawan.UNDECODED_PAYLOAD),
        (
            "tts",
            TTS_TOPIC,
            _tts(lambda d: d["uplink_message"].update(decoded_payload="AhsBEgE=")),
            lorawan.UNDECODED_PAYLOAD,
        ),
        (
            "tts",
            "v3/bodenfeuchte@karlsruhe/devices/other/up",
            (FIXTURES / "tts_uplink.json").read_bytes(),
            lorawan.INVALID_FIELD,
        ),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d.pop("deviceInfo")), lorawan.MISSING_FIELD),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d["deviceInfo"].update(devEui="xyz")), lorawan.INVALID_FIELD),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d.pop("time")), lorawan.MISSING_FIELD),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d.pop("object")), lorawan.UNDECODED_PAYLOAD),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d.update(object={})), lorawan.UNDECODED_PAYLOAD),
        ("chirpstack", CS_TOPIC, _cs(lambda d: d.update(fCnt=-1)), lorawan.INVALID_FIELD),
        (
            "chirpstack",
            "application/x/device/0000000000000001/event/up",
            (FIXTURES / "chirpstack_up.json").read_bytes(),
            lorawan.INVALID_FIELD,
        ),
    ],
)
def test_bad_input_raises_a_typed_error_with_a_reason(flavour, topic, payload, reason):
    with pytest.raises(lorawan.PayloadError) as err:
        lorawan.parse(flavour, topic, payload)
    assert err.value.reason == reason
    assert err.value.message


def test_unknown_flavour():
    with pytest.raises(ValueError, match="flavour"):
        lorawan.parse("lorawan-1.0", TTS_TOPIC, b"{}")


@pytest.mark.parametrize(
    "pattern,topic,ok",
    [
        ("v3/+/devices/+/up", TTS_TOPIC, True),
        ("v3/#", TTS_TOPIC, True),
        ("v3/+/devices/+/up", "v3/a@b/devices/x/join", False),
        ("application/+/device/+/event/up", CS_TOPIC, True),
        ("application/+/device/+/event/up", CS_TOPIC + "/x", False),
    ],
)
def test_topic_matches(pattern, topic, ok):
    assert lorawan.topic_matches(pattern, topic) is ok


# --- poison messages (issue 11): each must be a PayloadError, never another exception ---


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-01:00",  # UTC would be year 10000: OverflowError in astimezone
        "0001-01-01T00:00:00+01:00",  # UTC would be year 0
        "2026-02-30T00:00:00Z",  # no such day
    ],
)
def test_times_outside_the_calendar_are_invalid_fields(when):
    d = doc("tts_uplink.json")
    d["received_at"] = when
    with pytest.raises(lorawan.PayloadError) as err:
        lorawan.parse_tts(TTS_TOPIC, json.dumps(d))
    assert err.value.reason == lorawan.INVALID_FIELD


@pytest.mark.parametrize(
    "literal", ["1" * 5000, "NaN", "Infinity", "-Infinity"], ids=["5000-digits", "NaN", "Infinity", "-Infinity"]
)
def test_numbers_json_allows_but_nobody_can_store_are_malformed(literal):
    """A 5,000-digit integer (Python refuses it: ValueError) and the non-standard NaN/Infinity."""
    payload = json.dumps(doc("tts_uplink.json")).replace('"battery": 3.61', f'"battery": {literal}')
    assert literal in payload
    with pytest.raises(lorawan.PayloadError) as err:
        lorawan.parse_tts(TTS_TOPIC, payload)
    assert err.value.reason == lorawan.MALFORMED_JSON


def test_frame_counter_is_a_32_bit_counter():
    d = doc("tts_uplink.json")
    d["uplink_message"]["f_cnt"] = 2**31  # valid: LoRaWAN counts 32 bits
    assert lorawan.parse_tts(TTS_TOPIC, json.dumps(d)).f_cnt == 2**31
    d["uplink_message"]["f_cnt"] = 2**32 - 1
    assert lorawan.parse_tts(TTS_TOPIC, json.dumps(d)).f_cnt == 2**32 - 1
    d["uplink_message"]["f_cnt"] = 2**32
    with pytest.raises(lorawan.PayloadError) as err:
        lorawan.parse_tts(TTS_TOPIC, json.dumps(d))
    assert err.value.reason == lorawan.INVALID_FIELD
