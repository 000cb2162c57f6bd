"""Parsing LoRaWAN uplinks of The Things Stack v3 and ChirpStack v4.

Pure functions without CKAN imports: ``parse(flavour, topic, payload)`` turns
the raw bytes of one MQTT message (or webhook body) into an :class:`Uplink` or
raises :class:`PayloadError` with a machine-readable ``reason`` (used as the
dead-letter reason) and a human-readable message.

Shapes (JSON integration formats):

* The Things Stack v3, topic ``v3/{application}@{tenant}/devices/{device}/up``:
  ``end_device_ids.{device_id,dev_eui,application_ids.application_id}``,
  ``correlation_ids``, ``received_at``, ``uplink_message.{f_cnt,f_port,
  decoded_payload,rx_metadata[].{gateway_ids.gateway_id,rssi,snr}}``. Empty
  fields are omitted by TTS, so a missing ``f_cnt`` means 0.
* ChirpStack v4, topic ``application/{application_id}/device/{dev_eui}/event/up``:
  ``deduplicationId``, ``time``, ``deviceInfo.{devEui,deviceName,applicationId}``,
  ``fCnt``, ``fPort``, ``object`` (only with a codec), ``rxInfo[].{gatewayId,rssi,snr}``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from ckanext.udp import timestamps

Flavour = Literal["tts", "chirpstack"]
FLAVOURS: tuple[Flavour, ...] = ("tts", "chirpstack")

# Reasons (stable strings, stored in the dead-letter table)
MALFORMED_JSON = "malformed_json"
MISSING_FIELD = "missing_field"
INVALID_FIELD = "invalid_field"
UNDECODED_PAYLOAD = "undecoded_payload"
NOT_AN_UPLINK = "not_an_uplink"
UNKNOWN_DEVICE = "unknown_device"
UNKNOWN_SOURCE = "unknown_source"

_TTS_TOPIC = re.compile(r"^v3/(?P<app>[^/@]+)(?:@(?P<tenant>[^/]+))?/devices/(?P<device>[^/]+)/up$")
_CS_TOPIC = re.compile(r"^application/(?P<app>[^/]+)/device/(?P<deveui>[0-9a-fA-F]{16})/event/up$")


class PayloadError(ValueError):
    """A message that cannot become an observation; ``reason`` is one of the constants above."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclasses.dataclass(frozen=True)
class Gateway:
    gateway_id: str | None
    rssi: float | None
    snr: float | None

    def as_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies and was a quarter of the routing time
        return {"gateway_id": self.gateway_id, "rssi": self.rssi, "snr": self.snr}


@dataclasses.dataclass(frozen=True)
class Uplink:
    """One uplink, independent of the network server that delivered it."""

    flavour: Flavour
    device_id: str  # TTS device_id; ChirpStack deviceName (falls back to devEui)
    dev_eui: str | None  # upper-case hex, as both servers print it
    application_id: str | None
    time: dt.datetime  # UTC, timezone-aware
    f_cnt: int
    f_port: int | None
    uplink_id: str | None  # ChirpStack deduplicationId / TTS "as:up:" correlation id
    values: dict[str, Any]  # the decoded payload
    gateways: tuple[Gateway, ...]

    @property
    def device_keys(self) -> tuple[str, ...]:
        """Identifiers a source may map: device id and DevEUI."""
        keys = [self.device_id]
        if self.dev_eui and self.dev_eui not in keys:
            keys.append(self.dev_eui)
        return tuple(keys)

    @property
    def best_rssi(self) -> float | None:
        vals = [g.rssi for g in self.gateways if g.rssi is not None]
        return max(vals) if vals else None

    @property
    def best_snr(self) -> float | None:
        vals = [g.snr for g in self.gateways if g.snr is not None]
        return max(vals) if vals else None


def parse_time(value: Any, field: str) -> dt.datetime:
    """RFC 3339 / ISO 8601 timestamp (nanoseconds allowed, ``Z`` or offset) as UTC."""
    if not isinstance(value, str) or not value:
        raise PayloadError(
            MISSING_FIELD if value in (None, "") else INVALID_FIELD, f"{field} must be an RFC 3339 timestamp"
        )
    try:
        return timestamps.parse_utc(value)
    except timestamps.NotRfc3339 as err:
        raise PayloadError(INVALID_FIELD, f"{field} is not an RFC 3339 timestamp: {value[:40]!r}") from err
    except timestamps.NotAValidTime as err:
        raise PayloadError(INVALID_FIELD, f"{field} is not a valid time: {value[:40]!r}") from err


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _load(payload: bytes | str) -> dict[str, Any]:
    try:
        # NaN/Infinity (Python accepts them, JSON and PostgreSQL's jsonb do not) and
        # integers beyond Python's 4,300 digits raise ValueError like broken JSON
        doc = json.loads(payload, parse_constant=_no_constant)
    except ValueError as err:  # incl. UnicodeDecodeError and json.JSONDecodeError
        raise PayloadError(MALFORMED_JSON, f"not JSON: {str(err)[:200]}") from err
    except RecursionError as err:  # hostile nesting must not crash the consumer
        raise PayloadError(MALFORMED_JSON, "JSON nested too deeply") from err
    if not isinstance(doc, dict):
        raise PayloadError(MALFORMED_JSON, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def _obj(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> dict[str, Any]:
    val = doc.get(key)
    if val is None:
        if required:
            raise PayloadError(MISSING_FIELD, f"{where}{key} is missing")
        return {}
    if not isinstance(val, dict):
        raise PayloadError(INVALID_FIELD, f"{where}{key} must be an object")
    return val


def _str(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> str | None:
    val = doc.get(key)
    if val is None or val == "":
        if required:
            raise PayloadError(MISSING_FIELD, f"{where}{key} is missing")
        return None
    if not isinstance(val, str):
        raise PayloadError(INVALID_FIELD, f"{where}{key} must be a string")
    return val


def _int(doc: Mapping[str, Any], key: str, where: str, bits: int = 32) -> int | None:
    val = doc.get(key)
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val < 2**bits:
        raise PayloadError(INVALID_FIELD, f"{where}{key} must be an integer from 0 to {2**bits - 1}")
    return val


def _num(val: Any) -> float | None:
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return None
    return float(val)


def _values(val: Any, where: str) -> dict[str, Any]:
    if val is None:
        raise PayloadError(UNDECODED_PAYLOAD, f"{where} is missing (no payload formatter/codec, or decoding failed)")
    if not isinstance(val, dict):
        raise PayloadError(UNDECODED_PAYLOAD, f"{where} must be an object, got {type(val).__name__}")
    if not val:
        raise PayloadError(UNDECODED_PAYLOAD, f"{where} is empty")
    return val


def _eui(val: str | None, where: str) -> str | None:
    if val is None:
        return None
    if not re.fullmatch(r"[0-9a-fA-F]{16}", val):
        raise PayloadError(INVALID_FIELD, f"{where} must be 16 hex digits")
    return val.upper()


def parse_tts(topic: str, payload: bytes | str) -> Uplink:
    """A The Things Stack v3 uplink message (``.../up`` topic or webhook body)."""
    doc = _load(payload)
    ids = _obj(doc, "end_device_ids", "")
    up = doc.get("uplink_message")
    if up is None:
        raise PayloadError(NOT_AN_UPLINK, "uplink_message is missing (join, downlink or other event)")
    if not isinstance(up, dict):
        raise PayloadError(INVALID_FIELD, "uplink_message must be an object")
    device_id = _str(ids, "device_id", "end_device_ids.")
    assert device_id is not None
    topic_m = _TTS_TOPIC.match(topic) if topic else None
    if topic_m and topic_m.group("device") != device_id:
        raise PayloadError(
            INVALID_FIELD, f"topic device {topic_m.group('device')!r} differs from end_device_ids.device_id"
        )
    app = _obj(ids, "application_ids", "end_device_ids.", required=False).get("application_id")
    gateways = []
    for rx in up.get("rx_metadata") or []:
        if isinstance(rx, dict):
            gw_ids = rx.get("gateway_ids")
            if not isinstance(gw_ids, dict):
                gw_ids = {}
            gateways.append(Gateway(gw_ids.get("gateway_id"), _num(rx.get("rssi")), _num(rx.get("snr"))))
    corr = [c for c in doc.get("correlation_ids") or [] if isinstance(c, str)]
    uplink_id = next((c for c in corr if c.startswith("as:up:")), corr[0] if corr else None)
    # received_at of the Application Server, the uplink's own as fallback
    received = doc.get("received_at") or up.get("received_at")
    return Uplink(
        flavour="tts",
        device_id=device_id,
        dev_eui=_eui(_str(ids, "dev_eui", "end_device_ids.", required=False), "end_device_ids.dev_eui"),
        application_id=app if isinstance(app, str) else None,
        time=parse_time(received, "received_at"),
        f_cnt=_int(up, "f_cnt", "uplink_message.") or 0,
        f_port=_int(up, "f_port", "uplink_message.", bits=8),
        uplink_id=uplink_id,
        values=_values(up.get("decoded_payload"), "uplink_message.decoded_payload"),
        gateways=tuple(gateways),
    )


def parse_chirpstack(topic: str, payload: bytes | str) -> Uplink:
    """A ChirpStack v4 ``event/up`` message (MQTT integration or HTTP ``?event=up``), JSON encoding."""
    doc = _load(payload)
    info = _obj(doc, "deviceInfo", "")
    dev_eui = _eui(_str(info, "devEui", "deviceInfo."), "deviceInfo.devEui")
    assert dev_eui is not None
    topic_m = _CS_TOPIC.match(topic) if topic else None
    if topic_m and topic_m.group("deveui").upper() != dev_eui:
        raise PayloadError(INVALID_FIELD, "topic devEui differs from deviceInfo.devEui")
    gateways = []
    for rx in doc.get("rxInfo") or []:
        if isinstance(rx, dict):
            gateways.append(Gateway(rx.get("gatewayId"), _num(rx.get("rssi")), _num(rx.get("snr"))))
    return Uplink(
        flavour="chirpstack",
        device_id=_str(info, "deviceName", "deviceInfo.", required=False) or dev_eui,
        dev_eui=dev_eui,
        application_id=_str(info, "applicationId", "deviceInfo.", required=False),
        time=parse_time(doc.get("time"), "time"),
        f_cnt=_int(doc, "fCnt", "") or 0,
        f_port=_int(doc, "fPort", "", bits=8),
        uplink_id=_str(doc, "deduplicationId", ""),
        values=_values(doc.get("object"), "object"),
        gateways=tuple(gateways),
    )


def parse(flavour: str, topic: str, payload: bytes | str) -> Uplink:
    if flavour == "tts":
        return parse_tts(topic, payload)
    if flavour == "chirpstack":
        return parse_chirpstack(topic, payload)
    raise ValueError(f"unknown payload flavour {flavour!r}; expected one of {FLAVOURS}")


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching (``+`` one level, ``#`` the rest)."""
    p_parts, t_parts = pattern.split("/"), topic.split("/")
    for i, part in enumerate(p_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part != "+" and part != t_parts[i]):
            return False
    return len(p_parts) == len(t_parts)


__all__ = [
    "Flavour",
    "FLAVOURS",
    "Gateway",
    "PayloadError",
    "Uplink",
    "parse",
    "parse_chirpstack",
    "parse_time",
    "parse_tts",
    "topic_matches",
]
