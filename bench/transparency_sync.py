"""Initial sync to the transparency portal, side by side with ``ckanapi load``.

Against the stack's test databases (``make bench`` passes the test ini) and the
second stock CKAN (``scripts/second_ckan.sh``) as the portal: makes N published
open datasets on the hub as the workflow leaves them (``hub_datasets``: the
first through the real workflow, the others its copies in the hub's tables,
written in bulk, one commit per 100; the hub's search index built once at the
end, ``--no-index`` to leave it out), then

1. ours: ``sync --all``'s enqueue plus the worker's delivery (``sync.deliver``:
   the hub read in one session, one ``package_create`` per new dataset, at most
   ``-p`` calls to the portal at once) until the outbox is empty, in this
   process: wall time, datasets/s, peak RSS of this process (it also holds the
   hub's CKAN app, so this is an upper bound for the worker);
2. stock: the same N payloads ours pushed (as the mapping table recorded them),
   written as JSON lines and pushed by the ecosystem's bulk tool
   ``ckanapi load datasets -p <same>`` into the emptied portal: wall time,
   datasets/s, peak RSS of its whole process tree (the parent and its ``-p``
   workers, sampled from /proc).

The set-up's times (creating, indexing, removing the hub's datasets) are
reported apart; they are not part of either side's figures.
Prints one JSON line with both and the ratio ours/stock of the wall times.
``make bench`` runs 10,000 datasets (the issue's size); ``-n`` for fewer.

    .venv/bin/python bench/transparency_sync.py --ini .udp/test.ini -n 1000
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

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


# --- the hub's datasets: published + open as the workflow leaves them, made in bulk

# the rows a dataset the workflow published has in the tables the sync reads
# (CKAN's package with its extras, resources, tags, organization membership, the
# workflow's state row), with the column naming the dataset
CLONED = (
    ("package", "id"),
    ("resource", "package_id"),
    ("package_tag", "package_id"),
    ("member", "table_id"),
    ("udp_governance_dataset", "package_id"),
)
BATCH = 100  # datasets per commit


def _tables(model: Any) -> list[tuple[Any, str]]:
    import sqlalchemy as sa

    meta = sa.MetaData()
    bind = model.Session.get_bind()
    return [(sa.Table(name, meta, autoload_with=bind), key) for name, key in CLONED]


def hub_datasets(n: int, model: Any, tk: Any) -> tuple[dict[str, Any], list[str]]:
    """``n`` published open datasets on the hub: the first one through the real
    workflow (an editor creates it with CKAN's ``package_create``, submits it,
    the organization's reviewer approves it), the others its copies, row by row
    in the tables it has rows in (``CLONED``; each copy its own id, name, title
    and resource URL), written in bulk with one commit per ``BATCH``. CKAN's
    activity stream and the workflow's audit trail are not copied (neither side
    reads them). Returns the first one (``package_show``) and every id."""
    import uuid

    import sqlalchemy as sa
    from ckan.tests import factories

    run = uuid.uuid4().hex[:6]
    editor = factories.User(name=f"bench-transparenz-editor-{run}", email=f"editor-{run}@example.org")
    reviewer = factories.User(name=f"bench-transparenz-reviewer-{run}", email=f"reviewer-{run}@example.org")
    admin = factories.User(name=f"bench-transparenz-admin-{run}", email=f"admin-{run}@example.org")
    org = factories.Organization(
        name=f"bench-transparenz-{run}",
        title="Stadtkämmerei (Bench)",
        users=[
            {"name": admin["name"], "capacity": "admin"},
            {"name": editor["name"], "capacity": "editor"},
            {"name": reviewer["name"], "capacity": "editor"},
        ],
    )

    def act(user: dict[str, Any], action: str, /, **data: Any) -> Any:
        return tk.get_action(action)({"user": user["name"], "ignore_auth": False}, data)

    act(admin, "udp_reviewer_add", organization_id=org["id"], user=reviewer["name"])
    first = act(
        editor,
        "package_create",
        name=f"bench-transparenz-{run}-00000",
        owner_org=org["id"],
        title="Haushaltsplan 0",
        notes="Bench-Datensatz.",
        license_id="cc-by",
        license_attribution_by_text="Stadt Karlsruhe, Stadtkämmerei",
        tags=[{"name": "Haushalt"}],
        frequency="http://publications.europa.eu/resource/authority/frequency/ANNUAL",
        resources=[{"url": "https://www.karlsruhe.de/bench/0.csv", "name": "Daten", "format": "CSV"}],
    )
    act(editor, "udp_submit", id=first["id"])
    act(reviewer, "udp_approve", id=first["id"])
    template = tk.get_action("package_show")({"ignore_auth": True}, {"id": first["id"]})
    assert template["udp_workflow_state"] == "published" and not template["private"], template
    tid, tname = template["id"], template["name"]
    tables = [
        (table, key, [dict(r._mapping) for r in model.Session.execute(sa.select(table).where(table.c[key] == tid))])
        for table, key in _tables(model)
    ]
    model.Session.commit()
    ids = [tid]
    now = datetime.datetime.utcnow()
    for begin in range(1, n, BATCH):
        for table, _key, rows in tables:
            copies = []
            for i in range(begin, min(begin + BATCH, n)):
                pid, name = str(uuid.UUID(int=uuid.UUID(tid).int ^ i)), f"{tname[:-5]}{i:05d}"
                for row in rows:
                    copy = {}
                    for col, value in row.items():
                        if isinstance(value, str):
                            value = value.replace(tid, pid).replace(tname, name)
                        copy[col] = value
                    if table.name == "package":
                        copy.update(title=f"Haushaltsplan {i}", metadata_created=now, metadata_modified=now)
                    elif table.name == "resource":
                        copy.update(url=f"https://www.karlsruhe.de/bench/{i}.csv")
                    if "id" in copy and table.name != "package":
                        copy["id"] = str(uuid.uuid4())
                    copies.append(copy)
            if copies:
                model.Session.execute(table.insert(), copies)
        ids += [str(uuid.UUID(int=uuid.UUID(tid).int ^ i)) for i in range(begin, min(begin + BATCH, n))]
        model.Session.commit()
    return template, ids


def remove_hub_datasets(template: dict[str, Any], ids: list[str], model: Any, tk: Any, indexed: bool) -> None:
    """The copies deleted in bulk (the reverse of ``hub_datasets``), the first
    one and its organization purged through CKAN, the hub's index emptied of them."""
    from ckanext.udp.transparency.model import mapping

    copies = [pid for pid in ids if pid != template["id"]]
    for begin in range(0, len(copies), 1000):
        chunk = copies[begin : begin + 1000]
        for table, key in reversed(_tables(model)):
            model.Session.execute(table.delete().where(table.c[key].in_(chunk)))
        model.Session.execute(mapping.delete().where(mapping.c.package_id.in_(chunk)))
        model.Session.commit()
    if indexed:
        from ckan.lib.search.common import make_connection

        make_connection().delete(q=f'owner_org:"{template["owner_org"]}"', commit=True)
    ctx = {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}
    tk.get_action("dataset_purge")(dict(ctx), {"id": template["id"]})
    tk.get_action("organization_purge")(dict(ctx), {"id": template["owner_org"]})
    model.Session.execute(mapping.delete())
    model.Session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ini", required=True)
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("-p", "--parallel", type=int, default=4, help="concurrent portal calls, ours and ckanapi's")
    parser.add_argument(
        "--no-index", action="store_true", help="leave the hub's search index out of the set-up (neither side reads it)"
    )
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
    config["ckanext.udp.transparency.concurrency"] = str(args.parallel)
    app = make_app(config)
    flask_app = app._wsgi_app if hasattr(app, "_wsgi_app") else app.apps["flask_app"]._wsgi_app
    flask_app.test_request_context().push()

    import ckan.model as model
    import ckan.plugins.toolkit as tk
    import sqlalchemy as sa

    from ckanext.udp.transparency import outbox, sync
    from ckanext.udp.transparency.model import mapping
    from ckanext.udp.transparency.model import outbox as outbox_table
    from ckanext.udp.transparency.portal import Portal

    model.Session.execute(outbox_table.delete())
    model.Session.execute(mapping.delete())
    model.Session.commit()
    start = time.perf_counter()
    template, ids = hub_datasets(args.n, model, tk)
    created_s = time.perf_counter() - start
    start = time.perf_counter()
    if not args.no_index:
        from ckan.lib import search

        search.rebuild(package_ids=ids, defer_commit=True, quiet=True)
        search.commit()
    indexed_s = time.perf_counter() - start
    # the set-up's own writes left no outbox rows to deliver: the run queues its own
    model.Session.execute(outbox_table.delete())
    model.Session.commit()

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
    org_name = template["organization"]["name"]
    arrived = remote.action("package_search", q=f"organization:{org_name}", rows=0)["count"]
    # ckanapi loads the very payloads ours pushed (the mapping records each copy as pushed)
    payloads = [
        row.pushed for row in model.Session.execute(sa.select(mapping.c.pushed).where(mapping.c.package_id.in_(ids)))
    ]
    model.Session.commit()

    remote.reset()
    remote.action("organization_create", name=org_name, title=template["organization"]["title"])
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
    stock_arrived = remote.action("package_search", q=f"organization:{org_name}", rows=0)["count"]
    pathlib.Path(f.name).unlink()

    remote.reset()
    start = time.perf_counter()
    remove_hub_datasets(template, ids, model, tk, indexed=not args.no_index)
    removed_s = time.perf_counter() - start
    print(
        json.dumps(
            {
                "bench": "transparency_sync",
                "n": args.n,
                "parallel": args.parallel,
                "setup": {
                    "hub_create_s": round(created_s, 1),
                    "hub_create_per_s": round(args.n / created_s, 1),
                    "hub_index_s": None if args.no_index else round(indexed_s, 1),
                    "hub_remove_s": round(removed_s, 1),
                },
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
