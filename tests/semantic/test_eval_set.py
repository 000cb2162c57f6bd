"""The search evaluation set (bench/search_eval/judgements.txt) is well-formed:
60 queries in six groups, grades 0-3, every judged dataset in the corpus the
bench loads, every exact-title query's dataset graded 3. Needs no model."""

from __future__ import annotations

import importlib.util
import pathlib
from collections import Counter

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("search_quality", ROOT / "bench" / "search_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sq = _bench()


@pytest.fixture(scope="module")
def queries():
    return sq.read_judgements()


def test_sixty_queries_ten_per_group(queries):
    assert len(queries) == 60
    assert len({q["id"] for q in queries}) == 60, "query ids repeat"
    assert Counter(q["group"] for q in queries) == {g: 10 for g in sq.GROUPS}


def test_grades_are_0_to_3_and_every_query_has_a_relevant_dataset(queries):
    for q in queries:
        assert q["grades"], f"{q['id']} has no judgements"
        assert set(q["grades"].values()) <= {0, 1, 2, 3}, q["id"]
        assert max(q["grades"].values()) >= 2, f"{q['id']} has no clearly relevant dataset"


@pytest.mark.usefixtures("with_plugins")
def test_every_judged_dataset_is_in_the_loaded_corpus_and_titles_are_graded_3(queries, shared_dir):
    corpus = {d["name"]: d for d in sq.corpus(shared_dir)}  # parsed once: the slow part (~1 min)
    assert len(corpus) >= 500
    missing = [(q["id"], n) for q in queries for n in q["grades"] if n not in corpus]
    assert not missing, missing[:10]
    for q in (q for q in queries if q["group"] == "title"):
        named = [n for n, d in corpus.items() if (d.get("title") or "").strip() == q["q"]]
        assert named, f"{q['id']}: no dataset is titled {q['q']!r}"
        assert any(q["grades"].get(n) == 3 for n in named), f"{q['id']}: its dataset is not graded 3"


def test_a_malformed_file_is_refused(tmp_path):
    bad = tmp_path / "j.txt"
    bad.write_text("## q1 | typo | Frieshöfe\nse-ros-0123456789 drei\n", encoding="utf-8")
    with pytest.raises(ValueError):
        sq.read_judgements(bad)


def test_metrics():
    grades = {"a": 3, "b": 1, "c": 0}
    assert sq.ndcg_at(["a", "b"], grades) == pytest.approx(1.0)
    assert sq.ndcg_at(["b", "a"], grades) < 1.0
    assert sq.ndcg_at(["x"], grades) == 0.0
    assert sq.recall_at(["a", "x"], grades) == pytest.approx(0.5)
