"""Hybrid search: ``package_search`` keeps its BM25 ranking and blends in the
nearest datasets by meaning (kNN over ``udp_vector``) by reciprocal rank fusion.

- Never for ``*:*``, empty, fielded (``tags:x``) or local-parameter queries, not
  when the caller sorts by something else than relevance or asks for fields
  (``fl``), and not with ``extras: {"ext_udp_semantic": "off"}`` (BM25 exactly as
  without the plugin).
- When (``ckanext.udp.semantic.blend = auto``, the default): BM25 runs first; the
  query is embedded and Solr asked for the kNN leg only if

  * the query is natural language: at least ``ckanext.udp.semantic.sentence_words``
    words (default 3), or a question (a ``?``, or a question word first:
    "wo kann ich parken"), or
  * BM25 alone finds fewer than ``ckanext.udp.semantic.few_hits`` datasets
    (default 20, a search page): "trees", typos, synonyms the analysis does not know.

  A keyword query BM25 answers with a full page is BM25 exactly as stock CKAN
  runs it: no model call, no second Solr query, no deeper list. For a natural
  language query whose BM25 first hit is its exact title (known-item rule below)
  and whose page lies inside BM25's list, the page is BM25's without embedding:
  blending would give the same page (only the count stays BM25's). ``blend = always``: every free-text query is
  embedded and blended (the behaviour up to 01.12.2026).
- Both lists are taken to the same depth (``ckanext.udp.semantic.depth``,
  default 40) and blended; BM25's hits past the depth follow the blend, less
  the datasets kNN brought into it (one more BM25 query, excluding those).
  Every page is a slice of that one list and carries its size as the count,
  so paging through all pages gives every hit once.
- The kNN leg runs under the filter list CKAN built for the BM25 query, which
  ``after_dataset_search`` hands back to the wrapper: the caller's ``fq``, site,
  state, ``capacity:public`` and the caller's permission labels. So the kNN
  leg can never return a dataset the BM25 query would hide.
- Reciprocal rank fusion: score(d) = sum over both lists of 1 / (k + rank),
  ranks from 1, k = ``ckanext.udp.semantic.rrf_k`` (default 60); ties keep the
  BM25 order. Facets and filters are BM25's; the count is the number of
  datasets BM25 or kNN found, each counted once.
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

import functools
import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp import compat
from ckanext.udp.semantic import model
from ckanext.udp.semantic.index import FIELD, enabled

log = logging.getLogger(__name__)

#: the mark in the search extras asking after_dataset_search for CKAN's filter list
PLAN = "udp_semantic_knn"
#: the key in the search results carrying that filter list (and q.op) back to the wrapper
FILTERS = "_udp_semantic_filters"
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


def free_text(q: Any) -> bool:
    """A query a person typed: not empty, not ``*:*``, not fielded or local params."""
    if not isinstance(q, str):
        return False
    q = q.strip()
    if not q or q in ("*:*", '""', "''"):
        return False
    return not _FIELDED.search(q)


#: words a question starts with (German and English)
_QUESTION_WORDS = frozenset(
    "wer wie wo was wann warum wieso weshalb welche welcher welches welchen welchem woher wohin womit "
    "gibt kann darf muss who how where what when why which can is are does do".split()
)


def natural_language(q: Any) -> bool:
    """A free-text query phrased as language rather than as keywords: several
    words (``sentence_words``, default 3) or a question (a ``?`` or a question word first)."""
    if not free_text(q):
        return False
    words = re.findall(r"\w+", q)
    if "?" in q or (words and words[0].casefold() in _QUESTION_WORDS):
        return True
    return len(words) >= sentence_words()


def sentence_words() -> int:
    return max(1, int(tk.config.get("ckanext.udp.semantic.sentence_words") or 3))


def few_hits() -> int:
    return max(0, int(tk.config.get("ckanext.udp.semantic.few_hits") or 20))


def always_blend() -> bool:
    return str(tk.config.get("ckanext.udp.semantic.blend") or "auto").strip().lower() == "always"


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
    """(start, rows) of the page that may be blended, or None to leave the search alone."""
    if not enabled() or switched_off(data_dict) or data_dict.get("fl"):
        return None
    if not free_text(data_dict.get("q")):
        return None
    if str(data_dict.get("sort") or "").strip() not in _DEFAULT_SORTS:
        return None
    start, rows = _int(data_dict.get("start"), 0), _int(data_dict.get("rows"), 10)
    if start is None or rows is None or start < 0 or rows <= 0:
        return None
    return start, rows


def _asking_for_filters(data_dict: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The search with a mark in its extras: ``after_search`` hands CKAN's final filter list back."""
    leg = {**data_dict, **changes}
    extras = dict(leg.get("extras") or {}) if isinstance(leg.get("extras"), dict) else {}
    extras[PLAN] = True
    leg["extras"] = extras
    return leg


@tk.chained_action
def package_search(original: Any, context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
    """BM25 first; the query is embedded and the kNN leg asked only when the query
    is natural language or BM25 found fewer than ``few_hits`` datasets."""
    page = plan(data_dict)
    if page is None:
        return original(context, data_dict)
    start, rows = page
    q = data_dict["q"].strip()
    source = "data_dict" if tk.asbool(data_dict.get("use_default_schema")) else "validated_data_dict"
    # both legs go to the depth, but only the returned page is read: CKAN hands back the
    # stored dicts unparsed (fl), and only the page's are parsed and prepared for view below
    depth_leg = {"start": 0, "rows": depth(), "fl": f"id {source}"}
    bm25: list[Any]
    embedding: Callable[[], list[float]]
    if always_blend() or natural_language(q):
        # this query is embedded whatever BM25 finds (unless a known item): the model
        # works in a thread while Solr answers the BM25 query
        embedding = _beside(q)
        result = original(context, _asking_for_filters(data_dict, **depth_leg))
        filters = result.pop(FILTERS, None)
        bm25 = [_Hit(doc, source) for doc in result["results"]]
        if filters is None or (exact_title_rule() and known_item(q, bm25) and start + rows <= len(bm25)):
            # a known item BM25 found, and the page lies inside BM25's list: blending gives this page
            result["results"] = _as_results(bm25[start : start + rows], context)
            return result
    else:
        # keywords: BM25 exactly as asked; enough hits are the answer (no model, no kNN)
        result = original(context, _asking_for_filters(data_dict))
        filters = result.pop(FILTERS, None)
        if filters is None or result["count"] >= few_hits():
            return result
        if start == 0 and len(result["results"]) >= result["count"]:
            bm25 = [_Shown(pkg) for pkg in result["results"]]  # the whole BM25 list is this page
        else:
            result = original(context, _asking_for_filters(data_dict, **depth_leg))
            result.pop(FILTERS, None)
            bm25 = [_Hit(doc, source) for doc in result["results"]]
        embedding = functools.partial(model.query, q)
    try:
        vector = embedding()
    except Exception:  # no model, no blending; the search itself still answers
        log.exception("udp_semantic: query not embedded")
        return original(context, data_dict)
    fq_list, q_op = filters
    hits = similar_enough(
        knn_hits(vector, fq_list, depth(), f"id {source}", q_op=q_op),
        min_similarity(),
    )
    knn = [_Hit(doc, source) for doc in hits]
    fused = blend(q, bm25, knn)
    shown = fused[start : start + rows]
    tail: list[Any] = []
    if result["count"] > len(bm25):
        # BM25 found more than the depth: its hits past the depth follow the blend, less the
        # datasets kNN brought into it, so that every page (and the count) agrees
        bm25_ids = {d.get("id") for d in bm25}
        only_knn = [d.get("id") for d in knn if d.get("id") not in bm25_ids]
        wanted = max(0, start + rows - max(start, len(fused)))
        if only_knn or wanted:
            rest = original(context, _beyond(data_dict, only_knn, len(bm25) + max(0, start - len(fused)), wanted))
            result["count"] = rest["count"]
            tail = rest["results"]
        result["count"] += len(fused) - len(bm25)
    else:
        result["count"] = len(fused)
    result["results"] = _as_results(shown, context) + tail
    return result


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _beside(q: str) -> Callable[[], list[float]]:
    """Start embedding ``q`` in this process's embedding thread; the returned
    call waits for the vector (or raises what the model raised)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():  # threads do not survive gunicorn's fork
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="udp-embed"))
        pool = _pool[1]
    return pool.submit(model.query, q).result


def _beyond(data_dict: dict[str, Any], exclude: list[str], start: int, rows: int) -> dict[str, Any]:
    """The BM25 search from ``start`` without the datasets ``exclude`` (their ids); no
    facets (the page has the first query's)."""
    fq_list = list(data_dict.get("fq_list") or [])
    if exclude:
        fq_list.append("-id:(" + " OR ".join(f'"{pid}"' for pid in exclude) + ")")
    return {**data_dict, "start": start, "rows": rows, "fq_list": fq_list, "facet": "false", "facet.field": []}


class _Shown:
    """A BM25 hit CKAN has already parsed and prepared (the keyword search's own page)."""

    __slots__ = ("pkg",)

    def __init__(self, pkg: dict[str, Any]) -> None:
        self.pkg = pkg

    def get(self, key: str, default: Any = None) -> Any:
        return self.pkg.get(key, default)


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


def _as_results(hits: list[Any], context: Any) -> list[dict[str, Any]]:
    """The page's hits as ``package_search`` returns them (as CKAN does: parsed, then
    ``before_dataset_view`` for a page; a hit without a stored dict is left out)."""
    out = []
    for hit in hits:
        if isinstance(hit, _Shown):
            out.append(hit.pkg)
            continue
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
    """Hand the filters CKAN applied to the BM25 query back to the wrapper, which
    runs the kNN leg (if at all) under exactly these."""
    extras = search_params.get("extras")
    if not isinstance(extras, dict) or PLAN not in extras:
        return search_results
    extras.pop(PLAN)
    fq = search_params.get("fq")
    fq_list = list(fq) if isinstance(fq, list) else [fq] if fq else []
    # CKAN parses the filters with q.op=AND: an fq clause without "+" is required too
    search_results[FILTERS] = (fq_list, search_params.get("q.op") or "AND")
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
