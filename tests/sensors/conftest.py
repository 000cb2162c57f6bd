"""Fixtures for the sensor tests: two datasets, a sources file pointing at
them with topics unique to the test, and an ingester on them."""

from __future__ import annotations

import dataclasses
import pathlib
import uuid

import ckan.model as model
import pytest
import yaml
from ckan.tests import factories
from udp_testing import public_dataset
from uplinks import SECRET

from ckanext.udp.datastore_sql import write_engine
from ckanext.udp.sensors.logic.ingest import Ingester
from ckanext.udp.sensors.logic.series import ensure_all
from ckanext.udp.sensors.logic.sources import SourceSet, load_sources

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


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
    soil = public_dataset(owner_org=org["id"])
    air = public_dataset(owner_org=org["id"])
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
