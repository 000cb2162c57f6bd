"""Hybrid search: ``package_search`` keeps its BM25 ranking and blends in the
nearest datasets by meaning (kNN over ``udp_vector``) by reciprocal rank fusion.

- Only for natural-language queries: not for ``*:*``, empty, fielded
  (``tags:x``) or local-parameter queries, not when the caller sorts by
  something else than relevance or asks for fields (``fl``), and not with
  ``extras: {"ext_udp_semantic": "off"}`` (BM25 exactly as without the plugin).
- Both lists are taken to the same depth (``ckanext.udp.semantic.depth``,
  default 40), and only pages inside that depth are blended; later pages are
  BM25 as before.
- The kNN query runs in ``after_dataset_search``, where CKAN has left its
  complete filter list in the search parameters: the caller's ``fq``, site,
  state, ``capacity:public`` and the caller's permission labels. So the kNN
  leg can never return a dataset the BM25 query would hide.
- Reciprocal rank fusion: score(d) = sum over both lists of 1 / (k + rank),
  ranks from 1, k = ``ckanext.udp.semantic.rrf_k`` (default 60); ties keep the
  BM25 order. Facets and filters are BM25's; the count is the size of the
  union where BM25 found fewer than the depth, else BM25's count plus the
  datasets only kNN found.
- Known-item rule (``ckanext.udp.semantic.exact_title``, default on): when
  BM25's first hit has exactly the query as its title (compared after Unicode
  NFKC, case folding and ignoring punctuation and spacing), the searcher asked
  for a known dataset and BM25 found it. Then BM25's list is kept as it is and
  the datasets only kNN found follow it, in kNN order. Nothing BM25 found moves
  down, so such a search can never rank worse than BM25 (any gain, any cutoff).
- Similarity floor (``ckanext.udp.semantic.min_similarity``, a cosine; 0 = off):
  kNN always returns its ``topK`` nearest, however far; hits less similar to
  the query than the floor are dropped, so a query nothing matches adds no
  neighbours (Solr's cosine score is (1 + cos) / 2).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp import compat
from ckanext.udp.semantic import model
from ckanext.udp.semantic.index import FIELD, enabled

log = logging.getLogger(__name__)

#: the key in the search extras that carries the query vector to after_dataset_search
PLAN = "udp_semantic_knn"
#: the key in the search results carrying the kNN hits back to the wrapper
HITS = "_udp_semantic_hits"
SWITCH = "ext_udp_semantic"

_FIELDED = re.compile(r"(^|[\s(+\-])[\w.]+:|\{!|^\*$")
_DEFAULT_SORTS = {"", "rank", "score desc, metadata_modified desc", "score desc"}


def depth() -> int:
    return max(1, int(tk.config.get("ckanext.udp.semantic.depth") or 40))


def rrf_k() -> int:
    return max(1, int(tk.config.get("ckanext.udp.semantic.rrf_k") or 60))


def min_similarity() -> float:
    try:
        return float(tk.config.get("ckanext.udp.semantic.min_similarity") or 0.0)
    except (TypeError, ValueError):
        return 0.0


def similar_enough(hits: list[dict[str, Any]], floor: float) -> list[dict[str, Any]]:
    """The kNN hits whose cosine similarity to the query is at least ``floor``."""
    if floor <= 0:
        return hits
    return [h for h in hits if 2.0 * float(h.get("score") or 0.0) - 1.0 >= floor]


def exact_title_rule() -> bool:
    return tk.asbool(tk.config.get("ckanext.udp.semantic.exact_title", True))


def _normal(text: Any) -> str:
    """Text for the exact-title comparison: NFKC, case-folded, words only."""
    if not isinstance(text, str):
        return ""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


def known_item(q: str, bm25: list[dict[str, Any]]) -> bool:
    """BM25's first hit carries the query as its exact title."""
    wanted = _normal(q)
    return bool(wanted and bm25 and _normal(bm25[0].get("title")) == wanted)


def natural_language(q: Any) -> bool:
    if not isinstance(q, str):
        return False
    q = q.strip()
    if not q or q in ("*:*", '""', "''"):
        return False
    return not _FIELDED.search(q)


def switched_off(data_dict: dict[str, Any]) -> bool:
    extras = data_dict.get("extras")
    if not isinstance(extras, dict):
        extras = {}
    value = data_dict.get(SWITCH, extras.get(SWITCH, ""))
    return str(value).strip().lower() in ("off", "false", "0", "no")


def _int(value: Any, default: int) -> int | None:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def plan(data_dict: dict[str, Any]) -> tuple[int, int] | None:
    """(start, rows) of the page to blend, or None to leave the search alone."""
    if not enabled() or switched_off(data_dict) or data_dict.get("fl"):
        return None
    if not natural_language(data_dict.get("q")):
        return None
    if str(data_dict.get("sort") or "").strip() not in _DEFAULT_SORTS:
        return None
    start, rows = _int(data_dict.get("start"), 0), _int(data_dict.get("rows"), 10)
    if start is None or rows is None or start < 0 or rows <= 0 or start + rows > depth():
        return None
    return start, rows


@tk.chained_action
def package_search(original: Any, context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    page = plan(data_dict)
    if page is None:
        return original(context, data_dict)
    try:
        vector = model.query(data_dict["q"].strip())
    except Exception:  # no model, no blending; the search itself still answers
        log.exception("udp_semantic: query not embedded")
        return original(context, data_dict)
    start, rows = page
    leg = dict(data_dict)
    leg["start"], leg["rows"] = 0, depth()
    extras = dict(leg.get("extras") or {}) if isinstance(leg.get("extras"), dict) else {}
    extras[PLAN] = vector
    leg["extras"] = extras
    result = original(context, leg)
    hits = result.pop(HITS, None)
    if hits is None:
        result["results"] = result["results"][start : start + rows]
        return result
    knn = _as_results(hits, context)
    fused = blend(data_dict["q"], result["results"], knn)
    bm25_ids = {d.get("id") for d in result["results"]}
    only_knn = sum(1 for d in knn if d.get("id") not in bm25_ids)
    if result["count"] < depth():
        result["count"] = len(fused)
    else:
        result["count"] += only_knn
    result["results"] = fused[start : start + rows]
    return result


def _as_results(hits: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    out = []
    for doc in hits:
        raw = doc.get("validated_data_dict") or doc.get("data_dict")
        if not raw:
            continue
        pkg = json.loads(raw)
        if context.get("for_view"):
            for plugin in p.PluginImplementations(p.IPackageController):
                pkg = plugin.before_dataset_view(pkg)
        out.append(pkg)
    return out


def blend(q: str, bm25: list[dict[str, Any]], knn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blended list: BM25's list followed by the kNN-only datasets for a
    known-item search (see the module's doc), else reciprocal rank fusion."""
    if exact_title_rule() and known_item(q, bm25):
        seen = {d.get("id") for d in bm25}
        return [*bm25, *(d for d in knn if d.get("id") not in seen)]
    return fuse(bm25, knn, rrf_k())


def fuse(bm25: list[dict[str, Any]], knn: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Reciprocal rank fusion of two ranked lists of package dicts."""
    scores: dict[str, float] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for which, ranked in enumerate((bm25, knn)):
        for rank, pkg in enumerate(ranked, start=1):
            pid = pkg.get("id")
            if not pid:
                continue
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
            first_seen.setdefault(pid, (which, rank))
            by_id.setdefault(pid, pkg)
    order = sorted(scores, key=lambda pid: (-scores[pid], first_seen[pid]))
    return [by_id[pid] for pid in order]


def knn_query(vector: list[float], top_k: int) -> str:
    numbers = ",".join(f"{x:.6f}" for x in vector)
    return f"{{!knn f={FIELD} topK={int(top_k)}}}[{numbers}]"


def after_search(search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
    """Run the kNN leg under exactly the filters CKAN applied to the BM25 query."""
    extras = search_params.get("extras")
    if not isinstance(extras, dict) or PLAN not in extras:
        return search_results
    vector = extras.pop(PLAN)
    fq = search_params.get("fq")
    fq_list = list(fq) if isinstance(fq, list) else [fq] if fq else []
    search_results[HITS] = similar_enough(
        knn_hits(
            vector,
            fq_list,
            depth(),
            search_params.get("fl") or "id validated_data_dict",
            # CKAN parses the filters with q.op=AND: an fq clause without "+" is required too
            q_op=search_params.get("q.op") or "AND",
        ),
        min_similarity(),
    )
    return search_results


def knn_hits(vector: list[float], fq: list[str], top_k: int, fl: str, q_op: str = "AND") -> list[dict[str, Any]]:
    """The ``top_k`` nearest documents passing every filter query in ``fq``
    (parsed as CKAN parses them: ``q.op=AND``, default field ``text``).

    Solr's knn parser applies ``fq`` as a pre-filter: the topK are the nearest
    among the documents the filters let through."""
    conn = compat.solr_connection()
    response = conn.search(
        q=knn_query(vector, top_k), fq=fq, fl=fl + " score", rows=top_k, wt="json", df="text", **{"q.op": q_op}
    )
    return list(response.docs)
