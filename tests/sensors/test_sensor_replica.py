"""The sensor downloads read from the DataStore's read replica when
``ckan.datastore.read_url`` names it: with the replica's replay held, an uplink
stored on the primary stays out of the CSV until the replica replays it.

Opt-in with the cluster tests (``UDP_TEST_CLUSTER=1``, ``make test-cluster``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ckan.tests import factories
from cluster.replica import cluster_sh, ensure_running, opt_in, reading_from, replica_url
from uplinks import SECRET, T0, msg, tts

from ckanext.udp.sensors.logic import runtime

pytestmark = opt_in


@pytest.fixture
def on_replica() -> Iterator[None]:
    ensure_running()
    try:
        with reading_from(replica_url()):
            runtime.reset()
            yield
    finally:
        runtime.reset()
        cluster_sh("replica-stop")


def test_sensor_downloads_read_the_replica(on_replica: None, sensor_env: Any, make_app: Any, monkeypatch) -> None:
    import ckan.plugins.toolkit as tk

    monkeypatch.setenv("UDP_TEST_LUFT_SECRET", SECRET)
    monkeypatch.setitem(tk.config, "ckanext.udp.sensors.sources", str(sensor_env.path))
    runtime.reset()
    app = make_app()
    ing = runtime.ingester()
    headers = {"Authorization": factories.SysadminWithToken()["token"]}
    url = f"/dataset/{sensor_env.soil['name']}/sensors/observations.csv"

    def rows() -> int:
        res = app.get(url, headers=headers)
        assert res.status_code == 200, res.body[:300]
        return res.body.count("\r\n") - 1  # without the header

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 90
        while rows() != n:
            assert time.monotonic() < deadline, f"the download still has {rows()} rows, not {n}, after 90 s"
            time.sleep(0.1)

    def uplink(f_cnt: int):
        return msg(sensor_env.tts_topic(), tts(f_cnt=f_cnt, t=T0 + dt.timedelta(hours=f_cnt), soil_moisture=1.0))

    assert ing.process([uplink(i) for i in range(3)]).inserted == 3
    wait_for(3)  # replayed by the replica
    cluster_sh("replica-replay", "pause")
    try:
        assert ing.process([uplink(3)]).inserted == 1  # committed on the primary
        time.sleep(1)
        assert rows() == 3  # the download reads the paused replica
    finally:
        cluster_sh("replica-replay", "resume")
    wait_for(4)
