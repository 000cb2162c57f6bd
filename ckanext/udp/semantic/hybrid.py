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
from collections.abc import Sequence
from typing import Any, TypeVar

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

#: a ranked item: a package dict, or a leg's hit whose dict is parsed only when needed
Ranked = Any
R = TypeVar("R", bound=Ranked)

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


def known_item(q: str, bm25: Sequence[Ranked]) -> bool:
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
    source = "data_dict" if tk.asbool(data_dict.get("use_default_schema")) else "validated_data_dict"
    leg = dict(data_dict)
    leg["start"], leg["rows"] = 0, depth()
    # both legs go to the depth, but only the returned page is read: CKAN hands back the
    # stored dicts unparsed (fl), and only the page's are parsed and prepared for view below
    leg["fl"] = f"id {source}"
    extras = dict(leg.get("extras") or {}) if isinstance(leg.get("extras"), dict) else {}
    extras[PLAN] = vector
    leg["extras"] = extras
    result = original(context, leg)
    hits = result.pop(HITS, None)
    bm25 = [_Hit(doc, source) for doc in result["results"]]
    if hits is None:
        result["results"] = _as_results(bm25[start : start + rows], context)
        return result
    knn = [_Hit(doc, source) for doc in hits]
    fused = blend(data_dict["q"], bm25, knn)
    bm25_ids = {d.get("id") for d in bm25}
    only_knn = sum(1 for d in knn if d.get("id") not in bm25_ids)
    if result["count"] < depth():
        result["count"] = len(fused)
    else:
        result["count"] += only_knn
    result["results"] = _as_results(fused[start : start + rows], context)
    return result


class _Hit:
    """One hit of a leg: its id at once, its stored dataset dict parsed only when
    asked for (the known-item rule reads the first BM25 hit's title; the page's
    hits are parsed for the answer)."""

    __slots__ = ("_doc", "_source", "_parsed")

    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self._doc, self._source = doc, source
        self._parsed: dict[str, Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        if key == "id" and "id" in self._doc:
            return self._doc["id"]
        return self.parsed().get(key, default)

    def raw(self) -> Any:
        return self._doc.get(self._source) or self._doc.get("validated_data_dict") or self._doc.get("data_dict")

    def parsed(self) -> dict[str, Any]:
        if self._parsed is None:
            raw = self.raw()
            self._parsed = json.loads(raw) if raw else {}
        return self._parsed


def _as_results(hits: list[_Hit], context: Any) -> list[dict[str, Any]]:
    """The page's hits as ``package_search`` returns them (as CKAN does: parsed, then
    ``before_dataset_view`` for a page; a hit without a stored dict is left out)."""
    out = []
    for hit in hits:
        if not hit.raw():
            log.error("No package_dict is coming from solr for package id %s", hit.get("id"))
            continue
        pkg = hit.parsed()
        if context.get("for_view"):
            for plugin in p.PluginImplementations(p.IPackageController):
                pkg = plugin.before_dataset_view(pkg)
        out.append(pkg)
    return out


def blend(q: str, bm25: Sequence[R], knn: Sequence[R]) -> list[R]:
    """The blended list: BM25's list followed by the kNN-only datasets for a
    known-item search (see the module's doc), else reciprocal rank fusion."""
    if exact_title_rule() and known_item(q, bm25):
        seen = {d.get("id") for d in bm25}
        return [*bm25, *(d for d in knn if d.get("id") not in seen)]
    return fuse(bm25, knn, rrf_k())


def fuse(bm25: Sequence[R], knn: Sequence[R], k: int) -> list[R]:
    """Reciprocal rank fusion of two ranked lists of package dicts (or hits: anything with ``get("id")``)."""
    scores: dict[str, float] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    by_id: dict[str, R] = {}
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
