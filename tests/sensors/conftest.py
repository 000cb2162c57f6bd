"""Fixtures for the sensor tests: two datasets, a sources file pointing at
them with topics unique to the test, and uplink payload builders."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import pathlib
import uuid

import pytest
import yaml

import ckan.model as model
from ckan.tests import factories

from ckanext.udp.sensors.logic.ingest import Ingester, Message, write_engine
from ckanext.udp.sensors.logic.series import ensure_all
from ckanext.udp.sensors.logic.sources import SourceSet, load_sources

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
SECRET = "test-webhook-secret-0123456789"


@dataclasses.dataclass
class SensorEnv:
    soil: dict
    air: dict
    path: pathlib.Path
    tag: str

    @property
    def sources(self) -> SourceSet:
        return load_sources(self.path, env={"UDP_TEST_LUFT_SECRET": SECRET})

    def tts_topic(self, device: str = "soil-fp-01") -> str:
        return f"v3/bodenfeuchte-{self.tag}@karlsruhe/devices/{device}/up"

    def cs_topic(self, eui: str = "a81758fffe0412c3") -> str:
        return f"application/{self.tag}/device/{eui}/event/up"


@pytest.fixture
def sensor_env(tmp_path) -> SensorEnv:
    org = factories.Organization()
    soil = factories.Dataset(owner_org=org["id"])
    air = factories.Dataset(owner_org=org["id"])
    tag = uuid.uuid4().hex[:10]
    doc = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    doc["sources"][0]["topics"] = [f"v3/bodenfeuchte-{tag}@karlsruhe/devices/+/up"]
    doc["sources"][1]["topics"] = [f"application/{tag}/device/+/event/up"]
    text = yaml.safe_dump(doc).replace("DATASET_SOIL", soil["name"]).replace("DATASET_AIR", air["name"])
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return SensorEnv(soil, air, path, tag)


@pytest.fixture
def ingester(sensor_env) -> Ingester:
    srcs = sensor_env.sources
    series = ensure_all(srcs)
    engine = write_engine()
    yield Ingester(srcs, series, engine, model.meta.engine)
    engine.dispose()


T0 = dt.datetime(2026, 6, 15, 8, 0, 0, tzinfo=dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, as TTS sends


def tts(device: str = "soil-fp-01", f_cnt: int = 1, t: dt.datetime = T0, **values) -> bytes:
    d = json.loads((FIXTURES / "tts_uplink.json").read_text())
    d["end_device_ids"]["device_id"] = device
    d["received_at"] = iso(t)
    d["correlation_ids"][1] = f"as:up:{uuid.uuid4().hex}"
    d["uplink_message"]["f_cnt"] = f_cnt
    if values:
        d["uplink_message"]["decoded_payload"] = values
    return json.dumps(d).encode()


def chirpstack(eui: str = "a81758fffe0412c3", f_cnt: int = 1, t: dt.datetime = T0, **values) -> bytes:
    d = json.loads((FIXTURES / "chirpstack_up.json").read_text())
    d["deviceInfo"]["devEui"] = eui
    d["time"] = t.isoformat()
    d["fCnt"] = f_cnt
    d["deduplicationId"] = str(uuid.uuid4())
    if values:
        d["object"] = copy.deepcopy(values)
    return json.dumps(d).encode()


def msg(topic: str, payload: bytes) -> Message:
    return Message(topic, payload, dt.datetime.now(dt.timezone.utc))
