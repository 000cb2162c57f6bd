"""Search throughput and p95 with 20 concurrent clients: the stack's single Solr core
vs the SolrCloud collection (2 shards x 2 replicas on three nodes, scripts/cluster.sh),
in the same run, on the same documents (issue 20).

Both targets get a fresh index of their own (a core ``bench_single`` beside the stack's
cores, made from the ``ckan`` core's conf; a collection ``bench_cluster`` of the
configset ``ckan``), both removed again at the end. The documents have the shape CKAN's
indexer writes (name, title, notes, tags, organization, res_format, license, a stored
``validated_data_dict`` of ~2 KB); the queries are the ones CKAN's ``package_search``
sends for a visitor's search: dismax over ``name^4 title^4 tags^2 groups^2 text`` with
``mm=2<-1 5<80%``, the public/active filter, five facets, 20 rows, ``score desc,
metadata_modified desc``; German words with plurals and umlauts. Measured is Solr as
CKAN calls it (HTTP keep-alive per client), not CKAN's web CPU.

On one 2-core machine the cluster cannot be faster: every query fans out to two shards
and merges, and all JVMs share the same two cores. The figures show the cost of that
fan-out; the gain comes when the nodes get machines of their own.

    make bench     # or:
    .venv/bin/python bench/cluster_search.py --n 10000 [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import requests

REPO = pathlib.Path(__file__).resolve().parent.parent
STATE = pathlib.Path(os.environ.get("UDP_STATE") or REPO / ".udp")
OFF = int(os.environ.get("UDP_PORT_OFFSET") or 0)
SINGLE = f"http://127.0.0.1:{8983 + OFF}/solr"
CORE, COLLECTION = "bench_single", "bench_cluster"
SITE_ID = "bench"

WORDS = [
    "Baum", "Straße", "Luftqualität", "Wasserstand", "Schule", "Verkehr", "Parkplatz", "Radweg", "Haushalt",
    "Bevölkerung", "Wahl", "Lärm", "Klima", "Energie", "Abfall", "Spielplatz", "Bebauungsplan", "Haltestelle",
    "Kindergarten", "Friedhof", "Brücke", "Gebäude", "Stadtteil", "Baustelle", "Bodenfeuchte", "Niederschlag",
    "Temperatur", "Feinstaub", "Denkmal", "Sporthalle", "Bibliothek", "Museum", "Hochwasser", "Grünfläche",
]  # fmt: skip
QUERIES = [
    "Bäume", "Straßen", "Schulen", "Verkehr Radweg", "Luftqualitaet", "Haltestellen", "Gebäude Stadtteil",
    "Bodenfeuchte", "Spielplätze", "Klima Energie", "Brücken", "Friedhöfe", "Baustellen Verkehr", "Museen",
]  # fmt: skip
ORGS = ["gartenbauamt", "tiefbauamt", "amt-fuer-umweltschutz", "stadtplanungsamt", "ordnungsamt", "schulamt"]
FORMATS = ["CSV", "JSON", "GeoJSON", "PDF", "XLSX", "WMS"]


def documents(n: int, seed: int = 20) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        title = " ".join(rnd.sample(WORDS, 3)) + f" {2000 + i % 26}"
        notes = " ".join(rnd.choice(WORDS) for _ in range(30))
        tags = rnd.sample(WORDS, 3)
        org = rnd.choice(ORGS)
        fmts = rnd.sample(FORMATS, 2)
        pkg = {"name": f"bench-{i:05d}", "title": title, "notes": notes, "tags": [{"name": t} for t in tags]}
        pkg["resources"] = [{"format": f, "url": f"https://transparenz.karlsruhe.de/{i}.{f.lower()}"} for f in fmts]
        docs.append(
            {
                "id": f"bench-{i:05d}",
                "index_id": f"{SITE_ID}-{i:05d}",
                "site_id": SITE_ID,
                "entity_type": "package",
                "dataset_type": "dataset",
                "state": "active",
                "capacity": "public",
                "name": pkg["name"],
                "title": title,
                "notes": notes,
                "tags": tags,
                "organization": org,
                "res_format": fmts,
                "license_id": "dl-by-de/2.0",
                "metadata_modified": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z",
                "metadata_created": "2025-01-01T00:00:00Z",
                "validated_data_dict": json.dumps(pkg) + " " * 1500,
            }
        )
    return docs


def ckan_query(q: str) -> dict[str, Any]:
    """What CKAN 2.12's package_search sends to Solr for an anonymous visitor's search."""
    return {
        "q": q,
        "defType": "dismax",
        "tie": "0.1",
        "mm": "2<-1 5<80%",
        "qf": "name^4 title^4 tags^2 groups^2 text",
        "q.alt": "*:*",
        "fq": ["+dataset_type:dataset", f'+site_id:"{SITE_ID}"', "+state:active", "+capacity:public"],
        "rows": "20",
        "start": "0",
        "sort": "score desc, metadata_modified desc",
        "fl": "id validated_data_dict",
        "facet": "true",
        "facet.limit": "50",
        "facet.mincount": "1",
        "facet.field": ["organization", "groups", "tags", "res_format", "license_id"],
        "wt": "json",
    }


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=300) as answer:  # noqa: S310 (loopback)
        return json.load(answer)


def cluster_sh(*args: str) -> str:
    done = subprocess.run(
        [str(REPO / "scripts" / "cluster.sh"), *args], capture_output=True, text=True, timeout=1200, check=False
    )
    if done.returncode:
        raise SystemExit(f"cluster.sh {' '.join(args)} failed: {done.stderr[-2000:] or done.stdout[-2000:]}")
    return done.stdout


def make_single_core() -> str:
    home = STATE / "solr" / "home"
    inst = home / CORE
    if CORE in _get(f"{SINGLE}/admin/cores?action=STATUS&wt=json")["status"]:
        _get(f"{SINGLE}/admin/cores?action=UNLOAD&core={CORE}&deleteInstanceDir=true&wt=json")
    shutil.rmtree(inst, ignore_errors=True)
    shutil.copytree(home / "ckan" / "conf", inst / "conf")
    _get(f"{SINGLE}/admin/cores?action=CREATE&name={CORE}&instanceDir={inst}&dataDir=data&wt=json")
    return f"{SINGLE}/{CORE}"


def drop_single_core() -> None:
    _get(f"{SINGLE}/admin/cores?action=UNLOAD&core={CORE}&deleteInstanceDir=true&wt=json")


def make_collection(base: str) -> str:
    names = _get(f"{base}/admin/collections?action=LIST&wt=json")["collections"]
    if COLLECTION in names:
        _get(f"{base}/admin/collections?action=DELETE&name={COLLECTION}&wt=json")
    _get(
        f"{base}/admin/collections?action=CREATE&name={COLLECTION}&numShards=2&replicationFactor=2"
        "&collection.configName=ckan&waitForFinalState=true&wt=json"
    )
    return f"{base}/{COLLECTION}"


def index(url: str, docs: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    with requests.Session() as http:
        for i in range(0, len(docs), 500):
            http.post(f"{url}/update?wt=json", json=docs[i : i + 500], timeout=600).raise_for_status()
        http.get(f"{url}/update?commit=true&wt=json", timeout=600).raise_for_status()
    found = _get(f"{url}/select?q=*:*&rows=0&wt=json")["response"]["numFound"]
    if found != len(docs):
        raise SystemExit(f"{url}: {found} documents indexed, not {len(docs)}")
    return time.perf_counter() - started


def load(url: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        rnd = random.Random(n)
        with requests.Session() as http:
            while time.monotonic() < deadline:
                params = ckan_query(rnd.choice(QUERIES))
                t0 = time.perf_counter()
                try:
                    answer = http.get(f"{url}/select", params=params, timeout=60)
                    ok = answer.status_code == 200 and answer.json()["responseHeader"]["status"] == 0
                except (requests.RequestException, ValueError):
                    ok = False
                took = time.perf_counter() - t0
                with lock:
                    if ok:
                        latencies.append(took)
                    else:
                        errors[0] += 1

    # warm-up: each query once (caches of both targets equally cold before)
    with requests.Session() as http:
        for q in QUERIES:
            http.get(f"{url}/select", params=ckan_query(q), timeout=60).raise_for_status()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
        "load": (load_before, os.getloadavg()[0]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="datasets (documents) in each index")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="load per target")
    args = parser.parse_args()

    was_running = subprocess.run([str(REPO / "scripts" / "cluster.sh"), "status"], capture_output=True).returncode == 0
    cluster_sh("start")
    cloud_base = cluster_sh("url").strip()
    try:
        docs = documents(args.n)
        single_url = make_single_core()
        cloud_url = make_collection(cloud_base)
        print(f"{args.n} documents; indexed in {index(single_url, docs):.1f} s (single core)", flush=True)
        print(f"{args.n} documents; indexed in {index(cloud_url, docs):.1f} s (2x2 collection)", flush=True)
        for q in QUERIES[:3]:  # same answers from both
            a = _get(f"{single_url}/select?{urllib.parse.urlencode(ckan_query(q), doseq=True)}")["response"]
            b = _get(f"{cloud_url}/select?{urllib.parse.urlencode(ckan_query(q), doseq=True)}")["response"]
            if a["numFound"] != b["numFound"]:
                raise SystemExit(f"{q!r}: single core finds {a['numFound']}, collection {b['numFound']}")
        results = {}
        for label, url in (("single core", single_url), ("2x2 collection", cloud_url)):
            results[label] = r = load(url, args.clients, args.seconds)
            print(
                f"{label:15} {r['per_s']:7.1f} searches/s  p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms"
                f"  errors {r['errors']}/{r['requests'] + r['errors']}  load {r['load'][0]:.1f} -> {r['load'][1]:.1f}",
                flush=True,
            )
        s, c = results["single core"], results["2x2 collection"]
        print(
            f"\ncollection / single core: throughput {c['per_s'] / s['per_s']:.2f}x,"
            f" p95 {c['p95_ms'] / s['p95_ms']:.2f}x"
            f" ({args.clients} clients, {args.n} datasets, {args.seconds:.0f} s each; one 2-core machine)"
        )
        drop_single_core()
        _get(f"{cloud_base}/admin/collections?action=DELETE&name={COLLECTION}&wt=json")
    finally:
        if not was_running:
            cluster_sh("stop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
