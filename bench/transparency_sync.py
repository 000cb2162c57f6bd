"""Initial sync to the transparency portal, side by side with ``ckanapi load``.

Against the stack's test databases (``make bench`` passes the test ini) and the
second stock CKAN (``scripts/second_ckan.sh``) as the portal: creates N public
datasets on the hub (udp_governance left out, so "active and not private" is
public), then

1. ours: ``sync --all``'s enqueue plus the worker's delivery (``sync.deliver``)
   until the outbox is empty, in this process: wall time, datasets/s, peak RSS;
2. stock: the same N portal payloads written as JSON lines and pushed by the
   ecosystem's bulk tool ``ckanapi load datasets`` (one process, as documented)
   into the emptied portal: wall time, datasets/s, its peak RSS.

Prints one JSON line with both and the ratio ours/stock of the wall times.

    .venv/bin/python bench/transparency_sync.py --ini .udp/test.ini -n 1000
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ini", required=True)
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()

    from localsources import second_ckan

    remote = second_ckan.start()
    remote.reset()

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    config = load_config(args.ini)
    config["ckan.plugins"] = " ".join(p for p in config["ckan.plugins"].split() if p != "udp_governance")
    app = make_app(config)
    flask_app = app._wsgi_app if hasattr(app, "_wsgi_app") else app.apps["flask_app"]._wsgi_app
    flask_app.test_request_context().push()

    import ckan.model as model
    import ckan.plugins.toolkit as tk

    from ckanext.udp.transparency import outbox, payload, sync
    from ckanext.udp.transparency.model import mapping
    from ckanext.udp.transparency.model import outbox as outbox_table
    from ckanext.udp.transparency.portal import Portal

    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    ctx = {"user": site_user, "ignore_auth": True}
    model.Session.execute(outbox_table.delete())
    model.Session.execute(mapping.delete())
    model.Session.commit()
    stale = model.Group.get("bench-transparenz")
    if stale is not None:  # left by an interrupted run
        for pkg in model.Session.query(model.Package).filter_by(owner_org=stale.id).all():
            tk.get_action("dataset_purge")(dict(ctx), {"id": pkg.id})
        tk.get_action("organization_purge")(dict(ctx), {"id": stale.id})
    org = tk.get_action("organization_create")(dict(ctx), {"name": "bench-transparenz", "title": "Bench"})
    ids = []
    start = time.perf_counter()
    for i in range(args.n):
        pkg = tk.get_action("package_create")(
            dict(ctx),
            {
                "name": f"bench-transparenz-{i:05d}",
                "title": f"Haushaltsplan {i}",
                "notes": "Bench-Datensatz.",
                "owner_org": org["id"],
                "license_id": "cc-by",
                "license_attribution_by_text": "Stadt Karlsruhe, Stadtkämmerei",
                "private": False,
                "tags": [{"name": "Haushalt"}],
                "frequency": "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
                "resources": [{"url": f"https://www.karlsruhe.de/bench/{i}.csv", "name": "Daten", "format": "CSV"}],
            },
        )
        ids.append(pkg["id"])
    created_s = time.perf_counter() - start
    payloads = [payload.to_portal(tk.get_action("package_show")(dict(ctx), {"id": pid})) for pid in ids]

    tk.config["ckanext.udp.transparency.url"] = remote.url
    tk.config["ckanext.udp.transparency.token"] = remote.token
    portal = Portal.from_config()
    assert portal is not None
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    outbox.enqueue(sync.hub_public_ids())
    model.Session.commit()
    while outbox.pending():
        sync.deliver(portal, limit=500)
    ours_s = time.perf_counter() - start
    ours_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrived = remote.action("package_search", q="organization:bench-transparenz", rows=0)["count"]

    remote.reset()
    remote.action("organization_create", name="bench-transparenz", title="Bench")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for data in payloads:
            data = dict(data)
            data.pop("id")
            f.write(json.dumps(data) + "\n")
    ckanapi = pathlib.Path(sys.executable).with_name("ckanapi")
    start = time.perf_counter()
    done = subprocess.run(
        [str(ckanapi), "load", "datasets", "-I", f.name, "-r", remote.url, "-a", remote.token, "-p", "1", "-q"],
        capture_output=True,
        env=dict(os.environ, PATH=f"{ckanapi.parent}:{os.environ.get('PATH', '')}"),
        text=True,
    )
    stock_s = time.perf_counter() - start
    stock_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stock_arrived = remote.action("package_search", q="organization:bench-transparenz", rows=0)["count"]
    pathlib.Path(f.name).unlink()

    remote.reset()
    for pid in ids:
        tk.get_action("dataset_purge")(dict(ctx), {"id": pid})
    tk.get_action("organization_purge")(dict(ctx), {"id": org["id"]})
    model.Session.execute(mapping.delete())
    model.Session.commit()
    print(
        json.dumps(
            {
                "bench": "transparency_sync",
                "n": args.n,
                "hub_create_s": round(created_s, 1),
                "ours": {
                    "s": round(ours_s, 2),
                    "per_s": round(args.n / ours_s, 1),
                    "arrived": arrived,
                    "peak_rss_mib": round(ours_rss / 1024, 1),
                    "rss_before_mib": round(rss0 / 1024, 1),
                },
                "ckanapi_load": {
                    "s": round(stock_s, 2),
                    "per_s": round(args.n / stock_s, 1),
                    "arrived": stock_arrived,
                    "peak_rss_mib": round(stock_rss / 1024, 1),
                    "rc": done.returncode,
                },
                "ratio_time_ours_over_stock": round(ours_s / stock_s, 2),
            }
        )
    )
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    if arrived != args.n or stock_arrived != args.n:
        sys.exit(1)


if __name__ == "__main__":
    main()
