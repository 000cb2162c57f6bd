"""Harvesting a DCAT-AP.de catalog: ckanext-udp's ``udp_dcat`` harvester vs
ckanext-dcat's stock ``DCATRDFHarvester``, end to end (gather, fetch,
import, Solr), in the same run.

The catalog is made of copies of the datasets of the four real catalogs in
``<shared>/dcat-ap-de/catalogs`` (Rostock, Brandenburg, Bremen, Destatis: RDF/XML
as delivered to GovData), paged by 100 with hydra, served by a local HTTP
server. Each harvester harvests its own copy (distinct URIs: the stock harvester
matches guids across sources). Each variant runs in a process of its own, so
that its peak RSS is its own; the job runs stage by stage exactly as the gather
and fetch consumers run it (``ckanext.udp.harvest.runner``).

Measured per variant: datasets/s of the first harvest, peak RSS, and a
re-harvest with nothing changed: its time and the writes it makes (datasets
whose ``metadata_modified`` changed, activities created, harvest objects).

Then the floor (``--no-floor`` skips it): the datasets ours mapped, written
once more through the portal's own ``package_create`` alone (batched commits
and Solr requests, as ours writes them), nothing read, mapped or recorded. Its
rate over stock's is the most any harvester that writes each dataset through
``package_create`` (its validation, the plugins' hooks, CKAN's activity and
index document) could reach on this portal; ours' time over the floor's is what
the harvest itself costs on top of that.

It writes into the *test* databases (``make test`` empties them anyway), so
the demo portal stays as it is:

    make bench             # or:
    .venv/bin/python bench/harvest.py --ini "$(scripts/stack.sh test-ini)" --n 500 --n-stock 500

The issue's run is ``--n 10000 --n-stock 10000`` (both in the same run; the
catalog is built once, ~45 s per 1,000 datasets, and served to each under its
own URIs). ``--profile DIR`` profiles each first harvest with cProfile.
``--batch 1,50`` runs udp_dcat once per import batch size (1: one by one, as
before the batched import was on; 50: the default), each on its own copy of the
catalog, against the one stock run.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import resource
import subprocess
import sys
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
PAGE = 100
# the reference data (shapes, districts) for this process and the variants' processes
os.environ.setdefault("UDP_SHARED_DIR", str(REPO.parent / "shared"))


def build_pages(n: int, tag: str, base: str, prefix: str) -> dict[str, bytes]:
    from localsources import catalogs

    shared = pathlib.Path(os.environ["UDP_SHARED_DIR"])
    parts = []
    for name in catalogs.CATALOGS:
        parts += catalogs.split(catalogs.load(shared, name))
    datasets = catalogs.copies(parts, n, tag=tag)
    pages = catalogs.pages(
        datasets, PAGE, lambda k: f"{base}{prefix}{k}.rdf", catalog_uri=f"http://example.invalid/{tag}/catalog"
    )
    return {f"{prefix}{k}.rdf": body for k, body in enumerate(pages, 1)}


# --- one variant, in a process of its own --------------------------------------------


def _memory_kb(field: str) -> int:
    """This process's resident memory now (``VmRSS``) or its peak (``VmHWM``),
    in kB. Not ``getrusage``'s ``ru_maxrss``: Linux keeps that across ``execve``,
    so a variant's would start at the size of the process that started it (which
    holds the catalogs: 1.2 GB with 2 × 10,000 datasets)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _app(ini: str):
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(ini))
    flask_app = app._wsgi_app if hasattr(app, "_wsgi_app") else app.apps["flask_app"]._wsgi_app
    ctx = flask_app.test_request_context()
    ctx.push()
    return ctx


def _writes(source_id: str) -> dict[str, int]:
    import ckan.model as model
    import sqlalchemy as sa

    rows = model.Session.execute(
        sa.text(
            "SELECT p.id, p.metadata_modified FROM package p JOIN harvest_object o ON o.package_id = p.id "
            "WHERE o.harvest_source_id = :s AND o.current"
        ),
        {"s": source_id},
    ).fetchall()
    activities = model.Session.execute(
        sa.text(
            "SELECT count(*) FROM activity a WHERE a.object_id IN (SELECT package_id FROM harvest_object "
            "WHERE harvest_source_id = :s AND current)"
        ),
        {"s": source_id},
    ).scalar()
    objects = model.Session.execute(
        sa.text("SELECT count(*) FROM harvest_object WHERE harvest_source_id = :s"), {"s": source_id}
    ).scalar()
    model.Session.remove()
    return {"modified": {r[0]: r[1].isoformat() for r in rows}, "activities": activities, "objects": objects}


def run_variant(
    ini: str, variant: str, url: str, profile: str | None = None, batch: int | None = None, again: bool = True
) -> dict:
    ctx = _app(ini)
    import ckan.plugins.toolkit as tk
    from ckanext.harvest.model import HarvestObject

    from ckanext.udp.harvest import runner

    # the catalog is served on loopback: allow it for this process only
    tk.config["ckanext.udp.fetch.allowed_networks"] = "127.0.0.1"
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site_user["name"], "ignore_auth": True}
    org = tk.get_action("organization_create")(dict(context), {"name": f"bench-harvest-{uuid.uuid4().hex[:8]}"})
    source_type = "udp_dcat" if variant == "udp" else "dcat_rdf"
    config: dict = {"rdf_format": "xml", "udp_workflow_state": "published"}
    if variant == "udp" and batch:
        config["import_batch_size"] = batch
    source = tk.get_action("harvest_source_create")(
        dict(context),
        {
            "name": f"bench-{variant}-{uuid.uuid4().hex[:8]}",
            "title": f"Bench {variant}",
            "url": url,
            "source_type": source_type,
            "owner_org": org["id"],
            "frequency": "MANUAL",
            "config": json.dumps(config),
        },
    )
    import ckan.model as model
    import sqlalchemy as sa

    queries = [0]
    by_table: dict[str, int] = {}

    def _count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        queries[0] += 1
        m = STATEMENT.match(statement)
        verb = (m.group(1) or m.group(2)).split()[0].upper() if m else statement.split(None, 1)[0].upper()
        key = f"{verb} {m.group(3)}" if m else verb
        by_table[key] = by_table.get(key, 0) + 1

    sa.event.listen(model.meta.engine, "before_cursor_execute", _count)
    rss_before = _memory_kb("VmRSS")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    job_id = runner.run_source(source["id"])
    first = time.perf_counter() - started
    first_queries = queries[0]
    first_by_table = dict(by_table)
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    peak = _memory_kb("VmHWM")
    shown = tk.get_action("harvest_job_show")(dict(context), {"id": job_id})
    from ckanext.harvest.model import HarvestJob

    job = HarvestJob.get(job_id)
    gather_s = (job.gather_finished - job.gather_started).total_seconds()
    created = HarvestObject.filter(harvest_job_id=job_id, state="COMPLETE").count()
    before = _writes(source["id"])
    counted = _count_writes()
    started = time.perf_counter()
    job2 = runner.run_source(source["id"]) if again else None
    again_s = time.perf_counter() - started
    again_counts = counted()
    after = _writes(source["id"])
    shown2 = tk.get_action("harvest_job_show")(dict(context), {"id": job2}) if job2 else {}
    changed = sum(1 for pid, mod in after["modified"].items() if before["modified"].get(pid) != mod)
    ctx.pop()
    return {
        "variant": variant,
        "datasets": created,
        "stats": shown.get("stats"),
        "first_s": first,
        "gather_s": gather_s,
        "sql_queries": first_queries,
        "sql_by_table": first_by_table,
        "rss_mb_before": rss_before / 1024,
        "rss_mb_peak": peak / 1024,
        "again_s": again_s if again else None,
        "again_stats": shown2.get("stats"),
        "again_datasets_written": changed,
        "again_activities": after["activities"] - before["activities"],
        "again_harvest_objects": after["objects"] - before["objects"],
        "again_counts": again_counts,
        "source_id": source["id"],
    }


def run_floor(ini: str, source_id: str, batch: int = 50) -> dict:
    """The portal's own write path alone, for the datasets ours harvested: each
    mapped dataset dict of ``source_id``'s harvest objects written again, under
    a new id and name into a new organisation, in the state the source names,
    through ``package_create`` (``defer_commit``, as ours writes), committed and
    sent to Solr in batches of ``batch`` (as ours does: one request per batch).
    No reading, mapping, harvest objects or names to look up: what any harvester
    that writes each dataset through the portal's ``package_create`` (its
    validation, plugins, activity, index document) cannot do without."""
    ctx = _app(ini)
    import ckan.model as model
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk
    from ckanext.harvest.model import HarvestObject, HarvestSource

    from ckanext.udp import compat
    from ckanext.udp.harvest.interfaces import IUdpHarvest

    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site_user["name"], "ignore_auth": True}
    org = tk.get_action("organization_create")(dict(context), {"name": f"bench-floor-{uuid.uuid4().hex[:8]}"})
    source = HarvestSource.get(source_id)
    config = json.loads(source.config or "{}")
    dicts = [
        json.loads(row[0])["dataset"]
        for row in model.Session.query(HarvestObject.content).filter(
            HarvestObject.harvest_source_id == source_id,
            HarvestObject.current.is_(True),
            HarvestObject.content.isnot(None),
        )
    ]
    model.Session.remove()
    rss_before = _memory_kb("VmRSS")
    failed = 0
    started = time.perf_counter()
    for first in range(0, len(dicts), batch):
        written = []
        for dataset in dicts[first : first + batch]:
            dataset = dict(dataset, id=str(uuid.uuid4()), owner_org=org["id"])
            dataset["name"] = f"floor-{dataset['id']}"
            for plugin in p.PluginImplementations(IUdpHarvest):
                plugin.udp_harvest_before_create(config, dataset, source=source)
            written.append(
                tk.get_action("package_create")(dict(context, defer_commit=True, return_id_only=True), dataset)
            )
        model.Session.commit()
        failed += len(compat.index_datasets_together(written))
    took = time.perf_counter() - started
    peak = _memory_kb("VmHWM")
    ctx.pop()
    return {
        "variant": "floor",
        "datasets": len(dicts) - failed,
        "first_s": took,
        "rss_mb_before": rss_before / 1024,
        "rss_mb_peak": peak / 1024,
    }


# the verb and the table of a statement (for the SQL statements per dataset by table): a write's own table, a
# read's first FROM
STATEMENT = re.compile(
    r"^\s*(?:(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+|(SELECT)\b.*?\bFROM\s+)\"?(\w+)", re.IGNORECASE | re.DOTALL
)
WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


def _count_writes():
    """Count, from now until the returned function is called: the dataset
    actions that succeed (CKAN's ``action_succeeded`` signal: package_create,
    package_update, ...), the documents sent to Solr, and the SQL statements
    that write, by table."""
    import ckan.model as model
    import pysolr
    import sqlalchemy as sa
    from ckan.lib import signals

    actions: dict[str, int] = {}
    tables: dict[str, int] = {}
    solr = [0]

    def on_action(sender: str, **_kwargs: object) -> None:
        if sender.startswith(("package_", "resource_", "udp_archive", "udp_restore", "udp_publish")) and not (
            sender.endswith(("_show", "_list", "_search"))
        ):
            actions[sender] = actions.get(sender, 0) + 1

    def on_sql(_conn, _cursor, statement: str, *_args: object) -> None:
        m = WRITE.match(statement)
        if m:
            tables[m.group(1)] = tables.get(m.group(1), 0) + 1

    real_add = pysolr.Solr.add

    def add(self, docs, *args, **kwargs):
        solr[0] += len(docs)
        return real_add(self, docs, *args, **kwargs)

    signals.action_succeeded.connect(on_action)
    sa.event.listen(model.meta.engine, "before_cursor_execute", on_sql)
    pysolr.Solr.add = add

    def stop() -> dict:
        signals.action_succeeded.disconnect(on_action)
        sa.event.remove(model.meta.engine, "before_cursor_execute", on_sql)
        pysolr.Solr.add = real_add
        return {"actions": actions, "solr_docs": solr[0], "sql_writes": tables}

    return stop


def _print_profile(variant: str, path: str) -> None:
    import pstats

    print(f"--- profile of {variant}'s first harvest ({path}) ---", flush=True)
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    sys.stdout.flush()


# --- the run ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ini", required=True, help="a CKAN ini with the test databases")
    parser.add_argument("--n", type=int, default=1000, help="datasets of ours' catalog (paged by 100)")
    parser.add_argument("--n-stock", type=int, default=200, help="datasets of stock's catalog")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="profile each variant's first harvest with cProfile into DIR/<variant>.prof and print its top items",
    )
    parser.add_argument(
        "--batch",
        help="udp_dcat's import_batch_size (default: the harvester's, 50; 1: one by one); several, comma-separated "
        "(e.g. 1,50), run udp_dcat once with each against the same stock run",
    )
    parser.add_argument("--first-only", action="store_true", help="measure the first harvest only (no re-harvest)")
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor: ours' datasets written again through the portal's package_create alone",
    )
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant == "floor":
        print("RESULT " + json.dumps(run_floor(args.ini, args.url)))
        return
    if args.variant:
        batch = int(args.batch) if args.batch else None
        print(
            "RESULT "
            + json.dumps(run_variant(args.ini, args.variant, args.url, args.profile, batch, not args.first_only))
        )
        return
    batches: list[int | None] = [int(b) for b in args.batch.split(",")] if args.batch else [None]

    from localsources.site import Site

    with Site() as site:
        t0 = time.perf_counter()
        tag = uuid.uuid4().hex[:6]
        ours = build_pages(args.n, f"u{tag}-", site.base, "/udp/p")
        for path, body in ours.items():
            site.put(path, body, "application/rdf+xml")

        def copy(pages: dict[str, bytes], prefix: str, mark: str) -> dict[str, bytes]:
            """The same catalog under other URIs (building one takes ~45 s per 1,000)."""
            return {
                path.replace("/udp/p", prefix): body.replace(f"u{tag}-".encode(), f"{mark}{tag}-".encode()).replace(
                    f"{site.base}/udp/p".encode(), f"{site.base}{prefix}".encode()
                )
                for path, body in pages.items()
            }

        for k in range(1, len(batches)):  # each udp_dcat run harvests its own copy
            for path, body in copy(ours, f"/udp{k}/p", f"u{k}").items():
                site.put(path, body, "application/rdf+xml")
        stock = (
            copy(ours, "/stock/p", "s")
            if args.n_stock == args.n
            else build_pages(args.n_stock, f"s{tag}-", site.base, "/stock/p")
        )
        del ours
        for path, body in stock.items():
            site.put(path, body, "application/rdf+xml")
        del stock
        print(
            f"catalogs built in {time.perf_counter() - t0:.0f} s: {args.n} datasets for udp_dcat, "
            f"{args.n_stock} for stock, pages of {PAGE}",
            flush=True,
        )
        results = {}
        runs = [
            (f"udp-b{b}" if b else "udp", "udp", b, site.url(f"/udp{k or ''}/p1.rdf")) for k, b in enumerate(batches)
        ]
        for label, variant, batch, url in [*runs, ("stock", "stock", None, site.url("/stock/p1.rdf"))]:
            if args.profile:
                pathlib.Path(args.profile).mkdir(parents=True, exist_ok=True)
            prof = str(pathlib.Path(args.profile) / f"{label}.prof") if args.profile else None
            print(f"{label:6} starts; load average (1, 5, 15 min): {os.getloadavg()}", flush=True)
            results[label] = _spawn(
                label,
                ["--ini", args.ini, "--variant", variant, "--url", url]
                + (["--profile", prof] if prof else [])
                + (["--batch", str(batch)] if batch else [])
                + (["--first-only"] if args.first_only else []),
            )
            if prof:
                _print_profile(label, prof)
            r = results[label]
            offered = args.n if variant == "udp" else args.n_stock
            if r["datasets"] != offered:  # a catalog or harvester that loses datasets measures nothing
                if variant == "udp" or r["datasets"] < offered * 0.9:
                    raise SystemExit(f"variant {label} harvested {r['datasets']} of {offered} datasets: {r['stats']}")
                # stock's mapping gives a few of the real datasets fields the portal's schema refuses
                print(f"{label:6} harvested {r['datasets']} of {offered}: rates are per dataset harvested", flush=True)
            print(f"{label:6} load average after its run: {os.getloadavg()}", flush=True)
            variant = label
            print(
                f"{variant:6} first harvest: {r['datasets']} datasets in {r['first_s']:.1f} s "
                f"= {r['datasets'] / r['first_s']:.2f} datasets/s, peak RSS {r['rss_mb_peak']:.0f} MB "
                f"(after start {r['rss_mb_before']:.0f} MB); gather {r['gather_s']:.1f} s, fetch+import+index "
                f"{r['first_s'] - r['gather_s']:.1f} s, {r['sql_queries']} SQL queries "
                f"({r['sql_queries'] / max(r['datasets'], 1):.0f} per dataset); stats {r['stats']}",
                flush=True,
            )
            top = sorted(r["sql_by_table"].items(), key=lambda kv: -kv[1])[:15]
            per = max(r["datasets"], 1)
            print(
                f"{variant:6} SQL statements per dataset by verb and first table: "
                + ", ".join(f"{k} {v / per:.1f}" for k, v in top),
                flush=True,
            )
            if r["again_s"] is not None:
                print(
                    f"{variant:6} re-harvest, nothing changed: {r['again_s']:.1f} s "
                    f"({r['again_s'] / max(r['datasets'], 1) * 1000:.0f} ms per dataset); datasets written "
                    f"{r['again_datasets_written']}, activities {r['again_activities']}, harvest objects "
                    f"{r['again_harvest_objects']}; stats {r['again_stats']}",
                    flush=True,
                )
                c = r["again_counts"]
                print(
                    f"{variant:6} re-harvest writes: dataset actions {c['actions'] or 'none'}, Solr documents "
                    f"{c['solr_docs']}, SQL writes by table {c['sql_writes']}",
                    flush=True,
                )
    stock = results.pop("stock")
    rate_s = stock["datasets"] / stock["first_s"]
    floor = None
    if not args.no_floor:
        print(f"floor  starts; load average (1, 5, 15 min): {os.getloadavg()}", flush=True)
        floor = _spawn(
            "floor", ["--ini", args.ini, "--variant", "floor", "--url", next(iter(results.values()))["source_id"]]
        )
        print(
            f"floor  the same {floor['datasets']} datasets written again through the portal's package_create "
            f"alone (batches of 50, one Solr request each): {floor['first_s']:.1f} s = "
            f"{floor['first_s'] / max(floor['datasets'], 1) * 1000:.0f} ms per dataset, peak RSS "
            f"{floor['rss_mb_peak']:.0f} MB; load average after: {os.getloadavg()}",
            flush=True,
        )
    print(f"\nload average at the end: {os.getloadavg()}")
    for label, udp in results.items():
        rate_u = udp["datasets"] / udp["first_s"]
        print(
            f"first harvest: {label} {rate_u:.2f} datasets/s vs stock {rate_s:.2f} datasets/s = {rate_u / rate_s:.1f}x"
        )
        if udp["again_s"] is not None and stock["again_s"] is not None:
            per_u, per_s = udp["again_s"] / udp["datasets"], stock["again_s"] / stock["datasets"]
            print(
                f"re-harvest (nothing changed), per dataset: {label} {per_u * 1000:.0f} ms vs stock "
                f"{per_s * 1000:.0f} ms = {per_s / per_u:.1f}x; datasets written: {label} "
                f"{udp['again_datasets_written']} of {udp['datasets']}, stock {stock['again_datasets_written']} of "
                f"{stock['datasets']}"
            )
        print(
            f"peak RSS: {label} {udp['rss_mb_peak']:.0f} MB ({udp['datasets']} datasets), stock "
            f"{stock['rss_mb_peak']:.0f} MB ({stock['datasets']} datasets)"
        )
    if floor is not None and floor["datasets"]:
        rate_f = floor["datasets"] / floor["first_s"]
        print(
            f"floor: package_create alone {rate_f:.2f} datasets/s; the most any harvester writing each dataset "
            f"through it could reach is {rate_f / rate_s:.1f}x stock; "
            + ", ".join(
                f"{label} spends {r['first_s'] / r['datasets'] / (floor['first_s'] / floor['datasets']):.2f}x the floor"
                for label, r in results.items()
            )
        )


def _spawn(label: str, argv: list[str]) -> dict:
    """Run one variant in a process of its own; its result."""
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, cwd=REPO)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        print(done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"variant {label} failed ({done.returncode})")
    return json.loads(line[len("RESULT ") :])


if __name__ == "__main__":
    main()
