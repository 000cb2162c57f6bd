"""The public DCAT catalog: /catalog.{ttl,rdf,jsonld}."""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import time
from typing import Any
from urllib.parse import urlsplit

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckanext.dcat.processors import RDFParser
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF
from udp_testing import public_dataset

from ckanext.udp.catalog.cursor import SORT

HYDRA = "http://www.w3.org/ns/hydra/core#"
RDFLIB = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
CONTENT_TYPE = {"ttl": "text/turtle", "rdf": "application/rdf+xml", "jsonld": "application/ld+json"}


def _http_date(value: str) -> dt.datetime:
    return email.utils.parsedate_to_datetime(value)


def _next_second() -> None:
    """Wait for the next full second, so a change gets a later Last-Modified."""
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def fetch(app, url: str, fmt: str, **headers) -> Graph:
    resp = app.get(url, headers=headers)
    assert resp.status_code == 200, resp.body[:500]
    return Graph().parse(data=resp.body, format=RDFLIB[fmt])


def dataset_ids(g: Graph) -> list[str]:
    return sorted(str(s).rsplit("/", 1)[-1] for s in g.subjects(RDF.type, DCAT.Dataset))


def next_page(g: Graph) -> str | None:
    nxt = list(g.objects(None, URIRef(HYDRA + "next")))
    return str(nxt[0]) if nxt else None


def crawl(app, fmt: str, limit: int, between=None) -> list[str]:
    seen: list[str] = []
    url = f"/catalog.{fmt}?limit={limit}"
    while url:
        g = fetch(app, url, fmt)
        on_page = dataset_ids(g)
        assert 0 < len(on_page) <= limit
        seen += on_page
        if between:
            between(len(seen))
        url = next_page(g) and path(next_page(g))
    return seen


class Churn:
    """A catalog that changes while a crawler pages through it. Datasets are
    created public and hidden (published, restricted) by turns; after every
    page everything is edited, a dataset is added at the end, and by turns a
    dataset the crawler has already seen is deleted or a hidden one created
    before the crawler's position is opened to the public: the changes that
    shift offsets under a crawler."""

    def __init__(self, org: dict, sysadmin: dict) -> None:
        self.ctx = {"user": sysadmin["name"], "ignore_auth": True}
        self.sysadmin = sysadmin
        self.org = org
        self.public: list[str] = []
        self.hidden: list[str] = []
        for i in range(12):
            self.public.append(public_dataset(owner_org=org["id"], title=f"Datensatz {i}")["id"])
            if i % 2:
                self.hidden.append(public_dataset(owner_org=org["id"], private=True)["id"])
        self.order = {id_: n for n, id_ in enumerate(self._all_in_order())}
        self.pages = 0
        self.deleted_before_cursor: list[str] = []
        self.inserted_before_cursor: list[str] = []
        self.created: list[str] = []

    def _all_in_order(self) -> list[str]:
        rows = (
            model.Session.query(model.Package.id)
            .filter(model.Package.id.in_(self.public + self.hidden))
            .order_by(model.Package.metadata_created, model.Package.id)
        )
        return [r[0] for r in rows]

    def __call__(self, seen_so_far: int) -> None:
        self.pages += 1
        gone = set(self.deleted_before_cursor)
        for id_ in self.public:
            if id_ not in gone:
                tk.get_action("package_patch")(dict(self.ctx), {"id": id_, "notes": f"Seite {self.pages}"})
        seen_public = [i for i in self.public if i not in gone][:seen_so_far]
        cursor = self.order[seen_public[-1]] if seen_public else -1
        if self.pages % 2:
            victim = next((i for i in seen_public if i not in gone), None)
            if victim:
                tk.get_action("package_delete")(dict(self.ctx), {"id": victim})
                self.deleted_before_cursor.append(victim)
        else:
            before = [h for h in self.hidden if self.order[h] < cursor and h not in self.inserted_before_cursor]
            if before:
                tk.get_action("udp_set_access_class")(
                    {"user": self.sysadmin["name"]}, {"id": before[0], "access_class": "open"}
                )
                self.inserted_before_cursor.append(before[0])
        self.created.append(public_dataset(owner_org=self.org["id"])["id"])

    def problems(self, seen: list[str]) -> list[str]:
        """What a correct crawl must not show: a dataset twice, a dataset that
        was public throughout missing, anything that never was public."""
        out = [f"twice: {i}" for i in sorted({i for i in seen if seen.count(i) > 1})]
        survivors = [i for i in self.public if i not in self.deleted_before_cursor]
        out += [f"missed: {i}" for i in survivors if i not in seen]
        allowed = set(self.public) | set(self.inserted_before_cursor) | set(self.created)
        out += [f"never public: {i}" for i in seen if i not in allowed]
        return out


@pytest.fixture
def sysadmin():
    return factories.Sysadmin()


@pytest.fixture
def org():
    return factories.Organization()


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "clean_redis")
class TestCatalog:
    @pytest.mark.parametrize("fmt", ["ttl", "rdf", "jsonld"])
    def test_pages_hold_every_public_dataset_once(self, app, org, fmt):
        public = {public_dataset(owner_org=org["id"])["id"] for _ in range(7)}
        factories.Dataset(owner_org=org["id"], private=True)
        factories.Dataset(owner_org=org["id"], state="draft")
        pages: list[int] = []
        seen = crawl(app, fmt, limit=3, between=pages.append)
        assert sorted(seen) == sorted(public)
        assert pages == [3, 6, 7]

    def test_catalog_node_and_paging_triples(self, app, org):
        for _ in range(3):
            public_dataset(owner_org=org["id"])
        g = fetch(app, "/catalog.ttl?limit=2", "ttl")
        catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
        assert len(catalogs) == 1
        assert len(list(g.objects(catalogs[0], DCAT.dataset))) == 2
        page = next(g.subjects(RDF.type, URIRef(HYDRA + "PagedCollection")))
        assert int(g.value(page, URIRef(HYDRA + "totalItems"))) == 3
        assert int(g.value(page, URIRef(HYDRA + "itemsPerPage"))) == 2
        last = fetch(app, path(next_page(g)), "ttl")
        assert next_page(last) is None
        assert len(dataset_ids(last)) == 1

    def test_sysadmin_sees_the_public_catalog_too(self, app, org, sysadmin):
        factories.Dataset(owner_org=org["id"], private=True)
        pub = public_dataset(owner_org=org["id"])
        token = factories.APIToken(user=sysadmin["name"])["token"]
        g = fetch(app, "/catalog.ttl", "ttl", Authorization=token)
        assert dataset_ids(g) == [pub["id"]]

    def test_stable_paging_while_the_catalog_changes(self, app, org, sysadmin):
        churn = Churn(org, sysadmin)
        seen = crawl(app, "ttl", limit=3, between=churn)
        assert churn.problems(seen) == []
        assert churn.deleted_before_cursor and churn.inserted_before_cursor  # it did churn

    def test_offset_paging_fails_the_same_churn(self, org, sysadmin):
        """The churn above is strong enough to tell: offset paging (the stock
        endpoint's ``?page=N``) skips or repeats datasets under it."""
        churn = Churn(org, sysadmin)
        seen: list[str] = []
        start = 0
        while True:
            page = tk.get_action("package_search")(
                {"user": "", "auth_user_obj": None},
                {"fq": "+dataset_type:(dataset)", "sort": SORT, "rows": 3, "start": start},
            )["results"]
            if not page:
                break
            seen += [d["id"] for d in page]
            churn(len(seen))
            start += 3
        assert churn.problems(seen) != []

    @pytest.mark.parametrize("fmt", ["ttl", "rdf", "jsonld"])
    def test_stock_dcat_parser_gets_every_dataset(self, app, org, fmt):
        titles = {public_dataset(owner_org=org["id"], title=f"Titel {i}")["title"] for i in range(5)}
        got: list[str] = []
        pages = 0
        url = f"/catalog.{fmt}?limit=2"
        while url:
            parser = RDFParser(profiles=["euro_dcat_ap_3"])
            parser.parse(app.get(url).body, _format=RDFLIB[fmt])
            got += [d["title"] for d in parser.datasets()]
            nxt = parser.next_page()
            url = nxt and path(nxt)
            pages += 1
        assert sorted(got) == sorted(titles)
        assert pages == 3


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "clean_redis")
class TestConditionalRequests:
    def test_etag_gives_304_until_something_changes(self, app, org, sysadmin):
        pkg = public_dataset(owner_org=org["id"])
        first = app.get("/catalog.ttl")
        etag = first.headers["ETag"]
        assert first.headers["Last-Modified"]
        again = app.get("/catalog.ttl", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.body == ""
        tk.get_action("package_patch")(
            {"user": sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"], "title": "Neu"}
        )
        changed = app.get("/catalog.ttl", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["ETag"] != etag
        assert "Neu" in changed.body

    @pytest.mark.parametrize("transition", ["udp_withdraw", "udp_archive"])
    def test_a_workflow_transition_changes_etag_and_last_modified(self, app, org, sysadmin, transition):
        pkg = public_dataset(owner_org=org["id"])
        first = app.get("/catalog.ttl")
        assert pkg["id"] in first.body
        _next_second()  # Last-Modified has one-second resolution
        tk.get_action(transition)({"user": sysadmin["name"]}, {"id": pkg["id"], "reason": "Testgrund"})
        again = app.get("/catalog.ttl", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 200
        assert pkg["id"] not in again.body
        # revalidating with the date the client got before the change must not give a 304
        by_date = app.get("/catalog.ttl", headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert by_date.status_code == 200
        assert _http_date(by_date.headers["Last-Modified"]) > _http_date(first.headers["Last-Modified"])

    def test_etag_differs_per_format_and_page(self, app, org):
        public_dataset(owner_org=org["id"])
        tags = {app.get(u).headers["ETag"] for u in ("/catalog.ttl", "/catalog.rdf", "/catalog.ttl?limit=5")}
        assert len(tags) == 3

    def test_if_modified_since(self, app, org, sysadmin):
        pkg = public_dataset(owner_org=org["id"])
        lm = app.get("/catalog.rdf").headers["Last-Modified"]
        assert app.get("/catalog.rdf", headers={"If-Modified-Since": lm}).status_code == 304
        earlier = email.utils.format_datetime(_http_date(lm) - dt.timedelta(seconds=1), usegmt=True)
        assert app.get("/catalog.rdf", headers={"If-Modified-Since": earlier}).status_code == 200
        _next_second()
        tk.get_action("package_patch")(
            {"user": sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"], "title": "Geändert"}
        )
        assert app.get("/catalog.rdf", headers={"If-Modified-Since": lm}).status_code == 200


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "clean_redis")
class TestBadRequests:
    @pytest.mark.parametrize("fmt", ["ttl", "rdf", "jsonld"])
    def test_parameter_errors_answer_in_the_rdf_format_asked_for(self, app, fmt):
        # an RDF client gets a 400 it can parse (a hydra:Error), never an HTML page
        for query, says in [
            ("after=bm9uc2Vuc2U", "after"),
            ("after=%%%", "after"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=zehn", "limit"),
        ]:
            resp = app.get(f"/catalog.{fmt}?{query}")
            assert resp.status_code == 400, query
            assert resp.headers["Content-Type"].split(";")[0] == CONTENT_TYPE[fmt], query
            g = Graph().parse(data=resp.body, format=RDFLIB[fmt])
            (error,) = g.subjects(RDF.type, URIRef(HYDRA + "Error"))
            assert int(g.value(error, URIRef(HYDRA + "statusCode"))) == 400
            assert says in str(g.value(error, URIRef(HYDRA + "description"))), query

    def test_unknown_format_is_a_plain_404(self, app):
        for url in ("/catalog.exe", "/dataset/irgendwas.exe"):
            resp = app.get(url, status=404)
            assert resp.headers["Content-Type"].startswith("text/plain") and "exe" in resp.body

    def test_private_dataset_rdf_is_not_served(self, app, org):
        pkg = factories.Dataset(owner_org=org["id"], private=True)
        resp = app.get(f"/dataset/{pkg['id']}.ttl")
        assert resp.status_code in (403, 404)
        assert pkg["title"] not in resp.body

    def test_public_dataset_rdf(self, app, org):
        pkg = public_dataset(owner_org=org["id"], title="Baustellen")
        g = fetch(app, f"/dataset/{pkg['id']}.ttl", "ttl")
        assert dataset_ids(g) == [pkg["id"]]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "clean_redis")
class TestFragmentCache:
    def test_warm_caches_public_datasets_only(self, org):
        from ckanext.udp.catalog import cache, fragments

        pub = public_dataset(owner_org=org["id"])
        priv = factories.Dataset(owner_org=org["id"], private=True)
        assert fragments.warm([pub["id"], priv["id"]]) == 1
        assert fragments.warm([pub["id"]]) == 0  # already there
        keys = [k.decode() for k in cache.connect().scan_iter("udp:catalog:fragment:*")]
        assert len(keys) == 1 and pub["id"] in keys[0]

    def test_ckan_udp_catalog_warm_fills_the_cache(self, cli, org):
        from ckan.cli.cli import ckan as ckan_cli

        from ckanext.udp.catalog import cache

        pub = public_dataset(owner_org=org["id"])
        factories.Dataset(owner_org=org["id"], private=True)
        result = cli.invoke(ckan_cli, ["udp", "catalog", "warm"])
        assert result.exit_code == 0, result.output
        assert "1 public datasets, 1 serialised, 0 already cached" in result.output
        keys = [k.decode() for k in cache.connect().scan_iter("udp:catalog:fragment:*")]
        assert len(keys) == 1 and pub["id"] in keys[0]
        again = cli.invoke(ckan_cli, ["udp", "catalog", "warm"])
        assert "1 public datasets, 0 serialised, 1 already cached" in again.output

    def test_the_cache_lives_in_its_own_redis_database(self, app, org):
        from ckan.lib.redis import connect_to_redis

        from ckanext.udp.catalog import cache

        public_dataset(owner_org=org["id"])
        assert app.get("/catalog.ttl").status_code == 200
        ckan_db = connect_to_redis().connection_pool.connection_kwargs["db"]
        catalog_db = cache.connect().connection_pool.connection_kwargs["db"]
        assert catalog_db != ckan_db
        assert list(connect_to_redis().scan_iter("udp:catalog:*")) == []  # beside the job queues: nothing
        assert list(cache.connect().scan_iter("udp:catalog:fragment:*"))

    def test_an_edit_replaces_the_cached_version(self, app, org, sysadmin):
        from ckanext.udp.catalog import cache

        pkg = public_dataset(owner_org=org["id"], title="Version 0")
        assert "Version 0" in app.get("/catalog.ttl").body
        for i in range(1, 4):
            tk.get_action("package_patch")(
                {"user": sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"], "title": f"Version {i}"}
            )
            assert f"Version {i}" in app.get("/catalog.ttl").body
        conn = cache.connect()
        keys = [k for k in conn.scan_iter("udp:catalog:fragment:*") if pkg["id"].encode() in k]
        assert len(keys) == 1, "older versions are left in Redis"
        assert b"Version 3" in conn.hget(keys[0], "ttl")
        tk.get_action("package_delete")({"user": sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"]})
        assert [k for k in conn.scan_iter("udp:catalog:fragment:*") if pkg["id"].encode() in k] == []

    def test_an_edit_is_served_at_once_despite_the_cache(self, app, org, sysadmin):
        pkg = public_dataset(owner_org=org["id"], title="Alt")
        assert "Alt" in app.get("/catalog.ttl").body
        tk.get_action("package_patch")(
            {"user": sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"], "title": "Neu"}
        )
        body = app.get("/catalog.ttl").body
        assert "Neu" in body and '"Alt"' not in body

    def test_many_writes_queue_one_warm_job_that_serialises_them_all(self, org):
        """One warm job serves every write until it starts (CKAN's worker loads the
        whole application for each job: a job per dataset kept the worker busy for an
        hour after 1,000 writes); a write after the job started queues the next one."""
        from ckan.lib.jobs import get_queue

        from ckanext.udp.catalog import fragments

        def warm_jobs() -> list[Any]:
            return [job for job in queue.jobs if "udp catalog" in (job.meta.get("title") or "")]

        queue = get_queue()
        queue.empty()
        fragments.connect_to_redis().delete(fragments._QUEUED.format(site=fragments._site()))  # an earlier test's
        written = [public_dataset(owner_org=org["id"]) for _ in range(5)]
        assert len(warm_jobs()) == 1
        assert warm_jobs()[0].func is fragments.warm_pending
        # the job as the worker runs it: every written dataset is serialised
        assert fragments.warm_pending() >= 5
        assert fragments.warm([pkg["id"] for pkg in written]) == 0  # all in the cache already
        queue.empty()
        written.append(public_dataset(owner_org=org["id"]))
        assert len(warm_jobs()) == 1  # the next job, for the write that came after
        assert fragments.warm_pending() == 1

    def test_a_warm_job_that_could_not_be_queued_is_queued_by_the_next_write(self, org, monkeypatch):
        """CKAN's job queue (its Redis) away while the catalog's cache is not: the
        write's dataset waits, and the next write queues the job (the "queued" mark
        is not left behind for its ten minutes)."""
        import ckan.lib.jobs as jobs
        import ckan.lib.redis as ckan_redis
        import redis

        from ckanext.udp.catalog import fragments

        queued = fragments._QUEUED.format(site=fragments._site())
        fragments.connect_to_redis().delete(queued)  # an earlier test's
        jobs.get_queue().empty()
        with monkeypatch.context() as away:  # nothing listens on port 9
            away.setattr(ckan_redis, "_connection_pool", redis.ConnectionPool.from_url("redis://127.0.0.1:9/0"))
            away.setattr(jobs, "_queues", {})
            with pytest.raises(redis.RedisError):
                fragments.schedule("waiting-dataset")
        assert not fragments.connect_to_redis().exists(queued)
        assert fragments.schedule("next-dataset") is True
        assert [job.func for job in jobs.get_queue().jobs if job.func is fragments.warm_pending] == [
            fragments.warm_pending
        ]
        jobs.get_queue().empty()
        fragments.connect_to_redis().delete(queued)
        fragments.connect_to_redis().srem(
            fragments._PENDING.format(site=fragments._site()), "waiting-dataset", "next-dataset"
        )

    def test_a_write_succeeds_with_the_catalog_cache_away(self, org, monkeypatch):
        # the cache's Redis out of reach: the dataset is written, only not queued for serialising
        monkeypatch.setitem(tk.config, "ckanext.udp.catalog.redis_url", "redis://127.0.0.1:9/0")
        pkg = public_dataset(owner_org=org["id"])
        assert tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})["id"] == pkg["id"]
