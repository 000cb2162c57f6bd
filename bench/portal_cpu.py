"""CPU time per page of the citizen portal, in-process, ours beside stock CKAN
(issue 13, item 8): where the load test's time goes, measurable on a busy box.

The same pages as ``bench/portal_load.py`` (home, search with facets, dataset,
resource preview, Action API) are asked through the whole WSGI application
(CKAN's middleware and ours, as gunicorn serves it) with werkzeug's test
client, one request at a time, in two child processes: ours (the ini as
given) and stock (the same ini with ``ckan.plugins`` reduced as the load test
reduces it). The process's CPU time (``time.process_time``: this worker's
Python and C code, not Solr's or PostgreSQL's) and the wall time are taken
per request; the medians are printed side by side with the ratio ours/stock
and the load average, which says how busy the box was. ``--profile PAGE``
prints cProfile's top functions of ours for one page.

    .venv/bin/python bench/portal_cpu.py --ini .udp/ckan.ini [--repeat 30] [--datasets 0]
        [--profile Datensatz] [--only ours|stock] [--warm-queries]

``--datasets N`` first makes public copies of the demo datasets until N are
there (as the load test does; ``bench-portal-*``); by default the portal's
datasets are used as they are.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pathlib
import pstats
import random
import statistics
import sys
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("portal_load", HERE / "portal_load.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


portal_load = _load_bench()
PAGES: list[str] = portal_load.PAGES


def _alternate(a: list[str], b: list[str]) -> list[str]:
    """a[0], b[0], a[1], b[1], ... (b cycled): half of one kind, half of the other, as the load test mixes them."""
    if not b:
        return a
    return [x for i, first in enumerate(a) for x in (first, b[i % len(b)])]


def urls_of(targets: dict[str, Any], page: str, n: int, skip: int = 0) -> list[str]:
    """``n`` addresses of one kind of page, from the ``skip``-th on, cycling through the
    targets (the same for both portals). The warm-up takes the ``n`` after the measured
    ones: a measured search was not asked before (no warm per-process query cache)."""
    if page == "Startseite":
        pool = ["/"]
    elif page == "Suche mit Facetten":
        pool = _alternate(
            [f"/dataset/?{q}" for q in targets["searches"]],
            [f"/dataset/?{q}" for q in targets.get("facet_searches", [])],
        )
    elif page == "Datensatz":
        pool = [f"/dataset/{name}" for name in targets["datasets"][: max(40, 2 * n)]]
    elif page == "Ressourcenvorschau":
        pool = list(targets["previews"])
    else:
        pool = _alternate(
            [f"/api/3/action/package_search?{q}" for q in targets["api_searches"]],
            [f"/api/3/action/package_show?id={name}" for name in targets["datasets"][: max(8, n)]],
        )
    if page in ("Suche mit Facetten", "Action API"):
        # drawn from the whole list, as the load test's visitors draw (the list starts with the
        # free phrases, mostly sentences: its head alone is not the mix); fixed seed, same for both
        pool = random.Random(13).sample(pool, len(pool))
    return [pool[(skip + i) % len(pool)] for i in range(n)]


def measure(
    ini: str, targets: dict[str, Any], repeat: int, profile: str | None, warm_queries: bool = False
) -> dict[str, Any]:
    from werkzeug.test import Client

    from ckanext.udp import compat

    app = compat.make_wsgi_app(ini)
    compat.build_js_translations()
    client = Client(app)
    headers = {"Accept-Language": "de-DE,de"}

    def get(url: str) -> int:
        response = client.get(url, headers=headers)
        response.get_data()
        response.close()
        return response.status_code

    # warm up on other addresses of the same kinds (templates compiled, the model loaded), so the
    # measured searches are new to the process, as most are in real traffic (--warm-queries: not so)
    statuses: dict[str, int] = {}
    for page in PAGES:
        for url in dict.fromkeys(urls_of(targets, page, repeat, skip=0 if warm_queries else repeat)):
            get(url)
    result: dict[str, Any] = {"pages": {}, "load": os.getloadavg()[0]}
    for page in PAGES:
        cpu, wall = [], []
        for url in urls_of(targets, page, repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            statuses[url] = get(url)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        result["pages"][page] = {
            "cpu": statistics.median(cpu),
            "cpu_mean": statistics.fmean(cpu),
            "wall": statistics.median(wall),
        }
    result["load_end"] = os.getloadavg()[0]
    result["errors"] = {u: s for u, s in statuses.items() if s != 200}
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for url in urls_of(targets, profile, repeat, skip=0 if warm_queries else 2 * repeat):
            get(url)
        profiler.disable()
        if os.environ.get("UDP_PROFILE_OUT"):  # the raw profile, for pstats or snakeviz
            profiler.dump_stats(os.environ["UDP_PROFILE_OUT"])
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", default=str(HERE.parent / ".udp" / "ckan.ini"))
    parser.add_argument("--repeat", type=int, default=30, help="requests per page and portal")
    parser.add_argument("--datasets", type=int, default=0, help="at least this many public datasets first")
    parser.add_argument("--profile", choices=PAGES, help="cProfile of ours (of stock with --only stock) for this page")
    parser.add_argument("--only", choices=["ours", "stock"])
    parser.add_argument(
        "--warm-queries",
        action="store_true",
        help="warm up on the measured addresses themselves (every search's query already cached)",
    )
    parser.add_argument("--child", choices=["targets", "ours", "stock"], help=argparse.SUPPRESS)
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ini = pathlib.Path(args.ini).resolve()
    state = ini.parent / "bench-portal"
    state.mkdir(exist_ok=True)
    stock_ini = state / "stock-cpu.ini"

    if args.child == "targets":
        print(json.dumps(portal_load.prepare(str(ini), args.datasets)))
        return
    if args.child:
        targets = json.loads(pathlib.Path(args.targets).read_text())
        config = str(ini) if args.child == "ours" else str(stock_ini)
        if args.child == "stock":  # the resource page where stock lacks the view type (as portal_load.py)
            targets["previews"] = targets.get("previews_stock", targets["previews"])
        profile = args.profile  # ours, or stock when only stock runs (--only stock)
        print(json.dumps(measure(config, targets, args.repeat, profile, args.warm_queries)))
        return

    stock_ini.write_text(
        "# Generated by bench/portal_cpu.py: the same portal with ckanext-udp's plugins off.\n"
        f"[app:main]\nuse = config:{ini}\nckan.plugins = {portal_load.STOCK_PLUGINS}\n"
    )
    me = [sys.executable, __file__, "--ini", str(ini), "--repeat", str(args.repeat), "--datasets", str(args.datasets)]
    done = portal_load.run_child(me, "targets")
    targets = json.loads(done.stdout.strip().splitlines()[-1])
    path = state / "cpu-targets.json"
    path.write_text(json.dumps(targets))
    results: dict[str, dict[str, Any]] = {}
    for label in ("ours", "stock"):
        if args.only and args.only != label:
            continue
        extra = ["--profile", args.profile] if args.profile and (label == "ours" or args.only == "stock") else []
        extra += ["--warm-queries"] if args.warm_queries else []
        done = portal_load.run_child([*me, "--targets", str(path), *extra], label)
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        if results[label]["errors"]:
            print(f"{label}: answers other than 200: {results[label]['errors']}")
    for label in ("ours", "stock"):
        if "profile" in results.get(label, {}):
            print(f"cProfile of {label}:")
            print(results[label]["profile"])
    print(
        f"{targets['count']} public datasets, {args.repeat} requests per page, one at a time, "
        f"{'every query seen in the warm-up' if args.warm_queries else 'searches new to the process'} "
        f"({targets.get('queries', '?')} distinct queries); "
        f"{os.cpu_count()} CPUs; load average (1 min) at start/end: "
        + ", ".join(f"{k} {v['load']:.1f}/{v['load_end']:.1f}" for k, v in results.items())
    )
    # medians, and the means (search and API pages mix two kinds of request: the mean weighs both)
    print(
        f"{'page':<22} {'ours CPU':>9} {'stock CPU':>10} {'ratio':>6} {'ours mean':>10} {'stock mean':>11} "
        f"{'ratio':>6} {'ours wall':>10} {'stock wall':>11}"
    )
    nan = float("nan")
    for page in PAGES:
        o = results.get("ours", {}).get("pages", {}).get(page) or {}
        s = results.get("stock", {}).get("pages", {}).get(page) or {}
        ratio = f"{o['cpu'] / s['cpu']:.2f}" if o and s and s["cpu"] else "-"
        ratio_mean = f"{o['cpu_mean'] / s['cpu_mean']:.2f}" if o.get("cpu_mean") and s.get("cpu_mean") else "-"
        print(
            f"{page:<22} {o.get('cpu', nan):>7.1f}ms {s.get('cpu', nan):>8.1f}ms {ratio:>6} "
            f"{o.get('cpu_mean', nan):>8.1f}ms {s.get('cpu_mean', nan):>9.1f}ms {ratio_mean:>6} "
            f"{o.get('wall', nan):>8.1f}ms {s.get('wall', nan):>9.1f}ms"
        )


if __name__ == "__main__":
    main()
