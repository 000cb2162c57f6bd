"""SolrCloud (``scripts/cluster.sh``, issue 20): CKAN indexes into and searches the
collection ``ckan_test`` (2 shards x 2 replicas on three Solr nodes, one ZooKeeper);
German analysis and map search work there as on the single core; one node is killed
while 20 clients search through CKAN's Action API, and once the cluster has noticed
(the node left ZooKeeper's live_nodes) no search fails and every result is complete.

The module starts the cluster once (about 1-3 minutes on a loaded 2-core box) and stops
what it started; it is opt-in (``UDP_TEST_CLUSTER=1``, or ``make test-cluster``)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

pytestmark = pytest.mark.skipif(
    os.environ.get("UDP_TEST_CLUSTER") != "1",
    reason="SolrCloud tests are opt-in: UDP_TEST_CLUSTER=1 (make test-cluster)",
)

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "cluster.sh"
COLLECTION = "ckan_test"
N_PLAIN = 28  # plus the two German ones: 30 datasets
CLIENTS = 20
BBOX = '{"type": "Polygon", "coordinates": [[[8.3, 48.95], [8.5, 48.95], [8.5, 49.1], [8.3, 49.1], [8.3, 48.95]]]}'


def _env() -> dict[str, str]:
    """The offset of the stack these tests run on (as tests/udp_testing.stack_port finds it)."""
    offset = (urlsplit(tk.config["ckan.redis.url"]).port or 6380) - 6380
    return dict(os.environ, UDP_PORT_OFFSET=str(offset))


def cluster_sh(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(SCRIPT), *args], env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed: {done.stderr[-3000:] or done.stdout[-3000:]}")
    return done


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback)
        return json.load(answer)


def cluster_status(base: str) -> dict[str, Any]:
    return _get_json(f"{base}/admin/collections?action=CLUSTERSTATUS&wt=json")["cluster"]


def wait_for(condition: Any, timeout: float, what: str) -> float:
    """Poll ``condition`` until true; returns the time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def _pid_alive(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[-1][:1] != "Z"


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    """The cluster of this stack: started here unless it already ran (then left running)."""
    was_running = cluster_sh("status", check=False).returncode == 0
    cluster_sh("start")
    urls = cluster_sh("urls").stdout.split()
    pids = {k: int(cluster_sh("pid", str(k)).stdout) for k in (1, 2, 3)}
    pids[0] = int(cluster_sh("zk-pid").stdout)
    info = {"urls": urls, "pids": pids, "was_running": was_running}
    try:
        yield info
    finally:
        if not was_running:
            cluster_sh("stop", check=False)


@pytest.fixture(scope="module")
def world(cluster: dict[str, Any], reset_db: Any, reset_index: Any) -> Iterator[dict[str, Any]]:
    """CKAN (plugins loaded once) with solr_url on the collection, and 30 datasets indexed through CKAN."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tk.config, "solr_url", f"{cluster['urls'][0]}/{COLLECTION}")
        plugins.load_all()
        try:
            reset_db()
            reset_index()  # clears the collection (CKAN's search.clear_all on solr_url)
            org = factories.Organization()
            names = [
                public_dataset(name="baum", owner_org=org["id"], title="Baumkataster: jeder Baum der Stadt")["name"],
                public_dataset(
                    name="karte",
                    owner_org=org["id"],
                    title="Stadtteilgrenzen",
                    spatial_coverage=[{"text": "Karlsruhe", "bbox": BBOX}],
                )["name"],
            ]
            names += [
                public_dataset(name=f"messreihe-{i:02d}", owner_org=org["id"], title=f"Luftmessung Reihe {i}")["name"]
                for i in range(N_PLAIN)
            ]
            from ckan.tests.helpers import _get_test_app

            yield {"names": sorted(names), "app": _get_test_app(), **cluster}
        finally:
            plugins.unload_all()


@pytest.fixture(autouse=True)
def on_the_cluster(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """CKAN's pytest plugin restores the config before every test: solr_url on the collection again."""
    monkeypatch.setitem(tk.config, "solr_url", f"{world['urls'][0]}/{COLLECTION}")


def search(client: Any, **params: str) -> list[str]:
    query = "&".join(f"{k}={quote(v)}" for k, v in dict(params, rows="100").items())
    answer = client.get(f"/api/3/action/package_search?{query}")
    if answer.status_code != 200:
        raise AssertionError(f"HTTP {answer.status_code}: {answer.get_data(as_text=True)[:300]}")
    result = answer.json["result"]
    names = sorted(d["name"] for d in result["results"])
    if result["count"] != len(names):
        raise AssertionError(f"count {result['count']} but {len(names)} results")
    return names


def test_documents_are_spread_over_both_shards(world: dict[str, Any]) -> None:
    """Every dataset indexed through CKAN, each shard holding part of them."""
    base = world["urls"][0]
    total = _get_json(f"{base}/{COLLECTION}/select?q=*:*&rows=0&wt=json")["response"]["numFound"]
    assert total == len(world["names"])
    state = cluster_status(base)["collections"][COLLECTION]
    assert sorted(state["shards"]) == ["shard1", "shard2"]
    per_shard = []
    for shard, info in state["shards"].items():
        assert len(info["replicas"]) == 2
        assert len({r["node_name"] for r in info["replicas"].values()}) == 2  # replicas on different nodes
        found = _get_json(f"{base}/{COLLECTION}/select?q=*:*&rows=0&wt=json&shards={shard}")["response"]["numFound"]
        per_shard.append(found)
    assert sum(per_shard) == total and min(per_shard) > 0


def test_german_analysis_and_map_search_on_the_collection(world: dict[str, Any]) -> None:
    client = world["app"].test_client()
    assert search(client, q="Bäume") == ["baum"]  # stemming + umlaut folding, as on the single core
    assert search(client, q="Baeume") == ["baum"]
    assert search(client, q="*:*") == world["names"]
    assert search(client, q="*:*", ext_bbox="8.35,48.98,8.45,49.05") == ["karte"]
    assert search(client, q="*:*", ext_bbox="13.3,52.4,13.5,52.6") == []


def test_killing_a_node_while_20_clients_search(world: dict[str, Any]) -> None:
    """SIGKILL a node holding replicas (not the one CKAN's solr_url names) while 20 clients
    search; after it left live_nodes, every search answers 200 with complete results."""
    base = world["urls"][0]
    state = cluster_status(base)["collections"][COLLECTION]
    hosted: dict[str, int] = {}
    for info in state["shards"].values():
        for r in info["replicas"].values():
            hosted[r["node_name"]] = hosted.get(r["node_name"], 0) + 1
    victims = [k for k in (2, 3) if hosted.get(f"127.0.0.1:{urlsplit(world['urls'][k - 1]).port}_solr")]
    assert victims, f"no replica outside node 1: {hosted}"
    victim = max(victims, key=lambda k: hosted[f"127.0.0.1:{urlsplit(world['urls'][k - 1]).port}_solr"])
    victim_node = f"127.0.0.1:{urlsplit(world['urls'][victim - 1]).port}_solr"
    expected = {
        "all": world["names"],
        "german": ["baum"],
        "bbox": ["karte"],
    }
    queries = {"all": {"q": "*:*"}, "german": {"q": "Bäume"}, "bbox": {"q": "*:*", "ext_bbox": "8.35,48.98,8.45,49.05"}}
    results: list[tuple[float, float, str | None]] = []  # (start, end, error)
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(n: int) -> None:
        client = world["app"].test_client()
        i = n
        while not stop.is_set():
            kind = list(queries)[i % 3]
            i += 1
            t0 = time.monotonic()
            try:
                got = search(client, **queries[kind])
                error = None if got == expected[kind] else f"{kind}: incomplete {len(got)} of {len(expected[kind])}"
            except Exception as exc:  # noqa: BLE001 (a failed search is what we count)
                error = f"{kind}: {exc}"[:300]
            with lock:
                results.append((t0, time.monotonic(), error))

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(results) >= CLIENTS, 120, "every client searched once")
        killed_at = time.monotonic()
        os.kill(world["pids"][victim], 9)
        noticed = wait_for(
            lambda: victim_node not in cluster_status(base)["live_nodes"], 120, f"{victim_node} left live_nodes"
        )
        # searches that start after the cluster noticed: at least 3 per client
        wait_for(lambda: sum(1 for r in list(results) if r[0] > noticed) >= 3 * CLIENTS, 300, "searches after")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    before = [r for r in results if r[0] < killed_at]
    window = [r for r in results if killed_at <= r[0] <= noticed]
    after = [r for r in results if r[0] > noticed]
    failed_after = [r[2] for r in after if r[2]]
    print(
        f"\nnode {victim} ({hosted[victim_node]} replicas) killed; noticed after {noticed - killed_at:.1f} s;"
        f" searches before/window/after: {len(before)}/{len(window)}/{len(after)},"
        f" failed: {sum(1 for r in before if r[2])}/{sum(1 for r in window if r[2])}/{len(failed_after)}"
    )
    assert not [r[2] for r in before if r[2]], "searches failed before the kill"
    assert not failed_after, failed_after[:5]
    assert len(after) >= 3 * CLIENTS


def test_stop_leaves_no_jvm(world: dict[str, Any]) -> None:
    """cluster.sh stop ends ZooKeeper and every node it started (by PID, nothing else)."""
    if world["was_running"]:
        pytest.skip("the cluster ran before this module: left running")
    pids = world["pids"]
    cluster_sh("stop")
    assert [pid for pid in pids.values() if _pid_alive(pid)] == []
    assert cluster_sh("status", check=False).returncode == 3
