"""Initial sync to the transparency portal, side by side with ``ckanapi load``.

Against the stack's test databases (``make bench`` passes the test ini) and the
second stock CKAN (``scripts/second_ckan.sh``) as the portal: creates N public
datasets on the hub (udp_governance left out, so "active and not private" is
public), then

1. ours: ``sync --all``'s enqueue plus the worker's delivery (``sync.deliver``:
   the hub read in one session, one ``package_create`` per new dataset, at most
   ``-p`` calls to the portal at once) until the outbox is empty, in this
   process: wall time, datasets/s, peak RSS of this process (it also holds the
   hub's CKAN app, so this is an upper bound for the worker);
2. stock: the same N portal payloads written as JSON lines and pushed by the
   ecosystem's bulk tool ``ckanapi load datasets -p <same>`` into the emptied
   portal: wall time, datasets/s, peak RSS of its whole process tree (the
   parent and its ``-p`` workers, sampled from /proc).

Prints one JSON line with both and the ratio ours/stock of the wall times.
``make bench`` runs 10,000 datasets (the issue's size); ``-n`` for fewer. Hub
datasets left by an earlier run are reused (``--keep`` keeps them for the next
run); creating them is set-up, not measured (``package_create`` with
``defer_commit``: 100 per commit, the hub's own search index left out).

    .venv/bin/python bench/transparency_sync.py --ini .udp/test.ini -n 1000
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
# the reference data as scripts/stack.sh finds it (the test ini names it through this variable)
os.environ.setdefault("UDP_SHARED_DIR", str((REPO.parent / "shared").resolve()))


# --- peak resident memory of a process tree, sampled from /proc (Linux): the sum
# of the RSS of a process and all its descendants. getrusage(RUSAGE_CHILDREN)
# reports only the largest single child, which for a tool that forks workers
# (ckanapi load -p N) understates the tree.
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and its descendants now."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += int(pathlib.Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack += _children(p)
    return total


class PeakRss:
    """``with PeakRss(pid) as peak: ...``; then ``peak.mib``."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def mib(self) -> float:
        return round(self.peak / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ini", required=True)
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("-p", "--parallel", type=int, default=4, help="concurrent portal calls, ours and ckanapi's")
    parser.add_argument("--keep", action="store_true", help="keep the hub datasets for the next run")
    parser.add_argument(
        "--portal-workers", type=int, default=4, help="gunicorn workers of the second CKAN (both sides alike)"
    )
    args = parser.parse_args()

    from localsources import second_ckan

    load_before = [round(x, 2) for x in os.getloadavg()]
    # the portal serves several requests at once, so it is not what both sides wait for
    os.environ["UDP_SECOND_CKAN_WORKERS"] = str(args.portal_workers)
    remote = second_ckan.start()
    remote.reset()

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    config = load_config(args.ini)
    config["ckan.plugins"] = " ".join(p for p in config["ckan.plugins"].split() if p != "udp_governance")
    config["ckan.search.solr_commit"] = "false"  # set-up speed: the hub's index is not what is measured
    config["ckanext.udp.transparency.concurrency"] = str(args.parallel)
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
    org = (
        tk.get_action("organization_show")(dict(ctx), {"id": "bench-transparenz"})
        if model.Group.get("bench-transparenz")
        else tk.get_action("organization_create")(dict(ctx), {"name": "bench-transparenz", "title": "Bench"})
    )
    have = {
        name: pid
        for pid, name in model.Session.query(model.Package.id, model.Package.name)
        .filter_by(owner_org=org["id"], state="active")
        .all()
    }
    ids = []
    start = time.perf_counter()
    for i in range(args.n):
        name = f"bench-transparenz-{i:05d}"
        if name in have:
            ids.append(have.pop(name))
            continue
        # set-up, not measured: CKAN's package_create with every check, in
        # batches of 100 per commit and without the hub's own search index
        # (``defer_commit``, as bulk loaders call it); neither the sync nor
        # ckanapi reads the hub's index
        pid = tk.get_action("package_create")(
            dict(ctx, defer_commit=True, return_id_only=True),
            {
                "name": name,
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
        ids.append(pid)
        if len(ids) % 100 == 0:
            model.Session.commit()
    model.Session.commit()
    for pid in have.values():  # from a larger earlier run: not part of this one
        tk.get_action("dataset_purge")(dict(ctx), {"id": pid})
    created_s = time.perf_counter() - start
    payloads = [payload.to_portal(tk.get_action("package_show")(dict(ctx), {"id": pid})) for pid in ids]

    tk.config["ckanext.udp.transparency.url"] = remote.url
    tk.config["ckanext.udp.transparency.token"] = remote.token
    portal = Portal.from_config()
    assert portal is not None
    # other public datasets of the test database are not part of the run
    others = set(sync.hub_public_ids()) - set(ids)
    start = time.perf_counter()
    with PeakRss() as ours_rss:
        outbox.enqueue(ids)
        model.Session.commit()
        while outbox.pending():
            sync.deliver(portal, limit=500)
    ours_s = time.perf_counter() - start
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
    with tempfile.TemporaryFile("w+") as err_out:
        proc = subprocess.Popen(
            [
                str(ckanapi),
                "load",
                "datasets",
                "-I",
                f.name,
                "-r",
                remote.url,
                "-a",
                remote.token,
                "-p",
                str(args.parallel),
                "-q",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err_out,
            env=dict(os.environ, PATH=f"{ckanapi.parent}:{os.environ.get('PATH', '')}"),
            text=True,
        )
        with PeakRss(proc.pid) as stock_rss:
            returncode = proc.wait()
        err_out.seek(0)
        stderr = err_out.read()
    stock_s = time.perf_counter() - start
    stock_arrived = remote.action("package_search", q="organization:bench-transparenz", rows=0)["count"]
    pathlib.Path(f.name).unlink()

    remote.reset()
    if not args.keep:
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
                "parallel": args.parallel,
                "hub_create_s": round(created_s, 1),
                "other_public_on_hub": len(others),
                "portal": f"second stock CKAN, gunicorn, {args.portal_workers} workers",
                "load_before": load_before,
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "ours": {
                    "s": round(ours_s, 2),
                    "per_s": round(args.n / ours_s, 1),
                    "arrived": arrived,
                    "peak_rss_mib": ours_rss.mib,
                },
                "ckanapi_load": {
                    "s": round(stock_s, 2),
                    "per_s": round(args.n / stock_s, 1),
                    "arrived": stock_arrived,
                    "peak_rss_mib_tree": stock_rss.mib,
                    "rc": returncode,
                },
                "ratio_time_ours_over_stock": round(ours_s / stock_s, 2),
                # at the measured rates (linear: one call per dataset on either side)
                "projected_10000_s": {
                    "ours": round(10000 * ours_s / args.n),
                    "ckanapi_load": round(10000 * stock_s / args.n),
                },
            }
        )
    )
    if returncode != 0:
        print(stderr[-2000:], file=sys.stderr)
    if arrived != args.n or stock_arrived != args.n:
        sys.exit(1)


if __name__ == "__main__":
    main()
