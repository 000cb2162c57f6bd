"""Load test of the citizen portal (issue 13, item 8), side by side with stock CKAN.

Two portals on the same stack and the same data, each served by gunicorn with
``config/gunicorn.conf.py`` (as ``make run`` and production serve it):

- ours: the ini as given (every ckanext-udp plugin on);
- ours without the AI search: when the ini runs it (``udp_semantic``, issue 19),
  the same portal with ``ckanext.udp.semantic.enabled = false`` is measured too
  (``--no-without-ai-search-too`` skips it), so what the AI search costs shows
  apart from the rest of ckanext-udp;
- stock: the same ini with ``ckan.plugins`` reduced to CKAN's own plugins
  (activity, datastore and the stock views): ckanext-udp's plugins off.

First at least ``--datasets`` public datasets are made (copies of the demo
datasets, named ``bench-portal-*``; removed again afterwards unless ``--keep``),
then locust (PyPI; installed into ``.udp/locust-venv`` on first use, apart from
CKAN's environment) runs the same mix of visitors against each portal in turn:
home page, search (with a query and facets), dataset page, resource preview and
Action API (package_search, package_show). The searches draw from a few
hundred distinct queries (words of the datasets and free phrases, fixed seed:
the same list for both portals), so per-process caches are hit as often as
real traffic would hit them, not every time. Prints p50/p95 per page for both
and the ratio ours/stock (each of ours), and the error counts. Query vectors an
earlier run shared in Redis are dropped first.

The issue's size is the default (50 users for 5 minutes each); shorter runs:

    .venv/bin/python bench/portal_load.py --ini .udp/ckan.ini [--users 50] [--duration 300]
        [--datasets 1000] [--workers 4] [--think 1 3] [--keep]

This file is also the locustfile (``locust -f bench/portal_load.py``): the
visitor class below is defined only where locust is importable.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

REPO = pathlib.Path(__file__).resolve().parent.parent
LOCUST_VERSION = "2.47.0"
STOCK_PLUGINS = "activity datastore datatables_view text_view image_view"
PREFIX = "bench-portal-"
PAGES = ["Startseite", "Suche mit Facetten", "Datensatz", "Ressourcenvorschau", "Action API"]


# --- the visitors (run by locust) ----------------------------------------------

try:
    from locust import HttpUser, between, task
except ImportError:  # the orchestrator runs in CKAN's environment, without locust
    HttpUser = None

if HttpUser is not None:
    _TARGETS: dict[str, Any] = json.loads(pathlib.Path(os.environ["UDP_LOAD_TARGETS"]).read_text())

    class Citizen(HttpUser):  # type: ignore[misc,valid-type]
        """A citizen: home page, searches with facets, datasets, previews; an
        app developer's calls of the Action API in the same mix."""

        # think time between two pages of one visitor, seconds (--think)
        wait_time = between(*_TARGETS.get("think", (1, 3)))

        @task(2)
        def home(self) -> None:
            self.client.get("/", name="Startseite")

        @task(3)
        def search(self) -> None:
            # half the searches with words (drawn from a few hundred distinct queries), half by facets only
            if random.random() < 0.5 or not _TARGETS.get("facet_searches"):
                query = random.choice(_TARGETS["searches"])
            else:
                query = random.choice(_TARGETS["facet_searches"])
            self.client.get(f"/dataset/?{query}", name="Suche mit Facetten")

        @task(3)
        def dataset(self) -> None:
            self.client.get(f"/dataset/{random.choice(_TARGETS['datasets'])}", name="Datensatz")

        @task(2)
        def preview(self) -> None:
            self.client.get(random.choice(_TARGETS["previews"]), name="Ressourcenvorschau")

        @task(2)
        def api(self) -> None:
            if random.random() < 0.5:
                query = random.choice(_TARGETS["api_searches"])
                self.client.get(f"/api/3/action/package_search?{query}", name="Action API")
            else:
                name = random.choice(_TARGETS["datasets"])
                self.client.get(f"/api/3/action/package_show?id={name}", name="Action API")


# --- data ------------------------------------------------------------------------


def prepare(ini: str, datasets: int) -> dict[str, Any]:
    """At least ``datasets`` public datasets (copies of the demo datasets) and
    the addresses the visitors use. Runs in a child process (CKAN's app)."""
    from ckanext.udp import compat

    app = compat.make_wsgi_app(ini)
    import ckan.plugins.toolkit as tk

    flask_app = getattr(app, "_wsgi_app", app)
    with flask_app.test_request_context():
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ctx = {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published"}
        public = tk.get_action("package_search")({"user": ""}, {"rows": 1000, "fl": "name"})
        demo = [d for d in public["results"] if not d["name"].startswith(PREFIX)]
        if not demo:
            raise SystemExit("no demo datasets: run `make run` (it loads them) first")
        templates = [tk.get_action("package_show")(dict(ctx), {"id": d["name"]}) for d in demo]
        have = public["count"]
        made, started = 0, time.perf_counter()
        i = 0
        while have + made < datasets:
            i += 1
            name = f"{PREFIX}{i:04d}"
            try:
                tk.get_action("package_show")(dict(ctx), {"id": name})
                continue
            except tk.ObjectNotFound:
                pass
            source = templates[i % len(templates)]
            copy = {
                k: v
                for k, v in source.items()
                if k not in ("id", "name", "resources", "revision_id", "metadata_created", "metadata_modified")
                and not k.startswith(("udp_", "num_", "relationships", "tracking", "organization"))
            }
            copy.update(
                name=name,
                title=f"{source['title']} ({i})",
                owner_org=source["owner_org"],
                resources=[
                    {
                        "name": r.get("name"),
                        "url": r.get("url"),
                        "format": r.get("format"),
                        "description": r.get("description", ""),
                    }
                    for r in source.get("resources", [])
                    if not r.get("datastore_active")
                ],
            )
            tk.get_action("package_create")(dict(ctx), copy)
            made += 1
        public = tk.get_action("package_search")({"user": ""}, {"rows": 0, "facet.field": '["tags","organization"]'})
        tags = [t["name"] for t in public["search_facets"]["tags"]["items"]][:10]
        orgs = [o["name"] for o in public["search_facets"]["organization"]["items"]][:10]
        names = [
            d["name"] for d in tk.get_action("package_search")({"user": ""}, {"rows": 1000, "fl": "name"})["results"]
        ]
        previews, previews_stock = [], []
        stock_views = set(STOCK_PLUGINS.split())
        for pkg in templates:
            for res in pkg.get("resources", []):
                views = tk.get_action("resource_view_list")(dict(ctx), {"id": res["id"]})
                page = f"/dataset/{pkg['name']}/resource/{res['id']}"
                if views:
                    previews.append(f"{page}/view/{views[0]['id']}")
                else:  # no view: the resource page (with its preview area) is what a visitor opens
                    previews.append(page)
                # stock CKAN has no view of ckanext-udp's types (map, chart): it answered those with 500
                # (fast errors, which flattered its figures); there the visitor opens the resource page
                previews_stock.append(previews[-1] if not views or views[0]["view_type"] in stock_views else page)
        queries = query_list([f"{t.get('title') or ''} {t.get('notes') or ''}" for t in templates])
        forgotten = forget_shared_query_vectors()
        rng = random.Random(13)  # the same addresses for ours and stock, and from run to run
        # half the word searches also filter by a tag (the facets beside them), half do not
        searches = [
            urllib.parse.urlencode({"q": q, **({"tags": rng.choice(tags)} if i % 2 and tags else {})})
            for i, q in enumerate(queries)
        ]
        facet_searches = [urllib.parse.urlencode({"organization": o, "tags": rng.choice(tags)}) for o in orgs]
        return {
            "made": made,
            "seconds_to_make": round(time.perf_counter() - started, 1),
            "count": public["count"],
            "datasets": names,
            "previews": previews,
            "previews_stock": previews_stock,
            "searches": searches,
            "facet_searches": facet_searches,
            "queries": len(queries),
            "api_searches": [urllib.parse.urlencode({"q": q, "rows": 10}) for q in queries],
            "previews_with_views": sum("/view/" in p for p in previews),
            "forgotten_query_vectors": forgotten,
        }


def forget_shared_query_vectors() -> int:
    """Drop the query vectors earlier runs left in CKAN's Redis (the AI search shares
    them between workers for a day): each run starts as cold as the first, and the
    workers' own caches are empty anyway (gunicorn is started for the run)."""
    try:
        from ckanext.udp import rediscache
        from ckanext.udp.semantic.model import SHARED_PREFIX
    except ImportError:
        return 0
    redis = rediscache.client(5.0)
    keys = list(redis.scan_iter(match=f"{SHARED_PREFIX}*", count=1000))
    return int(redis.delete(*keys)) if keys else 0


#: what citizens type beside the words of the datasets (free phrases; the same for both portals)
FREE_QUERIES = [
    "Bäume", "Klima", "Verkehr", "Stadtteile", "Kinder", "Umwelt", "Parken", "Luft",
    "wo kann ich in der Innenstadt parken", "Luftqualität in Karlsruhe", "Baumkataster Standorte",
    "freie Kita Plätze", "Radwege und Fahrradstraßen", "Hochwasser Gefahrenkarte", "Lärm an Straßen",
    "Einwohner nach Stadtteil", "Wahlergebnisse Gemeinderat", "Spielplätze in der Nähe",
    "Haltestellen der Straßenbahn", "Termine der Müllabfuhr", "Hitze im Sommer", "Solaranlagen auf Dächern",
    "Ladestationen für Elektroautos", "Bebauungspläne online", "Schulen und Kindergärten", "Fahrradzählstellen",
    "Grünflächen und Parks", "Bevölkerungsentwicklung seit 2000", "Feinstaub Messwerte",
    "Verkehrsunfälle mit Radfahrern",
    "Baustellen aktuell", "Trinkbrunnen in der Stadt", "öffentliche Toiletten", "Mietspiegel Wohnungen",
    "Arbeitslosigkeit nach Alter", "Sporthallen und Bäder", "Niederschlag pro Monat", "Temperatur Messstationen",
    "Stadtplan als Karte", "Haushalt der Stadt", "Geburten und Sterbefälle", "Senioren Treffpunkte",
    "Gebäude in 3D", "CO2 Emissionen", "Bibliotheken Öffnungszeiten", "Carsharing Stationen",
]  # fmt: skip
_STOP = {
    "aber", "alle", "also", "auch", "beim", "dass", "dem", "den", "der", "des", "die", "dies", "diese", "dieser",
    "eine", "einem", "einen", "einer", "eines", "für", "hier", "ihre", "jede", "jeder", "kann", "können", "mehr",
    "nach", "nicht", "oder", "ohne", "sich", "sind", "sowie", "über", "und", "unter", "vom", "von", "werden",
    "wird", "wurde", "wurden", "zum", "zur", "zwischen", "with", "from", "that", "this", "data", "http", "https",
}  # fmt: skip


def query_list(texts: list[str], n: int = 240) -> list[str]:
    """``n`` distinct search queries (fewer only if the texts are very short):
    the free phrases above, words of the datasets' titles and descriptions, and
    pairs of words from one text; drawn with a fixed seed, so both portals (and
    every run) get the same list. The portals keep per-process caches (e.g. of
    query vectors): a handful of repeated words would hit them every time after
    warm-up, which real traffic does not."""
    rng = random.Random(13)
    per_text = []
    for text in texts:
        words = [w for w in re.findall(r"[^\W\d_]{4,}", text) if w.casefold() not in _STOP]
        per_text.append(list(dict.fromkeys(words)))
    seen: set[str] = set()
    out: list[str] = []

    def add(q: str) -> None:
        if q.casefold() not in seen:
            seen.add(q.casefold())
            out.append(q)

    for q in FREE_QUERIES:
        add(q)
    singles = sorted({w for words in per_text for w in words}, key=str.casefold)
    rng.shuffle(singles)
    for w in singles[: n // 2]:
        add(w)
    pairs = [words for words in per_text if len(words) >= 2]
    for _ in range(20 * n):
        if len(out) >= n or not pairs:
            break
        words = rng.choice(pairs)
        a, b = rng.sample(words, 2)
        add(f"{a} {b}")
    return out[:n]


def purge(ini: str) -> int:
    from ckanext.udp import compat

    app = compat.make_wsgi_app(ini)
    import ckan.plugins.toolkit as tk

    flask_app = getattr(app, "_wsgi_app", app)
    with flask_app.test_request_context():
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ctx = {"user": site["name"], "ignore_auth": True}
        found = tk.get_action("package_search")(
            dict(ctx), {"q": f"name:{PREFIX}*", "rows": 1000, "fl": "id", "include_private": True}
        )
        for d in found["results"]:
            tk.get_action("dataset_purge")(dict(ctx), {"id": d["id"]})
        return len(found["results"])


# --- servers and locust ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(ini: pathlib.Path, workers: int, log: pathlib.Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ, CKAN_INI=str(ini), WEB_CONCURRENCY=str(workers))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(pathlib.Path(sys.executable).parent / "gunicorn"), "-c",
             str(REPO / "config" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn for {ini.name} exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/3/action/status_show", timeout=5):
                return process, url
        except OSError:
            time.sleep(0.5)
    stop(process)
    raise SystemExit(f"gunicorn for {ini.name} did not answer")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def locust_bin(state: pathlib.Path) -> pathlib.Path:
    venv = state / "locust-venv"
    binary = venv / "bin" / "locust"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", f"locust=={LOCUST_VERSION}"],
            check=True,
        )
    return binary


def run_locust(
    binary: pathlib.Path, url: str, targets: pathlib.Path, users: int, duration: int, out: pathlib.Path
) -> dict[str, dict[str, float]]:
    # fmt: off
    subprocess.run(
        [str(binary), "-f", __file__, "--headless", "--host", url, "-u", str(users),
         "-r", str(max(1, users // 10)), "-t", f"{duration}s", "--csv", str(out), "--only-summary",
         "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        check=True, env=dict(os.environ, UDP_LOAD_TARGETS=str(targets)), stdout=subprocess.DEVNULL,
    )
    # fmt: on
    stats = {}
    with open(f"{out}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            stats[row["Name"]] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "rps": float(row["Requests/s"]),
            }
    return stats


def child(args: argparse.Namespace) -> None:
    if args.child == "prepare":
        print(json.dumps(prepare(args.ini, args.datasets)))
    else:
        print(json.dumps({"purged": purge(args.ini)}))


def run_child(me: list[str], step: str) -> subprocess.CompletedProcess[str]:
    """A step in a child process; its output is read for the last JSON line, and when
    the step fails its error (the end of its stderr) is shown rather than swallowed."""
    done = subprocess.run([*me, "--child", step], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"bench/portal_load.py: the {step} step failed (exit {done.returncode}), its error above")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", default=str(REPO / ".udp" / "ckan.ini"))
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300, help="seconds per portal")
    parser.add_argument("--datasets", type=int, default=1000, help="at least this many public datasets")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers of each portal")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds a visitor spends on a page before the next one (uniform between MIN and MAX)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench datasets for the next run")
    parser.add_argument(
        "--without-ai-search-too",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the portal with the AI search off (when the ini has it on), between ours and stock",
    )
    parser.add_argument("--child", choices=["prepare", "purge"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    ini = pathlib.Path(args.ini).resolve()
    state = ini.parent / "bench-portal"
    state.mkdir(exist_ok=True)
    binary = locust_bin(ini.parent)
    me = [sys.executable, __file__, "--ini", str(ini), "--datasets", str(args.datasets)]
    prepared = run_child(me, "prepare")
    targets = json.loads(prepared.stdout.strip().splitlines()[-1])
    targets["think"] = list(args.think)
    (state / "targets.json").write_text(json.dumps(targets))
    print(
        f"data: {targets['count']} public datasets ({targets['made']} made in {targets['seconds_to_make']} s); "
        f"{len(targets['previews'])} preview addresses, {targets['previews_with_views']} of them resource views; "
        f"{targets['queries']} distinct search queries (the same for both portals); "
        f"{targets.get('forgotten_query_vectors', 0)} query vectors of earlier runs dropped"
    )
    stock_ini = state / "stock.ini"
    stock_ini.write_text(
        "# Generated by bench/portal_load.py: the same portal with ckanext-udp's plugins off.\n"
        f"[app:main]\nuse = config:{ini}\nckan.plugins = {STOCK_PLUGINS}\n"
    )
    portals: list[tuple[str, pathlib.Path]] = [("ckanext-udp", ini)]
    if args.without_ai_search_too and ai_search_on(ini):
        # the AI search (udp_semantic, issue 19) embeds natural-language queries: its cost
        # shows beside the rest of ckanext-udp's when the same portal also runs without it
        no_ai = state / "no-ai-search.ini"
        no_ai.write_text(
            "# Generated by bench/portal_load.py: the same portal with the AI search off.\n"
            f"[app:main]\nuse = config:{ini}\nckanext.udp.semantic.enabled = false\n"
        )
        portals.append((NO_AI, no_ai))
    portals.append(("stock CKAN", stock_ini))
    results: dict[str, dict[str, dict[str, float]]] = {}
    loads: dict[str, float] = {}
    try:
        for label, config in portals:
            tag = "no-ai" if label == NO_AI else label.split()[0]
            process, url = serve(config, args.workers, state / f"{tag}.log")
            try:
                print(f"{label}: {args.users} users for {args.duration} s on {url} ...", flush=True)
                path = state / "targets.json"
                if config == stock_ini:
                    path = state / "targets-stock.json"
                    path.write_text(json.dumps(dict(targets, previews=targets["previews_stock"])))
                results[label] = run_locust(binary, url, path, args.users, args.duration, state / tag)
                # the machine's load while this portal was measured (other work on the box shows here)
                loads[label] = os.getloadavg()[1]
            finally:
                stop(process)
    finally:
        if not args.keep:
            purged = run_child(me, "purge")
            print(f"bench datasets removed: {json.loads(purged.stdout.strip().splitlines()[-1])['purged']}")

    print(
        f"\n{args.users} users, {args.duration} s per portal, {targets['count']} datasets, "
        f"{args.workers} gunicorn workers each, think time {args.think[0]:g}-{args.think[1]:g} s, "
        f"{os.cpu_count()} CPUs, 5-min load average at the end of each run: "
        + ", ".join(f"{label} {load:.1f}" for label, load in loads.items())
    )
    for label in results:
        if label != "stock CKAN":
            report(label, results[label], results["stock CKAN"])
    (state / "results.json").write_text(
        json.dumps({"targets": {k: targets[k] for k in ("count", "made", "think")}, "load": loads, **results}, indent=1)
    )


#: the label of ckanext-udp's portal with the AI search off
NO_AI = "ckanext-udp without AI search"


def ai_search_on(ini: pathlib.Path) -> bool:
    """Whether the portal runs the AI search (the udp_semantic plugin with its switch
    on), read as CKAN reads the ini (its ``use = config:...`` chain included)."""
    from ckan.cli import CKANConfigLoader

    config = CKANConfigLoader(str(ini)).get_config()
    enabled = str(config.get("ckanext.udp.semantic.enabled") or "false").strip().lower() in ("true", "1", "yes", "on")
    return enabled and "udp_semantic" in str(config.get("ckan.plugins") or "").split()


def report(label: str, ours: dict[str, dict[str, float]], stock: dict[str, dict[str, float]]) -> None:
    print(f"\n{label} against stock CKAN")
    print(
        f"{'page':<22} {'ours p50':>9} {'ours p95':>9} {'stock p50':>10} "
        f"{'stock p95':>10} {'p95 ratio':>10} {'errors':>8}"
    )
    for page in [*PAGES, "Aggregated"]:
        o, s = ours.get(page), stock.get(page)
        if not o or not s:
            print(f"{page:<22} (no requests)")
            continue
        ratio = o["p95"] / s["p95"] if s["p95"] else float("nan")
        print(
            f"{page:<22} {o['p50']:>7.0f}ms {o['p95']:>7.0f}ms {s['p50']:>8.0f}ms {s['p95']:>8.0f}ms "
            f"{ratio:>9.2f}x {int(o['failures'])}/{int(s['failures'])}"
        )
    print(
        f"requests: ours {int(ours['Aggregated']['requests'])} ({ours['Aggregated']['rps']:.1f}/s), "
        f"stock {int(stock['Aggregated']['requests'])} ({stock['Aggregated']['rps']:.1f}/s)"
    )


if __name__ == "__main__":
    main()
