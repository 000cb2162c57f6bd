"""Helpers shared by the test modules."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.tests import factories

SENSOR_FIXTURES = pathlib.Path(__file__).resolve().parent / "sensors" / "fixtures"
SENSOR_T0 = dt.datetime(2026, 6, 15, 8, 0, 0, tzinfo=dt.timezone.utc)


def public_dataset(**kwargs: Any) -> dict[str, Any]:
    """A dataset that anonymous visitors see.

    With udp_governance, a new dataset starts as a private draft and becomes
    public only when a reviewer approves it. System callers (``ignore_auth``,
    as harvesters and the demo loader) may start a dataset published with the
    context key ``udp_initial_state``; a ``private=True`` one then counts as
    restricted."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site_user["name"], "ignore_auth": True, "udp_initial_state": "published"}
    return factories.Dataset(context=context, **kwargs)


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Ask ``check`` every half second until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


@contextlib.contextmanager
def records_of(*names: str) -> Iterator[list[logging.LogRecord]]:
    """The records the loggers ``names`` (and their children) emit inside the block.

    CKAN's test set-up may load a logging configuration that disables loggers created
    before it (``disable_existing_loggers``), so pytest's ``caplog`` sees nothing from
    them in some shard orders; this enables them for the block and collects directly."""
    found: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = found.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(name) for name in names]
    children = [
        logging.getLogger(other)
        for other in list(logging.root.manager.loggerDict)
        if any(other.startswith(name + ".") for name in names)
    ]
    saved = [(lg, lg.disabled, lg.level) for lg in loggers + children]
    for lg in loggers + children:
        lg.disabled = False
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    try:
        yield found
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        for lg, disabled, level in saved:
            lg.disabled, lg.level = disabled, level


def start_dcat_harvest(catalogue_url: str) -> Any:
    """A DCAT harvest source (Turtle at ``catalogue_url``) of a new organisation, and a job
    for it (picked up by the harvest consumers); returns the source."""
    from ckanext.harvest.tests.factories import HarvestSourceObj

    org = factories.Organization()
    source = HarvestSourceObj(
        url=catalogue_url, source_type="dcat_rdf", owner_org=org["id"], config=json.dumps({"rdf_format": "turtle"})
    )
    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    tk.get_action("harvest_job_create")({"user": site["name"], "ignore_auth": True}, {"source_id": source.id})
    return source


def stack_port(k: int) -> int:
    """Port 5000 + offset + ``k`` of the stack these tests run on, for a server a test
    starts (scripts/stack.sh lists the ``k`` in use; a stack has ``k`` < 50, as the test
    shards' stacks are 50 apart). The offset is the one of the stack's Redis (6380 +
    offset), so it holds for every shard and for pytest called directly."""
    from urllib.parse import urlsplit

    if not 3 <= k < 33:
        # 0-2: the stack's own servers; 33: PostgreSQL of the stack 400 ports below
        # (5433 + offset); 50 and more: the next shard's
        raise ValueError(f"k = {k}: not a free port of this stack")
    offset = (urlsplit(tk.config["ckan.redis.url"]).port or 6380) - 6380
    return 5000 + offset + k


def run_jobs() -> int:
    """Run the jobs queued in CKAN's default queue, as the job worker would,
    in this process (rq's SimpleWorker: no fork, so the test's configuration
    applies). Returns how many ran."""
    from ckan.lib.jobs import get_queue
    from rq import SimpleWorker

    queue = get_queue()
    count = queue.count
    if count:
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return count


def sensor_series(tmp_path: pathlib.Path, pkg: dict[str, Any]) -> None:
    """Give ``pkg`` the soil-moisture series of the sensor test fixtures with
    three uplinks (hourly from ``SENSOR_T0``), stored by the real ingester."""
    import json
    import uuid

    import ckan.model as model
    import yaml

    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors.logic.ingest import Ingester, Message
    from ckanext.udp.sensors.logic.series import ensure_all
    from ckanext.udp.sensors.logic.sources import load_sources

    doc = yaml.safe_load((SENSOR_FIXTURES / "sources.yaml").read_text())
    doc["sources"] = [doc["sources"][0]]
    tag = uuid.uuid4().hex[:10]
    doc["sources"][0]["topics"] = [f"v3/bodenfeuchte-{tag}@karlsruhe/devices/+/up"]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc).replace("DATASET_SOIL", pkg["name"]))
    sources = load_sources(path, env={})
    engine = write_engine()
    try:
        ingester = Ingester(sources, ensure_all(sources), engine, model.meta.engine)
        batch = []
        for i in range(3):
            up = json.loads((SENSOR_FIXTURES / "tts_uplink.json").read_text())
            up["received_at"] = (SENSOR_T0 + dt.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            up["correlation_ids"][1] = f"as:up:{uuid.uuid4().hex}"
            up["uplink_message"]["f_cnt"] = i + 1
            up["uplink_message"]["decoded_payload"]["soil_moisture"] = 20.5 + i
            batch.append(
                Message(
                    f"v3/bodenfeuchte-{tag}@karlsruhe/devices/soil-fp-01/up",
                    json.dumps(up).encode(),
                    dt.datetime.now(dt.timezone.utc),
                )
            )
        assert ingester.process(batch).inserted == 3
    finally:
        engine.dispose()
