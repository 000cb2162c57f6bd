"""Two job workers and two harvest fetch consumers on the same queues, as a second
machine (or a second process on this one) would run them: every job and every harvest
object is done exactly once, none is lost, and both processes of each pair take part.

- Job workers (``ckan jobs worker QUEUE``, RQ): 12 jobs on a queue of the test's own
  (the default queue of the test database may hold jobs other tests left); each notes its
  number and its worker in Redis. CKAN's worker loads the application again for every
  job, ~5-10 s on a loaded box: few jobs. RQ takes a job off the queue with one atomic Redis
  command, so no job can reach both workers.
- Harvest fetch consumers (``ckan udp harvest fetch-consumer``,
  ``ckanext/udp/harvest_dashboard/consumers.py``) behind one gather consumer: a DCAT
  catalogue of 24 datasets. A consumer takes a message with ``BLPOP``
  (``compat.harvest_queue_take``), atomic too; ckanext-harvest's fetch callback counts
  each delivery of an object in ``retry_times``, so an object handled twice shows 2.
  Shown failing: ``harvest_queue_take`` changed to look at the queue's head first and
  remove it only after marking it (``LINDEX`` ... ``LREM``, not atomic) lets both
  consumers take the same object.

Opt-in with the cluster tests (``UDP_TEST_CLUSTER=1``, ``make test-cluster``): five CKAN
processes start, over a minute on a loaded box."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.lib.redis import connect_to_redis
from ckanext.harvest.model import HarvestObject
from udp_testing import start_dcat_harvest, wait_for

from .replica import opt_in

pytestmark = opt_in

REPO = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
JOBS = 12
DATASETS = 24


class Processes:
    """CKAN command-line processes of one test, each with its log; stopped in ``stop``."""

    def __init__(self, tmp_path: pathlib.Path) -> None:
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        ckan = pathlib.Path(sys.executable).parent / "ckan"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
        with (self.tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(ckan), "-c", tk.config["__file__"], *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=env,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            assert p.poll() is None, f"{name} exited ({p.returncode}): {self.log(name)[-3000:]}"

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in self.procs.items():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
            sys.stdout.write(f"--- {name}\n{self.log(name)[-2000:]}\n")


@pytest.fixture
def processes(tmp_path: pathlib.Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop()


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_two_job_workers_run_every_job_exactly_once(processes):
    redis = connect_to_redis()
    key = f"udp-test-two-workers-{uuid.uuid4().hex[:8]}"
    workers = [processes.start(f"worker{i}", "jobs", "worker", key) for i in (1, 2)]

    def both_waiting() -> bool:
        processes.check_alive()
        return all(_worker_ready(redis, w.pid) for w in workers)

    wait_for(both_waiting, 240, "two job workers")
    try:
        for n in range(JOBS):
            tk.enqueue_job("probe_jobs.record", [key, n], title=f"udp test: job {n}", queue=key)
        wait_for(lambda: redis.llen(key) >= JOBS or not processes.alive(), 600, f"{JOBS} jobs done")
        time.sleep(2)  # a job run twice would have landed by now
        processes.check_alive()
        done = [entry.decode().split() for entry in redis.lrange(key, 0, -1)]
    finally:
        redis.delete(key)
    runs = Counter(int(n) for n, _worker in done)
    assert sorted(runs) == list(range(JOBS)), "a job was lost"
    assert [n for n, times in runs.items() if times > 1] == [], "a job ran more than once"
    by_worker = Counter(int(worker) for _n, worker in done)
    assert set(by_worker) == {w.pid for w in workers}, f"not both workers ran jobs: {by_worker}"
    print(f"jobs per worker: {dict(by_worker)}")


def _worker_ready(redis: object, pid: int) -> bool:
    """An RQ worker registers itself in Redis once it listens (``rq:workers``), named
    ``<host>.<pid>`` by default."""
    from rq import Worker

    return any(w.pid == pid for w in Worker.all(connection=redis))  # type: ignore[arg-type]


def _catalogue(n: int) -> bytes:
    lines = [
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
        "<http://example.invalid/catalog> a dcat:Catalog ; dcat:dataset "
        + ", ".join(f"<http://example.invalid/dataset/d{i}>" for i in range(n))
        + " .",
    ]
    for i in range(n):
        lines.append(
            f'<http://example.invalid/dataset/d{i}> a dcat:Dataset ; dct:identifier "zwei-consumer-{i}" ;'
            f' dct:title "Messreihe {i} (zwei Abrufer)" ; dct:description "Datensatz {i} der Nachbarstadt." .'
        )
    return "\n".join(lines).encode()


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_two_harvest_fetch_consumers_import_every_object_exactly_once(processes, http_server):
    http_server.responder = lambda path: (200, "text/turtle", _catalogue(DATASETS))
    processes.start("gather", "udp", "harvest", "gather-consumer")
    fetchers = ["fetch1", "fetch2"]
    for name in fetchers:
        processes.start(name, "udp", "harvest", "fetch-consumer")

    def all_waiting() -> bool:
        processes.check_alive()
        return all(
            f"harvest {name.rstrip('12')} consumer waiting on" in processes.log(name) for name in ["gather", *fetchers]
        )

    wait_for(all_waiting, 240, "the gather and both fetch consumers")

    source = start_dcat_harvest(http_server.url + "/catalog.ttl")

    def objects() -> list[HarvestObject]:
        model.Session.remove()
        return list(HarvestObject.filter(harvest_source_id=source.id))

    def all_imported() -> bool:
        processes.check_alive()
        found = objects()
        if any(o.retry_times > 1 for o in found):  # delivered twice: no need to wait for the rest
            return True
        return len(found) >= DATASETS and all(o.state in ("COMPLETE", "ERROR") for o in found)

    wait_for(all_imported, 600, f"{DATASETS} harvest objects imported")
    time.sleep(3)  # a second delivery of an object would have been counted by now
    found = objects()
    assert len(found) == DATASETS, f"{len(found)} harvest objects for {DATASETS} datasets"
    # fetch_callback adds 1 per delivery: each object went to one consumer, once
    assert {o.guid: o.retry_times for o in found if o.retry_times != 1} == {}, "an object was handled twice"
    assert Counter(o.state for o in found) == {"COMPLETE": DATASETS}, [
        (o.guid, o.state, o.report_status) for o in found if o.state != "COMPLETE"
    ]
    packages = [o.package_id for o in found if o.current]
    assert len(packages) == DATASETS and len(set(packages)) == DATASETS
    names = {tk.get_action("package_show")({"ignore_auth": True}, {"id": p})["title"] for p in packages}
    assert names == {f"Messreihe {i} (zwei Abrufer)" for i in range(DATASETS)}
    # both consumers took part (ckanext-harvest logs each object it receives; the queue may
    # also hold ids of objects other tests left, which are not in this database)
    ours = {o.id for o in found}
    received = {
        name: [i for i in re.findall(r"Received harvest object id: (\S+)", processes.log(name)) if i in ours]
        for name in fetchers
    }
    per_consumer = {name: len(ids) for name, ids in received.items()}
    print(f"harvest objects per fetch consumer: {per_consumer}")
    assert all(per_consumer.values()), f"not both fetch consumers took objects: {per_consumer}"
    taken = Counter(i for ids in received.values() for i in ids)
    assert taken == dict.fromkeys(ours, 1), "each object received exactly once, by one consumer"
    processes.check_alive()
