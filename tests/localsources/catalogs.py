"""The real DCAT-AP.de catalogs in ``<shared>/dcat-ap-de/catalogs``, split into
one graph per dataset and served in pages with hydra paging, as real portals
page their catalogs; plus a large catalog made of copies of the real datasets
for the benchmark. The data stays in the shared folder; pages are built in
memory."""

from __future__ import annotations

import pathlib
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

DCAT = Namespace("http://www.w3.org/ns/dcat#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
CATALOGS = (
    "rostock-catalog-2021.rdf",
    "brandenburg-catalog-2021.rdf",
    "bremen-catalog-2021.rdf",
    "destatis-catalog-2021.rdf",
)


def load(shared_dir: pathlib.Path, name: str) -> Graph:
    g = Graph()
    g.parse(data=(shared_dir / "dcat-ap-de" / "catalogs" / name).read_bytes(), format="xml")
    return g


def split(graph: Graph) -> list[Graph]:
    """One graph per dcat:Dataset: its triples and, transitively, those of the
    nodes it points at (distributions, agents, contact points, periods ...),
    never another dataset, the catalog or a class (Brandenburg's catalog
    defines dcat:Dataset and friends: followed, the copies would rename the
    classes too and stop being datasets). Sorted by dataset URI."""
    stop = set(graph.subjects(RDF.type, DCAT.Dataset)) | set(graph.subjects(RDF.type, DCAT.Catalog))
    out = []
    for dataset in sorted(graph.subjects(RDF.type, DCAT.Dataset), key=str):
        sub = Graph()
        todo, seen = [dataset], {dataset}
        while todo:
            node = todo.pop()
            for p, o in graph.predicate_objects(node):
                sub.add((node, p, o))
                linked = not isinstance(o, Literal) and o not in seen and o not in stop
                if p != RDF.type and linked and (o, None, None) in graph:
                    seen.add(o)
                    todo.append(o)
        out.append(sub)
    return out


def datasets_of(graph: Graph) -> list:
    return list(graph.subjects(RDF.type, DCAT.Dataset))


def page(
    datasets: Iterable[Graph], *, catalog_uri: str, page_url: str, next_url: str | None, total: int, fmt: str = "xml"
) -> bytes:
    """A catalog page: the catalog node listing these datasets, their graphs,
    and a hydra:PagedCollection (``hydra:next`` and the deprecated
    ``hydra:nextPage``, which ckanext-dcat 2.4 reads)."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("hydra", HYDRA)
    catalog = URIRef(catalog_uri)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("Testkatalog", lang="de")))
    for sub in datasets:
        for triple in sub:
            g.add(triple)
        for ds in sub.subjects(RDF.type, DCAT.Dataset):
            g.add((catalog, DCAT.dataset, ds))
    paging = URIRef(page_url)
    g.add((paging, RDF.type, HYDRA.PagedCollection))
    g.add((paging, HYDRA.totalItems, Literal(total)))
    if next_url:
        g.add((paging, HYDRA.next, URIRef(next_url)))
        g.add((paging, HYDRA.nextPage, URIRef(next_url)))
    return g.serialize(format=fmt, encoding="utf-8")


def pages(
    datasets: list[Graph],
    per_page: int,
    url_of: callable,
    *,
    catalog_uri: str = "http://example.invalid/catalog",
    fmt: str = "xml",
) -> list[bytes]:
    """All pages; ``url_of(n)`` is the URL of page n (1-based)."""
    chunks = [datasets[i : i + per_page] for i in range(0, len(datasets), per_page)] or [[]]
    return [
        page(
            chunk,
            catalog_uri=catalog_uri,
            page_url=url_of(n),
            total=len(datasets),
            next_url=url_of(n + 1) if n < len(chunks) else None,
            fmt=fmt,
        )
        for n, chunk in enumerate(chunks, 1)
    ]


def _rename(node, suffix: str, renamed: set):
    if isinstance(node, URIRef) and node in renamed:
        return URIRef(f"{node}-{suffix}")
    return node


def copies(datasets: list[Graph], n: int, tag: str = "") -> list[Graph]:
    """``n`` datasets made of copies of ``datasets`` (cycling through them), the
    k-th round's URIs, identifiers and titles suffixed with ``tag`` + k so every
    copy is a dataset of its own (round 0 unchanged without a tag)."""
    out = []
    for i in range(n):
        source = datasets[i % len(datasets)]
        k = f"{tag}{i // len(datasets)}"
        if k == "0":
            out.append(source)
            continue
        renamed = {s for s in source.subjects() if isinstance(s, URIRef)}
        bnodes: dict = {}
        g = Graph()
        for s, p, o in source:
            s2 = _rename(s, str(k), renamed) if not isinstance(s, BNode) else bnodes.setdefault(s, BNode())
            if isinstance(o, BNode):
                o2 = bnodes.setdefault(o, BNode())
            else:
                o2 = _rename(o, str(k), renamed)
            if p in (DCTERMS.identifier, DCTERMS.title) and isinstance(o, Literal):
                o2 = Literal(f"{o} ({k})", lang=o.language, datatype=o.datatype)
            g.add((s2, p, o2))
        out.append(g)
    return out
