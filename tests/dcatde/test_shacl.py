"""Every demo dataset's DCAT-AP.de RDF has 0 violations against the official
DCAT-AP.de 3.0 shapes (+ SEMIC DCAT-AP 3.0.0 base shapes)."""
from __future__ import annotations

import collections
from urllib.parse import urlsplit

import pytest
import rdflib

import ckan.plugins.toolkit as tk
from ckan.tests import factories

from ckanext.udp.portal import demo
from ckanext.udp.dcatde import validation

from dcatde_testlib import to_turtle
from full_dataset import full_dataset


@pytest.fixture
def shapes(ckan_config, monkeypatch, shared_dir):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(shared_dir / "dcat-ap-de"))


def _violations(report: validation.Report) -> list[str]:
    return [f"{r.focus_node} {r.path}: {r.message} ({r.value})" for r in report.violations]


def _warnings(report: validation.Report) -> collections.Counter:
    return collections.Counter(f"{r.path}: {r.message}" for r in report.warnings)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "shapes")
class TestOfficialShapes:
    def test_every_demo_dataset_conforms(self, capsys):
        demo.load()
        names = [d["name"] for d in tk.get_action("package_search")({}, {"rows": 1000})["results"]]
        assert len(names) >= 12
        warnings: collections.Counter = collections.Counter()
        for name in names:
            dataset = tk.get_action("package_show")({}, {"id": name})
            report = validation.validate(rdflib.Graph().parse(data=to_turtle(dataset), format="turtle"))
            assert not report.violations, (name, _violations(report))
            warnings.update(_warnings(report))
        with capsys.disabled():
            print(f"\nSHACL warnings over {len(names)} demo datasets:")
            for text, count in warnings.most_common():
                print(f"  {count:3d} x {text}")

    def test_dataset_endpoint_output_conforms(self, app):
        demo.load()
        for name in ("baumkataster", "stadtteile-karlsruhe", "parkhaeuser-belegung"):
            body = app.get(f"/dataset/{name}.ttl").body
            report = validation.validate(rdflib.Graph().parse(data=body, format="turtle"))
            assert not report.violations, (name, _violations(report))

    def test_dataset_with_every_field_conforms(self):
        org = factories.Organization(name="gartenbauamt", title="Gartenbauamt")
        dataset = tk.get_action("package_create")({"user": factories.Sysadmin()["name"]}, full_dataset(org["id"]))
        report = validation.validate(rdflib.Graph().parse(data=to_turtle(dataset), format="turtle"))
        assert not report.violations, _violations(report)

    def test_minimal_dataset_conforms(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], resources=[{"url": "https://x.invalid/a.csv"}])
        report = validation.validate(rdflib.Graph().parse(data=to_turtle(dataset), format="turtle"))
        assert not report.violations, _violations(report)

    def test_the_shapes_do_catch_a_broken_dataset(self):
        """The check is not vacuous: a distribution without access URL and
        with a literal licence is reported."""
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], resources=[{"url": "https://x.invalid/a.csv"}])
        graph = rdflib.Graph().parse(data=to_turtle(dataset), format="turtle")
        dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
        graph.remove((None, dcat.accessURL, None))
        report = validation.validate(graph)
        assert report.violations


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "shapes")
def test_catalog_with_demo_datasets_conforms(capsys):
    """The catalog node (publisher, language, homepage, theme taxonomy) with
    all demo datasets, as ckanext-dcat's serializer builds it with our profile."""
    from ckanext.dcat.processors import RDFSerializer

    demo.load()
    datasets = [tk.get_action("package_show")({}, {"id": d["name"]})
                for d in tk.get_action("package_search")({}, {"rows": 1000})["results"]]
    serializer = RDFSerializer(profiles=["euro_dcat_ap_3", "dcatap_de"])
    graph = rdflib.Graph().parse(data=serializer.serialize_catalog({}, dataset_dicts=datasets, _format="turtle"),
                                 format="turtle")
    report = validation.validate(graph)
    assert not report.violations, _violations(report)
    with capsys.disabled():
        print(f"\nSHACL warnings of the catalog ({len(datasets)} datasets):")
        for text, count in _warnings(report).most_common():
            print(f"  {count:3d} x {text}")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "clean_redis", "shapes")
@pytest.mark.parametrize("fmt,rdflib_format", [("ttl", "turtle"), ("rdf", "xml"), ("jsonld", "json-ld")])
def test_catalog_pages_as_served_conform(app, fmt, rdflib_format):
    """/catalog.* as the endpoint serves it (catalog node, cached fragments,
    hydra paging), page by page as a harvester reads it: 0 violations."""
    from rdflib.namespace import DCAT, RDF

    demo.load()
    public = {d["id"] for d in tk.get_action("package_search")(
        {"user": "", "auth_user_obj": None}, {"rows": 1000})["results"]}
    hydra_next = rdflib.URIRef("http://www.w3.org/ns/hydra/core#next")
    seen: set[str] = set()  # dataset URIs
    url: str | None = f"/catalog.{fmt}?limit=5"
    pages = 0
    while url:
        resp = app.get(url)
        assert resp.status_code == 200
        graph = rdflib.Graph().parse(data=resp.body, format=rdflib_format)
        report = validation.validate(graph)
        assert not report.violations, (url, _violations(report))
        seen |= {str(s) for s in graph.subjects(RDF.type, DCAT.Dataset)}
        nxt = next(graph.objects(None, hydra_next), None)
        url = urlsplit(str(nxt))._replace(scheme="", netloc="").geturl() if nxt else None
        pages += 1
    assert len(seen) == len(public) and pages == -(-len(public) // 5)
