"""The harvest queue consumers (``ckan udp harvest gather-consumer`` /
``fetch-consumer``, as ``make run`` starts them) survive an idle queue and a
restart of the stack's Redis, and then harvest: real processes, the real Redis,
a real DCAT harvest from a local HTTP server."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.lib.redis import connect_to_redis
from ckanext.harvest.model import HarvestObject
from udp_testing import start_dcat_harvest, wait_for

REPO = pathlib.Path(__file__).resolve().parent.parent

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/catalog> a dcat:Catalog ; dcat:dataset <http://example.invalid/dataset/pegel> .
<http://example.invalid/dataset/pegel> a dcat:Dataset ;
    dct:identifier "pegel-rhein" ; dct:title "Pegel Rhein (Nachbarstadt)" ;
    dct:description "Geerntet, nachdem Redis neu gestartet war." .
"""


def _waiting_consumers() -> int:
    """Clients of CKAN's Redis database blocked in BLPOP (the consumers, waiting)."""
    db = connect_to_redis().connection_pool.connection_kwargs["db"]
    return sum(1 for c in connect_to_redis().client_list() if c.get("cmd") == "blpop" and int(c.get("db", -1)) == db)


def restart_stack_redis() -> None:
    """Stop and start the stack's own Redis (scripts/stack.sh's functions, on
    the port of this test configuration), as an operator's restart would."""
    port = urlsplit(tk.config["ckan.redis.url"]).port
    env = dict(os.environ, UDP_PORT_OFFSET=str(port - 6380))
    script = 'source scripts/stack.sh && stop_pidfile Redis "$RUN/redis.pid" && start_redis'
    subprocess.run(["bash", "-c", script], cwd=REPO, env=env, check=True, timeout=120, capture_output=True)


@pytest.fixture
def consumers(tmp_path: pathlib.Path) -> Iterator[list[subprocess.Popen]]:
    ckan = pathlib.Path(sys.executable).parent / "ckan"
    ini = tk.config["__file__"]
    procs = []
    for kind in ("gather", "fetch"):
        log = open(tmp_path / f"{kind}.log", "wb")
        procs.append(
            subprocess.Popen(
                [str(ckan), "-c", ini, "udp", "harvest", f"{kind}-consumer"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        )
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for kind in ("gather", "fetch"):
            sys.stdout.write((tmp_path / f"{kind}.log").read_text(errors="replace")[-3000:])


def _alive(procs: list[subprocess.Popen]) -> bool:
    return all(p.poll() is None for p in procs)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_consumers_survive_an_idle_queue_and_a_redis_restart(consumers, http_server):
    http_server.responder = lambda path: (200, "text/turtle", CATALOG.encode())
    wait_for(lambda: _waiting_consumers() >= 2 or not _alive(consumers), 180, "both consumers")
    assert _alive(consumers)

    # idle for longer than redis-py's socket timeout (5 s) and its retries:
    # ckanext-harvest's own consumers die here with "Timeout reading from socket"
    time.sleep(20)
    assert _alive(consumers), "a consumer died on an idle queue"

    restart_stack_redis()
    wait_for(lambda: _waiting_consumers() >= 2 or not _alive(consumers), 60, "the consumers to reconnect")
    assert _alive(consumers), "a consumer died when Redis restarted"

    # and they still harvest
    source = start_dcat_harvest(http_server.url + "/catalog.ttl")

    def harvested() -> bool:
        model.Session.remove()
        return any(o.package_id for o in HarvestObject.filter(harvest_source_id=source.id, current=True))

    wait_for(harvested, 180, "the harvested dataset")
    (obj,) = [o for o in HarvestObject.filter(harvest_source_id=source.id, current=True)]
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": obj.package_id})
    assert pkg["title"] == "Pegel Rhein (Nachbarstadt)"
    assert _alive(consumers)
