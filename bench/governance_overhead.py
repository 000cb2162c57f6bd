"""Overhead of udp_governance on the read path, side by side with the stock anchor.

Runs the same workload twice in fresh processes against the databases of the
ini it is given (``make bench``: the demo portal's; nothing is left behind):
once with the portal's plugins (udp_governance included), once
with udp_governance removed from ckan.plugins (the stock anchor). Workload:
create N public datasets, then time package_show (anonymous, by id),
package_search (anonymous) and package_show as an organization member.
Prints medians (of the per-run medians, runs alternating) and the ratio governance/stock. The datasets are purged after.

    .venv/bin/python bench/governance_overhead.py --ini .udp/ckan.ini [-n 30] [--rounds 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def worker(ini: str, n: int, rounds: int) -> dict[str, float]:
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    config = load_config(ini)
    plugins = os.environ.get("UDP_BENCH_PLUGINS")
    if plugins is not None:
        config["ckan.plugins"] = plugins
    app = make_app(config)
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk

    with app._wsgi_app.test_request_context():
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ctx = {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published"}
        tag = f"bench{os.getpid()}"
        member = tk.get_action("user_create")(
            dict(ctx), {"name": f"{tag}-member", "email": f"{tag}@example.invalid", "password": "Bench-Passwort-1"}
        )
        org = tk.get_action("organization_create")(
            dict(ctx), {"name": f"{tag}-org", "users": [{"name": member["name"], "capacity": "member"}]}
        )
        ids = [
            tk.get_action("package_create")(
                dict(ctx),
                {
                    "name": f"{tag}-{i}",
                    "title": f"Bench {i}",
                    "notes": f"Datensatz {i} des Benchmarks, wird danach gelöscht.",
                    "owner_org": org["id"],
                    "private": False,
                },
            )["id"]
            for i in range(n)
        ]
        try:
            timings: dict[str, list[float]] = {
                "package_show_anon": [],
                "package_search_anon": [],
                "package_show_member": [],
            }
            for r in range(rounds):
                pid = ids[r % n]
                for key, action, context, data in (
                    ("package_show_anon", "package_show", {"user": ""}, {"id": pid}),
                    ("package_search_anon", "package_search", {"user": ""}, {"q": "Bench", "rows": 20}),
                    ("package_show_member", "package_show", {"user": member["name"]}, {"id": pid}),
                ):
                    t0 = time.perf_counter()
                    tk.get_action(action)(context, data)
                    timings[key].append((time.perf_counter() - t0) * 1000)
            out = {k: statistics.median(v) for k, v in timings.items()}
            # both runs must do the same work: every bench dataset public
            out["search_count"] = float(
                tk.get_action("package_search")({"user": ""}, {"q": "Bench", "rows": 0})["count"]
            )
            out["governance_loaded"] = float(p.plugin_loaded("udp_governance"))
            return out
        finally:
            for pid in ids:
                tk.get_action("dataset_purge")(dict(ctx), {"id": pid})
            tk.get_action("organization_purge")(dict(ctx), {"id": org["id"]})
            tk.get_action("user_delete")(dict(ctx), {"id": member["id"]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ini", required=True)
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.ini, args.n, args.rounds)))
        return

    from ckan.cli import load_config

    portal_plugins = load_config(args.ini)["ckan.plugins"]
    stock = " ".join(x for x in portal_plugins.split() if x != "udp_governance")
    runs: dict[str, list[dict[str, float]]] = {"stock": [], "governance": []}
    # alternate the two, so warm caches (Solr, PostgreSQL) favour neither
    for label, plugins in (("stock", stock), ("governance", portal_plugins)) * args.repeat:
        env = dict(os.environ, UDP_BENCH_PLUGINS=plugins)
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", "--ini", args.ini, "-n", str(args.n), "--rounds", str(args.rounds)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        runs[label].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    results = {label: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for label, rs in runs.items()}
    assert results["governance"]["governance_loaded"] == 1.0 and results["stock"]["governance_loaded"] == 0.0
    assert results["governance"]["search_count"] == results["stock"]["search_count"] == args.n
    print(f"{'median ms':24s} {'stock':>8s} {'governance':>11s} {'ratio':>6s}")
    for key in ("package_show_anon", "package_search_anon", "package_show_member"):
        s, g = results["stock"][key], results["governance"][key]
        print(f"{key:24s} {s:8.2f} {g:11.2f} {g / s:6.2f}")


if __name__ == "__main__":
    main()
