"""Write RDF triples as self-contained fragments that can be concatenated.

A catalog page is assembled from per-dataset fragments (cached) and a small
head (catalog node, paging). Each writer here turns a graph into text that is
valid inside the page document of its format:

* Turtle: one statement per triple with full IRIs (N-Triples is a subset of
  Turtle, so fragments concatenate after any Turtle head);
* RDF/XML: ``rdf:Description`` elements for a shared ``rdf:RDF`` root whose
  namespace declarations are :data:`NAMESPACES`; unknown namespaces are
  declared on the element that uses them;
* JSON-LD: node objects in expanded form for the page's ``@graph`` array.

Blank nodes are relabelled with a per-fragment prefix so that labels from
different fragments never collide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

NAMESPACES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatap": "http://data.europa.eu/r5r/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "http://schema.org/",
    "spdx": "http://spdx.org/rdf/terms#",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "time": "http://www.w3.org/2006/time#",
    "prov": "http://www.w3.org/ns/prov#",
    "odrs": "http://schema.theodi.org/odrs#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
}
_PREFIX_OF = {ns: prefix for prefix, ns in NAMESPACES.items()}

# XML 1.0 forbids most control characters even when escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*$")


def _bnode_labeller(prefix: str) -> Callable[[BNode], str]:
    labels: dict[BNode, str] = {}

    def label(node: BNode) -> str:
        if node not in labels:
            labels[node] = f"{prefix}b{len(labels)}"
        return labels[node]

    return label


def _sorted_triples(graph: Graph) -> list:
    # deterministic output: same dataset, same bytes (stable ETags, caches)
    return sorted(graph, key=lambda t: (isinstance(t[0], BNode), str(t[0]), str(t[1]), str(t[2])))


def turtle(graph: Graph, bnode_prefix: str) -> str:
    label = _bnode_labeller(bnode_prefix)

    def term(t) -> str:
        if isinstance(t, BNode):
            return "_:" + label(t)
        return t.n3()

    return "".join(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in _sorted_triples(graph))


def _split(iri: str) -> tuple[str, str]:
    for sep in ("#", "/"):
        i = iri.rfind(sep)
        if i != -1 and _NCNAME.match(iri[i + 1 :]):
            return iri[: i + 1], iri[i + 1 :]
    raise ValueError(f"predicate {iri} cannot be written as an RDF/XML element name")


def _xml_clean(value: str) -> str:
    return _XML_INVALID.sub("\ufffd", value)


def _xml_text(value: str) -> str:
    return escape(_xml_clean(value))


def _xml_attr(value: str) -> str:
    return quoteattr(_xml_clean(value))


def rdfxml(graph: Graph, bnode_prefix: str) -> str:
    label = _bnode_labeller(bnode_prefix)
    by_subject: dict = {}
    for s, p, o in _sorted_triples(graph):
        by_subject.setdefault(s, []).append((p, o))
    out: list[str] = []
    for subject, pairs in by_subject.items():
        if isinstance(subject, BNode):
            out.append(f"<rdf:Description rdf:nodeID={quoteattr(label(subject))}>")
        else:
            out.append(f"<rdf:Description rdf:about={_xml_attr(str(subject))}>")
        for p, o in pairs:
            ns, local = _split(str(p))
            prefix = _PREFIX_OF.get(ns)
            decl = ""
            if prefix is None:
                prefix, decl = "ns", f" xmlns:ns={quoteattr(ns)}"
            name = f"{prefix}:{local}"
            if isinstance(o, URIRef):
                out.append(f"  <{name}{decl} rdf:resource={_xml_attr(str(o))}/>")
            elif isinstance(o, BNode):
                out.append(f"  <{name}{decl} rdf:nodeID={quoteattr(label(o))}/>")
            else:
                attrs = decl
                if o.language:
                    attrs += f" xml:lang={quoteattr(o.language)}"
                elif o.datatype is not None and o.datatype != XSD.string:
                    attrs += f" rdf:datatype={quoteattr(str(o.datatype))}"
                out.append(f"  <{name}{attrs}>{_xml_text(str(o))}</{name}>")
        out.append("</rdf:Description>")
    return "\n".join(out) + "\n"


def rdfxml_document(fragments: Iterable[str]) -> Iterable[str]:
    yield '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF'
    for prefix, ns in NAMESPACES.items():
        yield f"\n  xmlns:{prefix}={quoteattr(ns)}"
    yield ">\n"
    yield from fragments
    yield "</rdf:RDF>\n"


def jsonld_nodes(graph: Graph, bnode_prefix: str) -> list[dict]:
    label = _bnode_labeller(bnode_prefix)

    def ref(t) -> str:
        return "_:" + label(t) if isinstance(t, BNode) else str(t)

    nodes: dict[str, dict] = {}
    for s, p, o in _sorted_triples(graph):
        node = nodes.setdefault(ref(s), {"@id": ref(s)})
        if p == RDF.type and not isinstance(o, Literal):
            node.setdefault("@type", []).append(ref(o))
            continue
        if isinstance(o, Literal):
            value: dict = {"@value": str(o)}
            if o.language:
                value["@language"] = o.language
            elif o.datatype is not None and o.datatype != XSD.string:
                value["@type"] = str(o.datatype)
        else:
            value = {"@id": ref(o)}
        node.setdefault(str(p), []).append(value)
    return list(nodes.values())


def jsonld(graph: Graph, bnode_prefix: str) -> str:
    """Node objects as the comma-separated inside of a JSON array."""
    return ",\n".join(
        json.dumps(n, ensure_ascii=False, separators=(",", ":")) for n in jsonld_nodes(graph, bnode_prefix)
    )


def jsonld_document(fragments: Iterable[str]) -> Iterable[str]:
    yield '{"@graph":[\n'
    first = True
    for fragment in fragments:
        if not fragment:
            continue
        if not first:
            yield ",\n"
        yield fragment
        first = False
    yield "\n]}\n"


WRITERS: dict[str, Callable[[Graph, str], str]] = {"ttl": turtle, "rdf": rdfxml, "jsonld": jsonld}
