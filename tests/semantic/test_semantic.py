"""udp_semantic on the real Solr core with the real model (loaded once per
process): vectors in the index, hybrid search, similar datasets, suggestions,
and that a hidden dataset never comes back through the new channels."""

from __future__ import annotations

import json
import pathlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
from ckan.lib import search as ckan_search
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat, rediscache
from ckanext.udp.semantic import hybrid, model
from ckanext.udp.semantic import similar as similar_datasets

REPO = pathlib.Path(__file__).resolve().parents[2]
ENABLED = "ckanext.udp.semantic.enabled"
OFF = {"ext_udp_semantic": "off"}
# CKAN restores the config before each test: switched on for each test, and for the world (module) below
pytestmark = pytest.mark.ckan_config(ENABLED, "true")

# the draft of another office: it shares every word with the tree cadastre
HIDDEN_TITLE = "Straßenbäume: Fällliste und Baumkontrollen (intern)"


@pytest.fixture(scope="module")
def loaded() -> Iterator[None]:
    plugins.load_all()
    try:
        yield
    finally:
        plugins.unload_all()


@pytest.fixture(scope="module")
def enabled(loaded: None) -> Iterator[None]:
    before = tk.config.get(ENABLED)
    tk.config[ENABLED] = True
    try:
        yield
    finally:
        tk.config[ENABLED] = before


DEMO = REPO / "ckanext" / "udp" / "portal" / "demo" / "karlsruhe.json"


@pytest.fixture(scope="module")
def world(enabled: None, reset_db: Any) -> dict[str, Any]:
    """The demo catalog's twelve datasets (their texts, tags and themes), public,
    and a draft of the Gartenbauamt that shares their words: hidden from everybody
    outside that office."""
    reset_db()
    ckan_search.clear_all()
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    orgs = {org["name"]: factories.Organization(name=org["name"]) for org in demo["organizations"]}
    for pkg in demo["datasets"]:
        public_dataset(
            name=pkg["name"],
            title=pkg["title"],
            notes=pkg["notes"],
            tags=pkg.get("tags", []),
            theme=pkg.get("theme", []),
            owner_org=orgs[pkg["owner_org"]]["id"],
        )
    hidden = factories.Dataset(
        context={"user": factories.Sysadmin()["name"]},
        name="faellliste-intern",
        title=HIDDEN_TITLE,
        notes="Welche Bäume an Straßen gefällt werden, mit Baumkontrollen und Standorten.",
        owner_org=orgs["gartenbauamt"]["id"],
        tags=[{"name": "Bäume"}],
    )
    outsider = factories.User()
    factories.Organization(users=[{"name": outsider["name"], "capacity": "editor"}])
    return {
        "demo": [pkg["name"] for pkg in demo["datasets"]],
        "hidden": hidden,
        "outsider": outsider,
        "steward": factories.User(),
        "sysadmin": factories.Sysadmin(),
    }


def search(data: dict[str, Any], user: dict[str, Any] | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"user": user["name"]} if user else {"user": "", "auth_user_obj": None}
    return tk.get_action("package_search")(context, {"rows": 20, **data})


def names(result: dict[str, Any]) -> list[str]:
    return [d["name"] for d in result["results"]]


def test_every_dataset_has_a_vector_in_solr(world: dict[str, Any]) -> None:
    # kNN over the whole core (no filters): a document without a vector is never a neighbour
    hits = hybrid.knn_hits(model.query("Daten"), [], 100, "id name")
    assert sorted(h["name"] for h in hits) == sorted([*world["demo"], "faellliste-intern"])


def test_english_trees_finds_the_tree_cadastre(world: dict[str, Any]) -> None:
    assert names(search({"q": "trees", **OFF})) == []  # BM25 alone knows no English
    # found, though not first: the small 4-bit model is weakest on one English word
    # (5th of 12 here, after Baustellen and Kitas; docs/ki-suche.md)
    assert "baumkataster" in names(search({"q": "trees"}))
    assert names(search({"q": "air pollution"}))[0] == "luftqualitaet-tagesmittel"
    assert names(search({"q": "parking"}))[0] == "parkhaeuser-belegung"


def test_switched_off_is_exactly_bm25(world: dict[str, Any]) -> None:
    for q in ("Bäume", "Stadtteile Bevölkerung", "Parkhaus", "trees"):
        blended_off = search({"q": q, "extras": OFF})
        tk.config[ENABLED] = False
        try:
            plain = search({"q": q})
        finally:
            tk.config[ENABLED] = True
        assert names(blended_off) == names(plain)
        assert blended_off["count"] == plain["count"]
        assert blended_off["facets"] == plain["facets"]


def test_fielded_and_match_all_queries_are_not_blended(world: dict[str, Any]) -> None:
    assert names(search({"q": "name:baustellen"})) == ["baustellen"]
    assert search({"q": "*:*"})["count"] == len(world["demo"])


def test_filters_and_facets_hold_for_the_blended_results(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no similarity floor: every neighbour the filters let through comes back
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")
    result = search({"q": "trees", "fq": 'organization:"tiefbauamt"', "facet.field": '["organization"]'})
    # the kNN leg runs under the same fq: only the Tiefbauamt's two datasets come back
    assert sorted(names(result)) == ["baustellen", "parkhaeuser-belegung"]
    assert result["count"] == 2


def test_paging_inside_the_depth_is_stable(world: dict[str, Any]) -> None:
    whole = names(search({"q": "Bäume in der Stadt", "rows": 4}))
    pages = names(search({"q": "Bäume in der Stadt", "rows": 2})) + names(
        search({"q": "Bäume in der Stadt", "rows": 2, "start": 2})
    )
    assert pages == whole


@pytest.mark.parametrize("q", ["Daten der Stadt Karlsruhe", "trees"])
def test_paging_through_every_page_gives_each_hit_once(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    """An app paging through a blended search (as through any CKAN search) gets
    every hit exactly once, and as many as the count says, on every page: the
    blended head is followed by the rest of BM25's list without the datasets
    the blend already showed. (Pages past the blend depth were plain BM25:
    datasets BM25 ranked inside the depth but the blend pushed past it were on
    no page, and kNN's there came twice.) A small depth, so the thirteen
    datasets reach past it."""
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.depth", "3")
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.exact_title", "false")
    bm25 = names(search({"q": q, "rows": 100, "extras": OFF}))
    counts, seen = set(), []
    for start in range(0, 20, 2):
        page = search({"q": q, "rows": 2, "start": start})
        counts.add(page["count"])
        seen += names(page)
    assert len(seen) == len(set(seen)), seen  # nothing twice
    assert counts == {len(seen)}  # the count is what paging delivers, the same on every page
    assert set(bm25) <= set(seen)  # nothing BM25 finds is lost
    # the head is the blend; a page of two is the same as the longer page holding it
    assert seen[:6] == names(search({"q": q, "rows": 6}))


def _context(for_view: bool) -> dict[str, Any]:
    return {"user": "", "auth_user_obj": None, **({"for_view": True} if for_view else {})}


@pytest.mark.parametrize("for_view", [False, True])
def test_the_blended_page_is_the_fusion_of_the_fully_parsed_lists(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, for_view: bool
) -> None:
    """The legs' dataset dicts are parsed only for the returned page now; the page
    (every field of every dict, the order, the count) is what fusing both whole
    lists of parsed dicts gives, as before. for_view: the search page's context
    (before_dataset_view on every returned dict)."""
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")  # many kNN-only hits
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.depth", "10")  # BM25 and kNN lists cut at the depth
    legs: list[list[dict[str, Any]]] = []
    real_knn = hybrid.knn_hits
    monkeypatch.setattr(hybrid, "knn_hits", lambda *a, **kw: legs.append(real_knn(*a, **kw)) or legs[-1])
    action = tk.get_action("package_search")
    for q in ("Bäume in der Stadt", "Baumkataster", "trees", "Verkehr Parken"):
        for start, rows in ((0, 10), (0, 4), (4, 4), (6, 4), (3, 5)):  # pages inside the depth
            legs.clear()
            got = action(_context(for_view), {"q": q, "start": start, "rows": rows})
            assert len(legs) == 1, (q, start, rows)
            bm25 = action(_context(for_view), {"q": q, "rows": 10, "extras": OFF})
            knn = []
            for hit in hybrid.similar_enough(legs[0], hybrid.min_similarity()):
                pkg = json.loads(hit["validated_data_dict"])
                for plugin in plugins.PluginImplementations(plugins.IPackageController):
                    pkg = plugin.before_dataset_view(pkg) if for_view else pkg
                knn.append(pkg)
            fused = hybrid.blend(q, bm25["results"], knn)
            assert got["results"] == fused[start : start + rows], (q, start, rows)
            assert got["results"], (q, start)  # not a page of nothing
            # each dataset once: the blend's and the rest of BM25's (a kNN hit BM25 ranks past the
            # depth is counted once, not twice as before)
            every = {d["id"] for d in action(_context(False), {"q": q, "rows": 1000, "extras": OFF})["results"]}
            assert got["count"] == len(every | {d["id"] for d in fused}), (q, start, rows)


def test_only_the_returned_page_is_parsed(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")  # 13 kNN hits, 1 to 2 BM25 hits
    parsed: list[str] = []

    def loads(raw: str) -> Any:
        parsed.append(raw)
        return json.loads(raw)

    monkeypatch.setattr(hybrid, "json", type("CountingJson", (), {"loads": staticmethod(loads)}))
    result = search({"q": "Bäume in der Stadt", "rows": 2})
    assert len(result["results"]) == 2 and result["count"] > 5
    # the page's two hits, and at most the first BM25 hit's title for the known-item rule
    assert 2 <= len(parsed) <= 3


def test_a_query_nothing_matches_adds_no_neighbours(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The similarity floor (ckanext.udp.semantic.min_similarity): kNN returns its
    nearest datasets however far away; below the floor none is blended in."""
    for q in ("Liebesgedichte", "asdf"):
        assert names(search({"q": q, **OFF})) == [], q  # BM25 finds nothing
        assert names(search({"q": q})) == [], q
    # the control: without the floor the kNN leg adds neighbours to a query nothing matches
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")
    assert len(names(search({"q": "Liebesgedichte"}))) >= 5


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_a_hidden_dataset_never_comes_back(world: dict[str, Any], who: str) -> None:
    user = None if who == "anonymous" else world["outsider"]
    hidden = world["hidden"]["name"]
    for q in ("Fällliste Straßenbäume Baumkontrollen", "trees to be felled along streets", "Bäume"):
        assert hidden not in names(search({"q": q, "rows": 40}, user)), q
        assert hidden not in names(search({"q": q, "rows": 40, "include_private": True}, user)), q
    context: dict[str, Any] = {"user": user["name"]} if user else {"user": "", "auth_user_obj": None}
    similar = tk.get_action("udp_semantic_similar")(context, {"id": "baumkataster", "limit": 20})
    assert similar and hidden not in [d["name"] for d in similar]
    with pytest.raises(tk.NotAuthorized):
        tk.get_action("udp_semantic_similar")(dict(context), {"id": hidden})


def test_the_hidden_dataset_is_a_near_neighbour(world: dict[str, Any]) -> None:
    """The positive control of the test above: to those who may see it (and to an
    unfiltered kNN) the hidden draft is the nearest dataset to the query."""
    hidden = world["hidden"]["name"]
    assert names(search({"q": "trees to be felled along streets", "include_private": True}, world["sysadmin"]))[0] == (
        hidden
    )
    unfiltered = hybrid.knn_hits(model.query("Fällliste Straßenbäume"), [], 2, "id name")
    assert hidden in [h["name"] for h in unfiltered]


def test_similar_datasets_are_public_and_near(world: dict[str, Any]) -> None:
    found = tk.get_action("udp_semantic_similar")({"user": ""}, {"id": "spielplaetze", "limit": 3})
    assert len(found) == 3 and "spielplaetze" not in [d["name"] for d in found]
    assert "kindertageseinrichtungen" in [d["name"] for d in found]


@pytest.fixture
def model_runs(loaded: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the model itself embeds (not the ones a cache answers)."""
    real = model.get()
    calls: list[str] = []

    class Counting:
        def query(self, text: str) -> Any:
            calls.append(text)
            return real.query(text)

    monkeypatch.setattr(model, "get", Counting)
    return calls


def test_a_repeated_query_is_embedded_once(model_runs: list[str]) -> None:
    calls = model_runs
    q = f"Spielplätze mit Wasser {uuid.uuid4().hex[:8]}"
    first = model.query(q)
    assert model.query(q) == first and calls == [q]
    assert model.query(q + " in Durlach") != first and len(calls) == 2


def test_a_query_another_process_embedded_is_not_embedded_again(model_runs: list[str], monkeypatch: Any) -> None:
    """The vector is shared through CKAN's Redis: a process that did not embed the
    query itself (another gunicorn worker, a restarted one; here: this process with
    its own vectors forgotten) takes it from there instead of asking the model."""
    calls = model_runs
    q = f"Radwege zur Arbeit {uuid.uuid4().hex[:8]}"
    first = model.query(q)
    model.forget()
    assert model.query(q) == pytest.approx(first) and calls == [q]
    # switched off, each process embeds for itself
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.query_cache_ttl", "0")
    model.forget()
    assert model.query(q) == pytest.approx(first) and calls == [q, q]


def test_the_model_answers_when_the_shared_vectors_are_away(loaded: None, monkeypatch: Any) -> None:
    """Redis away, or holding something that is no vector: the model is asked."""
    q = f"Hochwasser am Rhein {uuid.uuid4().hex[:8]}"
    model.forget()
    monkeypatch.setitem(tk.config, "ckan.redis.url", "redis://127.0.0.1:1/0")  # nothing listens there
    away = model.query(q)
    monkeypatch.undo()
    model.forget()
    rediscache.put(model._key(q), "kein Vektor", 60)
    assert model.query(q) == pytest.approx(away)
    model.forget()
    assert model.cached(q) == pytest.approx(away)  # the model's vector replaced the rubbish


def test_a_natural_language_query_is_embedded_while_bm25_runs(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model starts before BM25's Solr query has answered: BM25's hook (run
    when Solr answered) sees the embedding started. Done one after the other, it
    would wait for a start that comes only after it."""
    started = threading.Event()
    seen: list[bool] = []
    real_query, real_after = model.query, hybrid.after_search

    def query(text: str) -> list[float]:
        started.set()
        return real_query(text)

    def after_search(results: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if not seen:
            seen.append(started.wait(3))
        return real_after(results, params)

    monkeypatch.setattr(model, "query", query)
    monkeypatch.setattr(hybrid, "after_search", after_search)
    got = search({"q": "wo stehen die Bäume"})
    assert seen == [True]
    assert "baumkataster" in names(got)


def test_suggestions_propose_themes_and_keywords_and_change_nothing(world: dict[str, Any]) -> None:
    before = tk.get_action("package_show")({"ignore_auth": True}, {"id": "baumkataster"})
    # the keywords come from the public datasets' tags
    answer = tk.get_action("udp_semantic_suggest")(
        {"user": world["steward"]["name"]},
        {"title": "Straßenbäume in Durlach", "notes": "Standorte und Arten der Bäume an Straßen"},
    )
    assert "ENVI" in " ".join(t["uri"] for t in answer["themes"])  # Umwelt
    keywords = [k["name"] for k in answer["keywords"]]
    public_tags = {t["name"] for name in world["demo"] for t in search({"q": f"name:{name}"})["results"][0]["tags"]}
    assert len(keywords) == 5 and set(keywords) <= public_tags
    assert "Bäume" not in keywords  # the tag of the hidden draft only
    after = tk.get_action("package_show")({"ignore_auth": True}, {"id": "baumkataster"})
    assert after["metadata_modified"] == before["metadata_modified"]


def test_suggestions_refuse_anonymous_and_bad_input(world: dict[str, Any]) -> None:
    action = tk.get_action("udp_semantic_suggest")
    with pytest.raises(tk.NotAuthorized):
        action({"user": ""}, {"title": "Bäume"})
    steward = {"user": world["steward"]["name"]}
    for bad in ({}, {"title": " "}, {"title": ["x"]}, {"title": "x" * 20001}, {"title": "Bäume", "themes": "viele"}):
        with pytest.raises(tk.ValidationError):
            action(dict(steward), bad)


def test_nothing_is_embedded_when_switched_off(world: dict[str, Any]) -> None:
    org = factories.Organization()
    tk.config[ENABLED] = False
    try:
        public_dataset(name="ohne-vektor", title="Spielplätze", notes="Spielplätze der Stadt", owner_org=org["id"])
        with pytest.raises(tk.ValidationError):
            tk.get_action("udp_semantic_suggest")({"user": world["steward"]["name"]}, {"title": "Spielplätze"})
    finally:
        tk.config[ENABLED] = True
    hits = hybrid.knn_hits(model.query("Spielplätze"), [], 100, "id name")
    assert "ohne-vektor" not in [h["name"] for h in hits]
    compat.reindex_datasets([tk.get_action("package_show")({"ignore_auth": True}, {"id": "ohne-vektor"})["id"]])
    hits = hybrid.knn_hits(model.query("Spielplätze"), [], 100, "id name")
    assert "ohne-vektor" in [h["name"] for h in hits]


def test_similar_datasets_read_the_stored_vector_and_embed_nothing(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dataset page's "Ähnliche Datensätze" took ~0.2 s of CPU per view embedding
    the dataset again (the load test's dataset page 6× stock): an indexed dataset's
    vector comes from its Solr document; the model is asked only for a dataset
    without one, and both ways find the same neighbours."""
    pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": "spielplaetze"})
    asked: list[list[str]] = []
    real = model.passages

    def counting(passages: list[str]) -> list[list[float]]:
        asked.append(passages)
        return real(passages)

    monkeypatch.setattr(model, "passages", counting)
    stored = [d["name"] for d in similar_datasets.similar(pkg, 5)]
    assert stored and asked == []
    monkeypatch.setattr(similar_datasets, "stored_vector", lambda pkg_id: None)
    embedded = [d["name"] for d in similar_datasets.similar(pkg, 5)]
    assert len(asked) == 1
    assert embedded == stored


# --- when the kNN leg runs (ckanext.udp.semantic.blend = auto) ---------------------------


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Every query the hybrid search embeds, and every kNN query it sends."""
    calls: dict[str, list[Any]] = {"embedded": [], "knn": []}
    real_query, real_knn = model.query, hybrid.knn_hits

    def query(text: str) -> list[float]:
        calls["embedded"].append(text)
        return real_query(text)

    def knn(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        calls["knn"].append(args[1])
        return real_knn(*args, **kwargs)

    monkeypatch.setattr(model, "query", query)
    monkeypatch.setattr(hybrid, "knn_hits", knn)
    return calls


# a keyword BM25 finds three demo datasets for (the tag Umwelt: trees and air quality,
# and a description); the twelve demo datasets are few, so "a full page" is lowered
# to what BM25 finds here
KEYWORD, KEYWORD_HITS = "Umwelt", 3


def test_a_keyword_query_bm25_answers_fully_is_not_embedded(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, model_calls: dict[str, list[Any]]
) -> None:
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.few_hits", str(KEYWORD_HITS))
    got = search({"q": KEYWORD, "facet.field": '["organization"]'})
    plain = search({"q": KEYWORD, "facet.field": '["organization"]', "extras": OFF})
    assert plain["count"] == KEYWORD_HITS
    assert model_calls == {"embedded": [], "knn": []}  # no model call, no second Solr query
    assert names(got) == names(plain) and got["count"] == plain["count"] and got["facets"] == plain["facets"]
    # the control: blending every free-text query (as before) embeds it and asks kNN
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.blend", "always")
    search({"q": KEYWORD})
    assert model_calls["embedded"] == [KEYWORD] and len(model_calls["knn"]) == 1


def test_a_keyword_query_bm25_misses_is_blended(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, model_calls: dict[str, list[Any]]
) -> None:
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.few_hits", str(KEYWORD_HITS))
    assert names(search({"q": "trees", **OFF})) == []
    assert "baumkataster" in names(search({"q": "trees"}))  # BM25 finds nothing: blended
    assert model_calls["embedded"] == ["trees"] and len(model_calls["knn"]) == 1
    # one BM25 hit, fewer than a page: blended too, and the kNN leg adds the neighbours
    model_calls["embedded"].clear()
    assert names(search({"q": "Baumkataster", **OFF})) == ["baumkataster"]
    blended = names(search({"q": "Baumkataster"}))
    assert model_calls["embedded"] == ["Baumkataster"]
    assert blended[0] == "baumkataster" and len(blended) > 1
    # the control: with no "few hits" threshold the same searches are BM25 alone
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.few_hits", "0")
    model_calls["embedded"].clear()
    assert names(search({"q": "trees"})) == [] and names(search({"q": "Baumkataster"})) == ["baumkataster"]
    assert model_calls["embedded"] == []


def test_a_natural_language_query_is_blended_however_many_bm25_finds(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, model_calls: dict[str, list[Any]]
) -> None:
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.few_hits", "1")  # every BM25 answer is "a full page"
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.min_similarity", "0")
    for q in ("Bäume in der Stadt", "Wo sind Parkhäuser", "Parkhaus?"):
        model_calls["embedded"].clear()
        assert search({"q": q, **OFF})["count"] >= 1, q
        result = search({"q": q})
        assert model_calls["embedded"] == [q], q
        assert result["count"] > search({"q": q, **OFF})["count"], q  # kNN-only neighbours came in
    model_calls["embedded"].clear()
    search({"q": "Parkhaus"})  # the keyword alone: BM25 found it, nothing embedded
    assert model_calls["embedded"] == []


def test_an_exact_title_found_first_asks_no_knn(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, model_calls: dict[str, list[Any]]
) -> None:
    """Natural language, but BM25's first hit is the exact title and the page lies
    inside BM25's list: the known-item rule would keep that page as it is, so no
    kNN query is sent (the query is embedded beside BM25 all the same: that starts
    before BM25 answers)."""
    title = tk.get_action("package_show")({"ignore_auth": True}, {"id": "baumkataster"})["title"]
    plain = search({"q": title, "rows": 1, **OFF})
    got = search({"q": title, "rows": 1})
    assert names(got) == names(plain) == ["baumkataster"]
    assert model_calls["knn"] == []
    monkeypatch.setitem(tk.config, "ckanext.udp.semantic.exact_title", "false")  # the control: fusion
    search({"q": title, "rows": 1})
    assert len(model_calls["knn"]) == 1
