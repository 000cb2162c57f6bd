"""How udp_semantic blends the BM25 and kNN lists (no Solr, no model): reciprocal
rank fusion, and the known-item rule that keeps BM25's list when its first hit
has exactly the query as its title."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
import pytest

from ckanext.udp.semantic import hybrid

RULE = "ckanext.udp.semantic.exact_title"
TITLE = "Straßenverzeichnis der Stadt Bremen"


def pkg(pid: str, title: str = "") -> dict[str, Any]:
    return {"id": pid, "title": title or pid}


def ids(result: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in result]


# BM25 finds the exact title first, then two weaker hits; kNN likes "c" best and
# finds "d" that BM25 does not. Fusion lifts "c" over "b":
#   a: 1/61 + 1/63, c: 1/63 + 1/61 (tie, BM25 order), b: 1/62, d: 1/62 (tie, BM25 first)
BM25 = [pkg("a", TITLE), pkg("b", "Straßenverzeichnis"), pkg("c", "Straßen und Wege")]
KNN = [pkg("c"), pkg("d"), pkg("a")]


def test_fusion_alone_reorders_what_bm25_found() -> None:
    assert ids(hybrid.fuse(BM25, KNN, 60)) == ["a", "c", "b", "d"]


def test_an_exact_title_query_keeps_the_bm25_list_and_appends_the_knn_only_hits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tk.config, RULE, True)
    assert ids(hybrid.blend(TITLE, BM25, KNN)) == ["a", "b", "c", "d"]
    # the comparison ignores case, spacing and punctuation (NFKC, case folding)
    assert ids(hybrid.blend("  straßenverzeichnis der stadt, BREMEN ", BM25, KNN)) == ["a", "b", "c", "d"]


def test_the_rule_needs_the_exact_title_on_bm25s_first_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tk.config, RULE, True)
    fused = ["a", "c", "b", "d"]
    assert ids(hybrid.blend("Straßenverzeichnis Bremen", BM25, KNN)) == fused  # words of it only
    assert ids(hybrid.blend("Straßenverzeichnis", BM25, KNN)) == fused  # the second hit's title
    assert ids(hybrid.blend(TITLE, [], KNN)) == ["c", "d", "a"]  # BM25 found nothing
    monkeypatch.setitem(tk.config, RULE, False)  # switched off: fusion
    assert ids(hybrid.blend(TITLE, BM25, KNN)) == fused


@pytest.mark.parametrize(
    ("q", "sentence"),
    [
        ("Bäume", False),
        ("Fahrrad Parken", False),
        ("air quality", False),
        ("Bäume in der Stadt", True),
        ("charging stations for electric cars", True),
        ("wo parken", True),  # a question word first
        ("Parkhaus?", True),
        ("Wohin mit Altglas", True),
        ("tags:Bäume", False),  # fielded: never blended
        ("*:*", False),
        ("", False),
    ],
)
def test_what_counts_as_natural_language(q: str, sentence: bool) -> None:
    assert hybrid.natural_language(q) is sentence
