"""Search quality of the portal: BM25 (stock CKAN + our German analysis) vs hybrid
(BM25 blended with kNN on the ``udp_semantic`` plugin's vectors), side by side.

    .venv/bin/python bench/search_quality.py --ini "$(scripts/stack.sh test-ini)" [--keep] [--pool]

Against the databases of the ini it is given (``make bench``: the test stack's, a
scratch database), in one process:

1. **Corpus.** The demo datasets (``ckanext/udp/portal/demo/karlsruhe.json``) and the
   four real DCAT-AP.de catalogs in ``<shared>/dcat-ap-de/catalogs`` (Rostock,
   Brandenburg, Bremen, Destatis: 500 datasets), parsed by our import path
   (``ckanext.udp.harvest.dcat.page_records``: ``parse_untrusted`` + the ckanext-dcat
   profiles ``euro_dcat_ap_3`` + ``dcatap_de``), themes and keywords as parsed, created
   published and public in one organization per source (``udpse<source>``), named
   ``se-<source>-<sha1 of the dataset URI>[:10]`` (stable across runs: the judgements
   name them). Created without vectors (``udp_semantic`` switched off for the load),
   then embedded in batches of 32 and indexed with their vectors (the path of
   ``ckan udp semantic reindex``). Removed at the end unless ``--keep``.
2. **Quality.** The 60 queries with graded judgements (0-3) of
   ``bench/search_eval/judgements.txt`` (format and judging rules in
   ``bench/search_eval/README.md``), run through ``package_search`` as an anonymous
   visitor, filtered to the corpus (``fq=organization:udpse*``, which does not change
   scores), in four modes: ``bm25`` (``extras: {"ext_udp_semantic": "off"}``),
   ``rrf`` (hybrid by reciprocal rank fusion alone: the known-item rule
   ``ckanext.udp.semantic.exact_title`` and the similarity floor
   ``ckanext.udp.semantic.min_similarity`` off), ``title`` (fusion plus the
   known-item rule, no floor) and ``hybrid`` (as configured). nDCG@10 (gain 2^g - 1, ideal from every judged
   grade) and recall@20 (grade >= 1) per query group and overall, and every query
   a blended mode ranks worse than BM25.
3. **Costs.** Median and p95 latency of the same queries in each mode (``--repeat``
   rounds); index time per 1,000 datasets: the batched vector pass over the whole
   corpus, and ``search.rebuild`` one dataset after the other (as ``ckan
   search-index rebuild`` does) without and with vectors on a sample of
   ``--index-sample`` datasets (default 50, spread over the five sources; 0: the
   whole corpus, which takes well over half an hour on a loaded 2-core box); RSS of
   the process before and after the model was loaded.
4. **Theme suggestions.** Top-3 accuracy of ``udp_semantic_suggest``'s EU themes
   against the themes the real catalogs assigned (a hit: one of the first three is
   one of the dataset's themes), for every ``--suggest-n``-th themed catalog dataset
   (default 5; 1: all ~430).

The default run (what ``make bench`` calls) is long on the loaded development box: at
load 16 on 2 cores creating a dataset took ~2 s and embedding one ~2 s, so the 512
datasets alone take ~35 minutes (the one-by-one index-time sample and the suggestions
are kept small for that reason).

Without the ``udp_semantic`` plugin (or with it disabled) the bench says so and
reports BM25 only: no hybrid figures are made up. Numbers from a shared, loaded
machine are noisy.

``--pool`` prints, per query, the judging pool (BM25 top 20 plus title/keyword
matches) with titles and descriptions: how the judgements were built.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import math
import os
import pathlib
import re
import statistics
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "bench" / "search_eval"
JUDGEMENTS = EVAL_DIR / "judgements.txt"
DEMO = ROOT / "ckanext" / "udp" / "portal" / "demo" / "karlsruhe.json"
CATALOGS = {
    "ros": "rostock-catalog-2021.rdf",
    "bbg": "brandenburg-catalog-2021.rdf",
    "hb": "bremen-catalog-2021.rdf",
    "destatis": "destatis-catalog-2021.rdf",
}
ORG_PREFIX = "udpse"
CORPUS_FQ = f"organization:{ORG_PREFIX}*"
SEMANTIC_OFF = {"ext_udp_semantic": "off"}
ENABLED = "ckanext.udp.semantic.enabled"
EXACT_TITLE = "ckanext.udp.semantic.exact_title"
MIN_SIMILARITY = "ckanext.udp.semantic.min_similarity"
BLEND = "ckanext.udp.semantic.blend"
MODES = ("bm25", "rrf", "title", "always", "hybrid")
# what each blended mode switches (None: as configured)
OVERRIDES: dict[str, dict[str, Any]] = {
    "rrf": {EXACT_TITLE: False, MIN_SIMILARITY: 0.0, BLEND: "always"},
    "title": {EXACT_TITLE: True, MIN_SIMILARITY: 0.0, BLEND: "always"},
    "always": {BLEND: "always"},
    "hybrid": {},
}
GROUPS = ("synonym", "compound", "colloquial", "typo", "english", "title")
THEME = "http://publications.europa.eu/resource/authority/data-theme/"


def shared_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("UDP_SHARED_DIR", ROOT.parent / "shared"))


# --- the corpus -----------------------------------------------------------------


def _stable_name(source: str, guid: str) -> str:
    return f"se-{source}-{hashlib.sha1(guid.encode()).hexdigest()[:10]}"


def demo_datasets() -> list[dict[str, Any]]:
    """The demo's datasets as plain metadata (no uploads, no DataStore tables)."""
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    out = []
    for d in data["datasets"]:
        d = {k: v for k, v in d.items() if k not in ("datastore",)}
        resources = []
        for r in d.get("resources", []):
            r = {k: v for k, v in r.items() if k not in ("file", "datastore_from_file")}
            r.setdefault("url", f"https://example.invalid/{d['name']}/{len(resources)}")
            resources.append(r)
        d["resources"] = resources
        d["name"] = f"se-demo-{d['name']}"[:100]
        d["_source"] = "demo"
        out.append(d)
    return out


def catalog_datasets(shared: pathlib.Path | None = None) -> list[dict[str, Any]]:
    """The four real catalogs through our DCAT-AP.de import path (needs the
    plugins loaded: the profiles are theirs)."""
    from ckanext.udp.harvest import dcat

    shared = shared or shared_dir()
    out = []
    for source, filename in CATALOGS.items():
        path = shared / "dcat-ap-de" / "catalogs" / filename
        records, _next = dcat.page_records(path.read_bytes(), "xml", f"http://example.invalid/{source}/catalog")
        seen: set[str] = set()
        for rec in records:
            if rec.error or rec.dataset is None or rec.guid in seen:
                continue
            seen.add(rec.guid)
            d = dict(rec.dataset, name=_stable_name(source, rec.guid), _source=source)
            out.append(d)
    return out


def corpus(shared: pathlib.Path | None = None) -> list[dict[str, Any]]:
    return demo_datasets() + catalog_datasets(shared)


def _themes(d: dict[str, Any]) -> list[str]:
    themes = d.get("theme") or []
    if isinstance(themes, str):
        try:
            themes = json.loads(themes)
        except ValueError:
            themes = [themes]
    return [t for t in themes if t.startswith(THEME)]


def load(ctx: dict[str, Any], datasets: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Create what is missing; return (names created, failures)."""
    import ckan.plugins.toolkit as tk

    created: list[str] = []
    failures: list[str] = []
    orgs: dict[str, str] = {}
    for d in datasets:
        source = d["_source"]
        if source not in orgs:
            name = f"{ORG_PREFIX}{source}"
            try:
                orgs[source] = tk.get_action("organization_show")(dict(ctx), {"id": name})["id"]
            except tk.ObjectNotFound:
                orgs[source] = tk.get_action("organization_create")(
                    dict(ctx), {"name": name, "title": f"Suchbench {source}"}
                )["id"]
        try:
            tk.get_action("package_show")(dict(ctx), {"id": d["name"]})
            continue
        except tk.ObjectNotFound:
            pass
        data = {k: v for k, v in d.items() if not k.startswith("_")}
        data.update(owner_org=orgs[source], private=False)
        try:
            tk.get_action("package_create")(dict(ctx), data)
            created.append(d["name"])
        except tk.ValidationError as err:
            failures.append(f"{d['name']} ({d.get('title')!r}): {err.error_summary}")
    return created, failures


def remove(ctx: dict[str, Any]) -> int:
    import ckan.plugins.toolkit as tk

    n = 0
    for org in tk.get_action("organization_list")(dict(ctx), {"all_fields": False}):
        if not org.startswith(ORG_PREFIX):
            continue
        while True:
            res = tk.get_action("package_search")(
                dict(ctx), {"fq": f"organization:{org}", "rows": 1000, "include_private": True, "fl": "id"}
            )
            if not res["results"]:
                break
            for pkg in res["results"]:
                tk.get_action("dataset_purge")(dict(ctx), {"id": pkg["id"]})
                n += 1
        tk.get_action("organization_purge")(dict(ctx), {"id": org})
    return n


# --- the evaluation set ----------------------------------------------------------


def read_judgements(path: pathlib.Path = JUDGEMENTS) -> list[dict[str, Any]]:
    """Blocks of ``## <id> | <group> | <query>`` followed by ``<dataset name> <grade>``
    lines; ``#`` starts a comment."""
    queries: list[dict[str, Any]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("##"):
            parts = [p.strip() for p in line[2:].split("|")]
            if len(parts) != 3:
                raise ValueError(f"{path.name}:{lineno}: want '## id | group | query'")
            queries.append({"id": parts[0], "group": parts[1], "q": parts[2], "grades": {}, "line": lineno})
            continue
        if not queries:
            raise ValueError(f"{path.name}:{lineno}: a judgement before the first query")
        m = re.fullmatch(r"(\S+)\s+(\S+)(\s+#.*)?", line)
        if not m:
            raise ValueError(f"{path.name}:{lineno}: want '<dataset name> <grade>'")
        if m.group(2) not in ("0", "1", "2", "3"):
            raise ValueError(f"{path.name}:{lineno}: the grade must be 0, 1, 2 or 3")
        grade = int(m.group(2))
        queries[-1]["grades"][m.group(1)] = grade
    return queries


# --- metrics ---------------------------------------------------------------------


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** grades.get(n, 0) - 1) / math.log2(i + 2) for i, n in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 20) -> float:
    relevant = {n for n, g in grades.items() if g >= 1}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, math.ceil(len(values) * 0.95) - 1)]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- the run ---------------------------------------------------------------------


#: per mode, the queries the hybrid search embedded (model calls, counted in search())
EMBEDDED: dict[str, list[str]] = {}


def search(q: str, mode: str = "bm25", rows: int = 20) -> tuple[list[str], float]:
    """The names ``package_search`` ranks for ``q`` in one of MODES, and the time."""
    import ckan.plugins.toolkit as tk

    try:
        from ckanext.udp.semantic import model
    except ImportError:
        model = None
    real_query = model.query if model is not None else None
    if model is not None:

        def counting(text: str) -> Any:
            EMBEDDED.setdefault(mode, []).append(text)
            return real_query(text)

        model.query = counting  # type: ignore[assignment]
        model.forget()  # each latency includes embedding, as for a query new to the portal

    # no "fl": udp_semantic leaves field-limited API searches to BM25
    data: dict[str, Any] = {"q": q, "fq": CORPUS_FQ, "rows": rows}
    if mode == "bm25":
        data["extras"] = dict(SEMANTIC_OFF)
    # not shared between runs either (CKAN's Redis would hand the vector back)
    overrides = {**OVERRIDES.get(mode, {}), "ckanext.udp.semantic.query_cache_ttl": "0"}
    before = {key: tk.config.get(key) for key in overrides}
    tk.config.update(overrides)
    try:
        t0 = time.perf_counter()
        res = tk.get_action("package_search")({"ignore_auth": False}, data)
        dt = time.perf_counter() - t0
    finally:
        tk.config.update(before)
        if model is not None:
            model.query = real_query  # type: ignore[assignment]
    return [r["name"] for r in res["results"]], dt


def semantic_state() -> tuple[bool, str]:
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk

    if not p.plugin_loaded("udp_semantic"):
        return False, "the udp_semantic plugin is not loaded"
    if not tk.asbool(tk.config.get(ENABLED)):
        return False, "udp_semantic is loaded but ckanext.udp.semantic.enabled is not true"
    return True, "udp_semantic loaded and enabled"


def pool(queries: list[dict[str, Any]], datasets: list[dict[str, Any]]) -> None:
    """The judging pool per query: BM25 top 20 plus datasets whose title or
    keywords contain a query word (prefix of 5+ letters), with their text."""
    by_name = {d["name"]: d for d in datasets}
    for qd in queries:
        ranked, _ = search(qd["q"], "bm25", rows=20)
        words = [w.lower() for w in re.findall(r"\w+", qd["q"]) if len(w) >= 4]
        extra = []
        for d in datasets:
            hay = " ".join([d.get("title") or ""] + [t["name"] for t in d.get("tags") or []]).lower()
            if any(w[:5] in hay for w in words) and d["name"] not in ranked:
                extra.append(d["name"])
        print(f"## {qd['id']} | {qd['group']} | {qd['q']}")
        for tag, names in (("bm25", ranked), ("match", extra[:30])):
            for n in names:
                d = by_name.get(n, {})
                notes = re.sub(r"\s+", " ", d.get("notes") or "")[:160]
                tags = ",".join(t["name"] for t in d.get("tags") or [])[:80]
                old = qd["grades"].get(n)
                print(f"  [{tag}] {n} g={old} | {d.get('title')} | {tags} | {notes}")
        print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ini", required=True)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the queries for the latency")
    ap.add_argument("--keep", action="store_true", help="leave the corpus in the database (for another run)")
    ap.add_argument("--pool", action="store_true", help="print the judging pools and stop")
    ap.add_argument(
        "--semantic",
        choices=("auto", "ini"),
        default="auto",
        help="auto: load and enable udp_semantic when the package exists; ini: as the ini says",
    )
    ap.add_argument(
        "--skip-index",
        action="store_true",
        help="a rerun on a corpus kept (--keep) with its vectors: embed only what this run created, measure nothing",
    )
    ap.add_argument(
        "--suggest-n", type=int, default=5, help="theme suggestions for every n-th themed dataset (1 or 0: all)"
    )
    ap.add_argument(
        "--index-sample",
        type=int,
        default=50,
        help="datasets for the one-by-one index-time measurement without and with vectors (0: the whole corpus)",
    )
    ap.add_argument("--no-reindex", action="store_true", help="skip the one-by-one index-time measurement")
    args = ap.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows when run under nohup
    started = time.perf_counter()

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    rss_start = rss_mb()
    os.environ.setdefault("UDP_SHARED_DIR", str(shared_dir()))  # the reference data the test ini leaves to it
    conf = load_config(args.ini)
    if args.semantic == "auto" and importlib.util.find_spec("ckanext.udp.semantic") is not None:
        # the plugin is there: load and enable it for this process, whatever the ini says
        plugins = conf.get("ckan.plugins") or ""
        if isinstance(plugins, str):
            plugins = plugins.split()
        if "udp_semantic" not in plugins:
            conf["ckan.plugins"] = " ".join([*plugins, "udp_semantic"])
        conf[ENABLED] = "true"
    app = make_app(conf)
    import ckan.lib.search as search_lib
    import ckan.plugins.toolkit as tk

    flask_app = app._wsgi_app
    queries = read_judgements()
    with flask_app.test_request_context():
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ctx = {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published"}
        semantic, why = semantic_state()
        print(f"search quality bench: {why}" + ("" if semantic else ": BM25 ONLY, no hybrid figures"))
        datasets = corpus()
        t0 = time.perf_counter()
        if semantic:
            tk.config[ENABLED] = False  # created without vectors: the batched vector pass follows
        try:
            created, failures = load(ctx, datasets)
        finally:
            if semantic:
                tk.config[ENABLED] = True
        load_s = time.perf_counter() - t0
        total = tk.get_action("package_search")({"ignore_auth": False}, {"fq": CORPUS_FQ, "rows": 0})["count"]
        print(f"corpus: {len(datasets)} datasets offered, {len(created)} created in {load_s:.0f} s, {total} searchable")
        for f in failures[:10]:
            print("  refused:", f)
        if total < 500:
            sys.exit(f"only {total} datasets searchable; the evaluation needs >= 500")
        try:
            if args.pool:
                pool(queries, datasets)
                return
            _evaluate(args, queries, datasets, created, semantic, rss_start, search_lib, ctx)
        finally:
            if not args.keep:
                print(f"removed {remove(ctx)} corpus datasets")
            print(f"search quality bench: {time.perf_counter() - started:.0f} s in all")


def _evaluate(
    args: argparse.Namespace,
    queries: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    created: list[str],
    semantic: bool,
    rss_start: float,
    search_lib: Any,
    ctx: dict[str, Any],
) -> None:

    modes = list(MODES) if semantic else ["bm25"]
    rss_before_model = rss_mb()
    # the vectors the blended queries need (and the index times)
    _reindex(datasets, created, semantic, search_lib, args)
    print(f"\nqueries: {len(queries)} x {len(modes)} modes x {max(1, args.repeat)} rounds")
    results: dict[str, dict[str, list[str]]] = {m: {} for m in modes}
    times: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(max(1, args.repeat)):
        for qd in queries:
            for m in modes if r == 0 else [m for m in modes if m in ("bm25", "always", "hybrid")]:
                ranked, dt = search(qd["q"], m)
                if r == 0:
                    results[m][qd["id"]] = ranked
                    if m != "bm25" and qd is queries[0]:
                        continue  # the first blended query may load the model: not a latency
                times[m].append(dt)
        if r == 0:
            embedded = {m: len(EMBEDDED.get(m, [])) for m in modes}
    rss_after = rss_mb()

    scores: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in modes}
    for qd in queries:
        for m in modes:
            ranked = results[m][qd["id"]]
            scores[m][qd["id"]] = (ndcg_at(ranked, qd["grades"]), recall_at(ranked, qd["grades"]))

    print()
    if semantic:
        import ckan.plugins.toolkit as tk

        print(
            "rrf: reciprocal rank fusion alone; title: + the known-item rule (exact title); "
            f"hybrid: as configured (rule {tk.config.get(EXACT_TITLE)}, "
            f"similarity floor {tk.config.get(MIN_SIMILARITY)})"
        )
    head = f"{'group':<11} {'n':>3}  {'nDCG@10 ' + ' / '.join(modes):>32}"
    if semantic:
        head += f" {'change':>7}"
    head += f"  {'recall@20 ' + ' / '.join(modes):>34}"
    print(head)
    for group in (*GROUPS, "all"):
        ids = [qd["id"] for qd in queries if group in ("all", qd["group"])]
        if not ids:
            continue
        nd = [statistics.mean(scores[m][i][0] for i in ids) for m in modes]
        rc = [statistics.mean(scores[m][i][1] for i in ids) for m in modes]
        line = f"{group:<11} {len(ids):>3}  {' / '.join(f'{x:.3f}' for x in nd):>32}"
        if semantic:
            line += f" {(nd[-1] - nd[0]) / nd[0] * 100:+6.0f}%" if nd[0] else f" {'n/a':>7}"
        line += f"  {' / '.join(f'{x:.3f}' for x in rc):>34}"
        print(line)

    if semantic:
        print("\nthe exact-title queries one by one, nDCG@10 " + " / ".join(modes) + ":")
        for qd in queries:
            if qd["group"] == "title":
                print(f"  {qd['id']} {qd['q']!r}: " + " / ".join(f"{scores[m][qd['id']][0]:.3f}" for m in modes))
        for m in modes[1:]:
            print(f"\nqueries where {m} loses to BM25 (nDCG@10 or recall@20):")
            losses = []
            for qd in queries:
                (nb, rb), (nh, rh) = scores["bm25"][qd["id"]], scores[m][qd["id"]]
                if nh < nb - 1e-9 or rh < rb - 1e-9:
                    losses.append((nh - nb, qd, nb, nh, rb, rh))
            for _delta, qd, nb, nh, rb, rh in sorted(losses, key=lambda x: x[0]):
                print(
                    f"  {qd['id']} [{qd['group']}] {qd['q']!r}: "
                    f"nDCG@10 {nb:.3f} -> {nh:.3f}, recall@20 {rb:.3f} -> {rh:.3f}"
                )
            if not losses:
                print("  none")
            titles_worse = [x for x in losses if x[1]["group"] == "title"]
            print(f"exact-title queries worse with {m}: {len(titles_worse)}")

    if semantic:
        print(
            f"\nqueries embedded (model called; a natural-language query is embedded beside BM25 "
            f"even when the known-item rule then asks no kNN) of {len(queries)}: "
            + ", ".join(f"{m} {embedded[m]}" for m in modes if m != "bm25")
        )
        once = {q for q in EMBEDDED.get("hybrid", [])}
        print("  not embedded by hybrid: " + "; ".join(repr(qd["q"]) for qd in queries if qd["q"] not in once))
        print("\nqueries where hybrid differs from always (nDCG@10, recall@20):")
        diffs = [qd for qd in queries if scores["hybrid"][qd["id"]] != scores["always"][qd["id"]]]
        for qd in diffs:
            (na, ra), (nh, rh) = scores["always"][qd["id"]], scores["hybrid"][qd["id"]]
            print(f"  {qd['id']} [{qd['group']}] {qd['q']!r}: always {na:.3f} / {ra:.3f}, hybrid {nh:.3f} / {rh:.3f}")
        if not diffs:
            print("  none")

    print("\nlatency of package_search (in-process, this loaded shared machine; query cache cleared before each):")
    for m in modes:
        print(
            f"  {m:<7} n={len(times[m])}  median {statistics.median(times[m]) * 1000:.0f} ms"
            f"  p95 {p95(times[m]) * 1000:.0f} ms"
        )
    print(
        f"RSS: {rss_start:.0f} MB at start, {rss_before_model:.0f} MB with CKAN loaded, "
        f"{rss_after:.0f} MB after the queries"
        + (f" (model and its runtime: ~{rss_after - rss_before_model:.0f} MB)" if semantic else "")
    )

    if not args.skip_index and not args.no_reindex:
        _index_sample(datasets, semantic, search_lib, args.index_sample)
    _suggestions(datasets, semantic, ctx, args.suggest_n)


def _rate(label: str, n: int, seconds: float) -> None:
    print(f"  {label:<32} {n} datasets in {seconds:6.1f} s = {seconds / max(1, n) * 1000:4.0f} s per 1,000")


def _rebuild(search_lib: Any, ids: list[str]) -> float:
    t0 = time.perf_counter()
    search_lib.rebuild(package_ids=ids, defer_commit=True)
    search_lib.commit()
    return time.perf_counter() - t0


def _reindex(
    datasets: list[dict[str, Any]],
    created: list[str],
    semantic: bool,
    search_lib: Any,
    args: argparse.Namespace,
) -> None:
    """The vectors of the corpus, embedded in batches of 32 and indexed (udp_semantic's
    own batched path, as ``ckan udp semantic reindex``). ``--skip-index``: only the
    datasets this run created get their vectors."""
    import ckan.model as model
    import ckan.plugins.toolkit as tk

    wanted = set(created) if args.skip_index else {d["name"] for d in datasets}
    rows = model.Session.query(model.Package.id, model.Package.name).filter(model.Package.name.in_(wanted)).all()
    ids = [pid for pid, _name in sorted(rows, key=lambda r: r[1])]  # by name: the sources in turn
    if not ids:
        return
    print("\nindex time (this loaded shared machine):")
    if semantic:
        from ckanext.udp.semantic import index as sem_index

        show = tk.get_action("package_show")
        missed = 0
        t0 = time.perf_counter()
        for i in range(0, len(ids), 32):
            chunk = ids[i : i + 32]
            sem_index.prepare([show({"ignore_auth": True}, {"id": pid}) for pid in chunk])
            for pid in chunk:
                search_lib.rebuild(pid, defer_commit=True)
            missed += sem_index.forget_prepared() or 0
        search_lib.commit()
        _rate("with vectors, batches of 32", len(ids), time.perf_counter() - t0)
        if missed:
            print(f"  ({missed} batched vectors unused: those datasets were embedded again one by one)")


def _index_sample(datasets: list[dict[str, Any]], semantic: bool, search_lib: Any, n: int) -> None:
    """``search.rebuild`` one dataset after the other (as ``ckan search-index
    rebuild``) on a sample, without and then with vectors (the index ends with them)."""
    import ckan.model as model
    import ckan.plugins.toolkit as tk

    names = {d["name"] for d in datasets}
    rows = model.Session.query(model.Package.id, model.Package.name).filter(model.Package.name.in_(names)).all()
    ids = [pid for pid, _name in sorted(rows, key=lambda r: r[1])]
    sample = ids if n <= 0 or n >= len(ids) else ids[:: max(1, len(ids) // n)][:n]
    print("\nindex time, one by one, on a sample (this loaded shared machine):")
    if not semantic:
        _rate("BM25 only, one by one", len(sample), _rebuild(search_lib, sample))
        return
    tk.config[ENABLED] = False
    try:
        _rate("without vectors, one by one", len(sample), _rebuild(search_lib, sample))
    finally:
        tk.config[ENABLED] = True
    _rate("with vectors, one by one", len(sample), _rebuild(search_lib, sample))


def _suggestions(datasets: list[dict[str, Any]], semantic: bool, ctx: dict[str, Any], every: int = 0) -> None:
    import ckan.plugins.toolkit as tk

    themed = [d for d in datasets if d["_source"] != "demo" and _themes(d)]
    t0 = time.perf_counter()
    if every > 1:
        themed = themed[::every]
    sample = f" (every {every}th)" if every > 1 else ""
    print(f"\ntheme suggestions: {len(themed)} catalog datasets with EU themes{sample}")
    try:
        action = tk.get_action("udp_semantic_suggest")
    except KeyError:  # no such action
        action = None
    if not semantic or action is None:
        print("  not measured: no udp_semantic_suggest action (plugin absent or disabled)")
        return
    hits = 0
    for d in themed:
        res = action(dict(ctx), {"title": d.get("title") or "", "notes": d.get("notes") or ""})
        suggested = [t if isinstance(t, str) else t.get("uri") or t.get("id") for t in res.get("themes", [])][:3]
        hits += bool(set(suggested) & set(_themes(d)))
    print(f"  top-3 accuracy {hits}/{len(themed)} = {hits / len(themed):.1%} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
