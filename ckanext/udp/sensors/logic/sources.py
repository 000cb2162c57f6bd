"""Sensor sources: which topics, which payload flavour, which device goes to
which dataset, which decoded field becomes which column.

Sources live in a YAML file named by ``ckanext.udp.sensors.sources`` (see
docs/sensors.md for why a file and not harvest-source config). Loading
validates everything and raises :class:`SourceConfigError` listing every
problem; the consumer refuses to start on a broken file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import yaml

from ckanext.udp.sensors import lorawan

# DataStore column types a decoded field may be stored as
COLUMN_TYPES = ("numeric", "int", "float8", "text", "bool", "timestamp", "json")
NUMERIC_TYPES = ("numeric", "int", "float8")
# Column names the observation table uses itself
RESERVED = {
    "time",
    "device",
    "f_cnt",
    "dev_eui",
    "uplink_id",
    "extra",
    "rssi",
    "snr",
    "gateways",
    "hour",
    "n",
    "_id",
    "_full_text",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class SourceConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid sensor source configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one observation row may hold, whatever the payload brings: a huge but
    valid uplink must not produce a field that CSV readers refuse (Python's csv
    module stops at 131,072 characters per field)."""

    extra_bytes: int = 8192  # JSON of the extra column; text/json column values beyond it go to extra
    gateways: int = 16  # gateways kept per uplink (radio metadata)
    id_chars: int = 200  # uplink ids and gateway ids

    @classmethod
    def from_config(cls) -> Limits:
        import ckan.plugins.toolkit as tk

        return cls(extra_bytes=tk.config.get("ckanext.udp.sensors.max_extra_bytes"))


TRUNCATED = "_truncated"  # key of the marker in a cut extra


@dataclasses.dataclass(frozen=True)
class Column:
    field: str  # key in the decoded payload
    name: str  # DataStore column
    type: str  # DataStore type
    unit: str | None = None
    label: str | None = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclasses.dataclass(frozen=True)
class Device:
    key: str  # TTS device_id, ChirpStack deviceName or DevEUI (upper case)
    dataset: str  # dataset name or id
    label: str | None = None


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    flavour: lorawan.Flavour
    topics: tuple[str, ...]
    columns: tuple[Column, ...]
    devices: tuple[Device, ...]
    drop_device_ids: bool = False
    drop_radio_metadata: bool = False
    webhook_secret: str | None = dataclasses.field(default=None, repr=False)
    pseudonym_secret: str | None = dataclasses.field(default=None, repr=False)

    def device(self, uplink: lorawan.Uplink) -> Device | None:
        for key in uplink.device_keys:
            for dev in self.devices:
                if dev.key == key or dev.key == key.upper():
                    return dev
        return None

    def public_device_name(self, dev: Device, uplink: lorawan.Uplink) -> str:
        """The ``device`` column: the id, or with ``drop_device_ids`` the label or a pseudonym."""
        if not self.drop_device_ids:
            return uplink.device_id
        if dev.label not in (None, ""):
            return str(dev.label)
        return pseudonym(self.name, dev.key, self.pseudonym_secret or "")

    def pseudonymised(self) -> tuple[Device, ...]:
        """Devices whose ``device`` column is a pseudonym (ids dropped, no label)."""
        if not self.drop_device_ids:
            return ()
        return tuple(d for d in self.devices if d.label in (None, ""))

    def matches(self, topic: str) -> bool:
        return any(lorawan.topic_matches(t, topic) for t in self.topics)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.dataset for d in self.devices))


@dataclasses.dataclass(frozen=True)
class SourceSet:
    sources: tuple[Source, ...]

    def by_name(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def for_topic(self, topic: str) -> Source | None:
        return next((s for s in self.sources if s.matches(topic)), None)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for s in self.sources for t in s.topics))

    def columns_for(self, dataset: str) -> tuple[Column, ...]:
        """The columns of one dataset (the union over the sources writing into it)."""
        seen: dict[str, Column] = {}
        for s in self.sources:
            if dataset in s.datasets:
                for c in s.columns:
                    seen.setdefault(c.name, c)
        return tuple(seen.values())

    def radio_for(self, dataset: str) -> bool:
        """Radio columns exist unless every source of the dataset drops them."""
        return any(not s.drop_radio_metadata for s in self.sources if dataset in s.datasets)

    def eui_for(self, dataset: str) -> bool:
        return any(not s.drop_device_ids for s in self.sources if dataset in s.datasets)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for s in self.sources for d in s.datasets))


def _bool(val: Any, where: str, problems: list[str]) -> bool:
    if val is None:
        return False
    if not isinstance(val, bool):
        problems.append(f"{where} must be true or false")
        return False
    return val


def _parse_source(
    i: int, raw: Any, problems: list[str], env: Mapping[str, str], pseudonym_secret: str | None
) -> Source | None:
    before = len(problems)
    where = f"sources[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", name):
        problems.append(f"{where}.name must be a lower-case slug")
        name = f"#{i}"
    where = f"source {name!r}"
    unknown = set(raw) - {
        "name",
        "flavour",
        "topics",
        "columns",
        "devices",
        "drop_device_ids",
        "drop_radio_metadata",
        "webhook_secret_env",
        "title",
    }
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    flavour = raw.get("flavour")
    if flavour not in lorawan.FLAVOURS:
        problems.append(f"{where}.flavour must be one of {list(lorawan.FLAVOURS)}")
    topics = raw.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
        problems.append(f"{where}.topics must be a list of MQTT topic filters")
        topics = []
    columns: list[Column] = []
    for j, col in enumerate(raw.get("columns") or []):
        cw = f"{where}.columns[{j}]"
        if not isinstance(col, dict) or not isinstance(col.get("field"), str):
            problems.append(f"{cw} needs a 'field'")
            continue
        cname = col.get("name", col["field"])
        ctype = col.get("type", "numeric")
        if not isinstance(cname, str) or not _NAME.match(cname) or cname in RESERVED:
            problems.append(f"{cw}.name {cname!r} must be a lower-case identifier and not one of {sorted(RESERVED)}")
            continue
        if ctype not in COLUMN_TYPES:
            problems.append(f"{cw}.type must be one of {list(COLUMN_TYPES)}")
            continue
        columns.append(Column(col["field"], cname, ctype, col.get("unit"), col.get("label")))
    if len({c.name for c in columns}) != len(columns):
        problems.append(f"{where}: column names must be unique")
    devices: list[Device] = []
    raw_devices = raw.get("devices") or []
    if not isinstance(raw_devices, list) or not raw_devices:
        problems.append(f"{where}.devices must list at least one device")
        raw_devices = []
    for j, dev in enumerate(raw_devices):
        if not isinstance(dev, dict) or not isinstance(dev.get("id"), str) or not isinstance(dev.get("dataset"), str):
            problems.append(f"{where}.devices[{j}] needs 'id' and 'dataset'")
            continue
        key = dev["id"]
        if re.fullmatch(r"[0-9a-fA-F]{16}", key):
            key = key.upper()
        devices.append(Device(key, dev["dataset"], dev.get("label")))
    secret = None
    if raw.get("webhook_secret_env"):
        secret = env.get(str(raw["webhook_secret_env"])) or None
        if secret is not None and len(secret) < 16:
            problems.append(
                f"{where}: the webhook secret in ${raw['webhook_secret_env']} must have 16 characters or more"
            )
            secret = None
    drop_ids = _bool(raw.get("drop_device_ids"), f"{where}.drop_device_ids", problems)
    drop_radio = _bool(raw.get("drop_radio_metadata"), f"{where}.drop_radio_metadata", problems)
    if drop_ids and not pseudonym_secret and any(d.label in (None, "") for d in devices):
        problems.append(
            f"{where}: drop_device_ids without a label for every device needs a secret for the "
            f"pseudonyms (ckanext.udp.sensors.pseudonym_secret)"
        )
    if len(problems) > before:
        return None
    return Source(
        name=name,
        flavour=cast(lorawan.Flavour, flavour),
        topics=tuple(topics),
        columns=tuple(columns),
        devices=tuple(devices),
        drop_device_ids=drop_ids,
        drop_radio_metadata=drop_radio,
        webhook_secret=secret,
        pseudonym_secret=pseudonym_secret or None,
    )


def parse_sources(doc: Any, env: Mapping[str, str] | None = None, pseudonym_secret: str | None = None) -> SourceSet:
    env = os.environ if env is None else env
    problems: list[str] = []
    raw_sources = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(raw_sources, list):
        raise SourceConfigError(["the file must have a top-level 'sources' list"])
    sources = []
    for i, raw in enumerate(raw_sources):
        src = _parse_source(i, raw, problems, env, pseudonym_secret)
        if src:
            sources.append(src)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        problems.append("source names must be unique")
    # a column name must mean the same in every source writing into a dataset
    by_ds: dict[tuple[str, str], Column] = {}
    for s in sources:
        for ds in s.datasets:
            for c in s.columns:
                other = by_ds.setdefault((ds, c.name), c)
                if other.type != c.type:
                    problems.append(f"dataset {ds!r}: column {c.name!r} has types {other.type} and {c.type}")
    problems += _public_name_clashes(sources)
    if problems:
        raise SourceConfigError(problems)
    return SourceSet(tuple(sources))


def _public_name_clashes(sources: Iterable[Source]) -> list[str]:
    """With ``drop_device_ids`` the ``device`` column holds a label or a
    pseudonym instead of the id; two devices of one dataset under the same
    name would share one series (and overwrite each other's "latest" row)."""
    problems: list[str] = []
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for src in sources:
        if not src.drop_device_ids:
            continue
        for dev in src.devices:
            name = (
                str(dev.label)
                if dev.label not in (None, "")
                else pseudonym(src.name, dev.key, src.pseudonym_secret or "")
            )
            other = seen.setdefault((dev.dataset, name), (src.name, dev.key))
            if other != (src.name, dev.key):
                kind = "label" if dev.label not in (None, "") else "pseudonym"
                problems.append(
                    f"dataset {dev.dataset!r}: devices {other[1]!r} (source {other[0]!r}) and {dev.key!r} "
                    f"(source {src.name!r}) would both be stored as device {name!r} ({kind}; drop_device_ids "
                    f"is on), so their series would mix: give each device its own label"
                )
    return problems


def pseudonym(source_name: str, key: str, secret: str) -> str:
    """The public name of a device whose id is dropped: an HMAC-SHA256 of
    "source:device" under the portal's secret (device ids are guessable, so an
    unkeyed hash could be reversed by trying them)."""
    mac = hmac.new(secret.encode(), f"{source_name}:{key}".encode(), hashlib.sha256)
    return "dev-" + mac.hexdigest()[:16]


def legacy_pseudonym(source_name: str, key: str) -> str:
    """The unkeyed pseudonym of earlier versions (only to rename stored series)."""
    return "dev-" + hashlib.sha256(f"{source_name}:{key}".encode()).hexdigest()[:12]


def load_sources(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None, pseudonym_secret: str | None = None
) -> SourceSet:
    """The sources in a YAML file; no path means no sources. The pseudonym
    secret defaults to ``ckanext.udp.sensors.pseudonym_secret``."""
    if not path:
        return SourceSet(())
    if pseudonym_secret is None:
        import ckan.plugins.toolkit as tk

        pseudonym_secret = tk.config.get("ckanext.udp.sensors.pseudonym_secret") or ""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as err:
        raise SourceConfigError([f"cannot read {path}: {err}"]) from err
    except yaml.YAMLError as err:
        raise SourceConfigError([f"{path} is not valid YAML: {err}"]) from err
    return parse_sources(doc, env, pseudonym_secret)


def row_for(
    source: Source,
    columns: Iterable[Column],
    uplink: lorawan.Uplink,
    dev: Device,
    radio: bool,
    eui: bool,
    limits: Limits = Limits(),
) -> dict[str, Any]:
    """One observation row: configured fields as columns, the rest under ``extra``
    (cut to ``limits.extra_bytes`` with a marker)."""
    mapped = {c.field: c for c in columns}
    row: dict[str, Any] = {
        "time": uplink.time.isoformat(),
        "device": source.public_device_name(dev, uplink),
        "f_cnt": uplink.f_cnt,
        "uplink_id": uplink.uplink_id[: limits.id_chars] if uplink.uplink_id else None,
    }
    if eui:
        row["dev_eui"] = None if source.drop_device_ids else uplink.dev_eui
    extra: dict[str, Any] = {}
    for key, val in uplink.values.items():
        col = mapped.get(key)
        if col is None:
            extra[key] = val
        else:
            row[col.name] = coerce(col, val, extra, key, limits.extra_bytes)
    row["extra"] = capped(extra, limits.extra_bytes) if extra else None
    if radio:
        keep = not source.drop_radio_metadata
        row["rssi"] = uplink.best_rssi if keep else None
        row["snr"] = uplink.best_snr if keep else None
        gws = [g.as_dict() for g in uplink.gateways[: limits.gateways]] if keep else []
        for g in gws:
            if isinstance(g["gateway_id"], str):
                g["gateway_id"] = g["gateway_id"][: limits.id_chars]
            else:
                g["gateway_id"] = None
        row["gateways"] = gws or None
    return row


def capped(extra: dict[str, Any], limit: int) -> dict[str, Any]:
    """``extra`` as it is if its JSON fits ``limit`` bytes; otherwise the keys that
    fit, in order, and a marker ``_truncated`` with the original size and the
    names of the keys left out (the raw uplink is not kept)."""
    size = len(json.dumps(extra, ensure_ascii=False).encode())
    if size <= limit:
        return extra
    room = max(limit - 600, 0)  # the marker's own share
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    used = 2
    for key, val in extra.items():
        part = len(json.dumps({key: val}, ensure_ascii=False).encode())
        if used + part <= room:
            kept[key] = val
            used += part
        else:
            dropped.append(str(key)[:40])
    kept[TRUNCATED] = {"bytes": size, "limit": limit, "dropped": dropped[:10], "dropped_count": len(dropped)}
    return kept


def coerce(col: Column, val: Any, extra: dict[str, Any], key: str, max_bytes: int | None = None) -> Any:
    """A decoded value in the column's type; a value that does not fit (wrong type,
    or text/JSON longer than ``max_bytes``) is kept in ``extra``."""
    ok = True
    if val is None:
        return None
    if max_bytes is not None and col.type in ("text", "json") and not isinstance(val, (int, float, bool)):
        if len(json.dumps(val, ensure_ascii=False).encode()) > max_bytes:
            extra[key] = val
            return None
    if col.type in ("numeric", "float8"):
        ok = isinstance(val, (int, float)) and not isinstance(val, bool)
    elif col.type == "int":
        ok = isinstance(val, int) and not isinstance(val, bool) or (isinstance(val, float) and val.is_integer())
        val = int(val) if ok else val
    elif col.type == "bool":
        ok = isinstance(val, bool)
    elif col.type in ("text", "timestamp"):
        ok = isinstance(val, str)
        if ok and col.type == "timestamp":
            try:
                val = lorawan.parse_time(val, key).isoformat()
            except lorawan.PayloadError:
                ok = False
    if not ok:
        extra[key] = val
        return None
    return val
