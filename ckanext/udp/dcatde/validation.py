"""Offline SHACL validation against the official DCAT-AP.de 3.0 shapes.

The shapes come from the directory ``ckanext.udp.dcatde.shapes_dir`` names (an
absolute path checked at start-up, see :mod:`.reference`), laid out like the
project's reference data ``dcat-ap-de/``:

- ``shapes-3.0/``: the five DCAT-AP.de files the official validator loads and
  the SEMIC DCAT-AP 3.0.0 base shapes they patch;
- ``ontologies/``: FOAF, vCard and ORG, whose RDFS entailments the data need
  (otherwise sh:class checks on e.g. ``vcard:Organization`` fail). By default
  the class and property hierarchy, domains and ranges are taken from them
  once per process (:class:`Entailment`) and applied to each data graph
  (rules rdfs2, 3, 7 and 9, the ones that give data nodes types and
  properties), together with the declarations the data bring along
  (harvested catalogs embed ontologies). A validation then takes a fraction
  of the time pySHACL's full RDFS closure over data + ontologies needs
  (``full_inference=True``, same findings; tested). The one difference: the
  full closure also types literal values by a property's range (generalised
  RDF) and then reports shape violations of those literals, e.g. an
  ``adms:identifier`` given as a string gets "skos:notation missing" on top
  of the finding about the string itself.
- ``dashboard/``: GovData's dashboard rules (``db-shapes.ttl``) with the
  contributor-ID and licence vocabularies (optional, ``dashboard=True``).

Known defects of the official files are repaired in memory, never on disk:
three files declare ``dcatap: <http://data.europa.eu/r5r#>``; every IRI in that
wrong namespace is rewritten to ``http://data.europa.eu/r5r/`` so that the
``dcatap:availability`` checks fire. The vocabulary shapes look up
``skos:inScheme`` on the concepts; those triples come from
:func:`ckanext.udp.dcatde.vocab.in_scheme_triples` (plus the contributor-ID
vocabulary file), as the official validator gets them from the EU authority
tables it imports.

:func:`parse_untrusted` is the only way RDF from outside should be parsed: it
refuses documents over a size cap and XML with a DOCTYPE (XXE, entity
expansion; checked with defusedxml), and JSON-LD that would make rdflib fetch remote contexts or that is nested
deeper than :data:`ckanext.udp.jsonlimits.DEFAULT_MAX_DEPTH` levels.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pathlib
import threading
import time
import xml.sax
import xml.sax.handler
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import defusedxml
import rdflib
from defusedxml import expatreader as defused_expatreader
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH

from ckanext.udp import jsonlimits
from ckanext.udp.dcatde import reference, vocab
from ckanext.udp.dcatde.reference import (
    CONTRIBUTORS_FILE,
    DASHBOARD_SHAPES,
    LICENSES_FILE,
    ONTOLOGY_FILES,
    SHAPE_FILES,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_RDF_BYTES = 20 * 1024 * 1024

WRONG_DCATAP = "http://data.europa.eu/r5r#"
DCATAP = "http://data.europa.eu/r5r/"
GOVDATA = "http://govdata.de/mqa/#"


class ShapesNotFound(RuntimeError):
    """The configured shapes directory lacks a file the validation needs."""


class UntrustedRDFError(ValueError):
    """RDF from outside was refused before or while parsing."""


# --- configuration -----------------------------------------------------------


def _config(key: str, default: Any) -> Any:
    try:
        import ckan.plugins.toolkit as tk

        value = tk.config.get(key)
    except Exception:  # outside a CKAN app (plain scripts)
        value = None
    return default if value in (None, "") else value


def shapes_dir() -> pathlib.Path:
    """The configured shapes directory (absolute; see :mod:`.reference`)."""
    try:
        return reference.directory(reference.SHAPES)
    except reference.ReferenceDataError as e:
        raise ShapesNotFound(str(e)) from None


def max_rdf_bytes() -> int:
    return int(_config("ckanext.udp.dcatde.max_rdf_bytes", DEFAULT_MAX_RDF_BYTES))


# --- hostile input -----------------------------------------------------------

_FORMATS = {
    "xml": "xml",
    "rdf": "xml",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "application/rdf+xml": "xml",
    "turtle": "turtle",
    "ttl": "turtle",
    "text/turtle": "turtle",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "application/n-triples": "nt",
    "n3": "n3",
    "text/n3": "n3",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "application/ld+json": "json-ld",
}


def _refuse_doctype(data: bytes) -> None:
    """Scan XML with defusedxml's SAX parser and stop at any DOCTYPE or entity
    declaration; no tree is built, nothing is expanded or fetched.

    expat detects the document's encoding itself, so a DOCTYPE hidden in
    UTF-16 is caught, too.
    """
    parser = defused_expatreader.create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(xml.sax.handler.ContentHandler())
    try:
        parser.parse(io.BytesIO(data))
    except defusedxml.DefusedXmlException:
        raise UntrustedRDFError(
            "RDF/XML with a DOCTYPE or ENTITY declaration is refused "
            "(external entities and entity expansion are not allowed)"
        ) from None
    except xml.sax.SAXParseException as exc:
        raise UntrustedRDFError(f"not well-formed XML: {exc}") from None


def _refuse_remote_context(data: bytes) -> None:
    try:
        doc = jsonlimits.loads(data)
    except jsonlimits.TooDeep as exc:
        raise UntrustedRDFError(f"JSON-LD refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UntrustedRDFError(f"not valid JSON: {exc}") from None

    def contexts(root: Any) -> Iterable[Any]:
        # iterative: the depth is bounded above, but a walk needs no recursion
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "@context" in node:
                    yield node["@context"]
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def remote(ctx: Any) -> bool:
        if isinstance(ctx, str):
            return True
        if isinstance(ctx, list):
            return any(remote(c) for c in ctx)
        return isinstance(ctx, dict) and "@import" in ctx

    if any(remote(ctx) for ctx in contexts(doc)):
        raise UntrustedRDFError("JSON-LD with a remote @context is refused (it would be fetched)")


def refuse_hostile(data: bytes, format: str, *, max_bytes: int | None = None) -> str:
    """The checks of :func:`parse_untrusted` without parsing: raises
    :class:`UntrustedRDFError` for oversized documents, DOCTYPE/ENTITY
    declarations (XML) and remote contexts (JSON-LD). Returns rdflib's name
    of the format."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("refuse_hostile expects bytes")
    rdf_format = _FORMATS.get(str(format).strip().lower())
    if rdf_format is None:
        raise UntrustedRDFError(f"unsupported RDF format {format!r}; use one of {sorted(set(_FORMATS))}")
    cap = max_rdf_bytes() if max_bytes is None else max_bytes
    if len(data) > cap:
        raise UntrustedRDFError(f"RDF document too large: {len(data)} bytes, the limit is {cap} bytes")
    if rdf_format == "xml":
        _refuse_doctype(bytes(data))
    elif rdf_format == "json-ld":
        _refuse_remote_context(bytes(data))
    return rdf_format


def parse_untrusted(
    data: bytes, format: str, *, max_bytes: int | None = None, publicID: str | None = None
) -> rdflib.Graph:
    """Parse RDF from an untrusted source, refusing hostile documents first.

    ``format``: ``xml``/``application/rdf+xml``, ``turtle``/``text/turtle``,
    ``nt``, ``json-ld``. Raises :class:`UntrustedRDFError` with the reason for
    documents over ``max_bytes`` (config ``ckanext.udp.dcatde.max_rdf_bytes``),
    XML with DOCTYPE/ENTITY declarations, JSON-LD with remote contexts, an
    unknown format and anything that does not parse.
    """
    rdf_format = refuse_hostile(data, format, max_bytes=max_bytes)
    graph = rdflib.Graph()
    try:
        graph.parse(data=bytes(data), format=rdf_format, publicID=publicID)
    except UntrustedRDFError:
        raise
    except Exception as exc:  # rdflib raises many types for bad syntax
        raise UntrustedRDFError(f"could not parse {rdf_format} RDF: {exc}") from None
    return graph


# --- shapes ------------------------------------------------------------------


@dataclass(frozen=True)
class Shapes:
    """Everything loaded once per process and shapes directory."""

    directory: pathlib.Path
    shapes: rdflib.Graph
    ontologies: rdflib.Graph
    #: vocabulary data the official validator imports and we cannot derive
    #: from :mod:`vocab` (contributor IDs; licence openness for the dashboard)
    vocabularies: rdflib.Graph
    dashboard: bool
    load_seconds: float
    entailment: Entailment
    #: a digest of every file read: changes when the reference data do
    version: str = ""


class Entailment:
    """The RDFS entailments of the ontologies that matter for data nodes,
    precomputed once: superclasses, superproperties, domains and ranges."""

    SCHEMA = (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range)

    def __init__(self, *graphs: rdflib.Graph) -> None:
        self.superclasses = self._closure(graphs, RDFS.subClassOf)
        self.superproperties = self._closure(graphs, RDFS.subPropertyOf)
        self.domains = self._classes_of(graphs, RDFS.domain)
        self.ranges = self._classes_of(graphs, RDFS.range)

    @classmethod
    def schema_of(cls, data: rdflib.Graph) -> rdflib.Graph:
        """The class and property declarations a data graph brings along
        (harvested catalogs sometimes embed the DCAT ontology)."""
        schema = rdflib.Graph()
        for relation in cls.SCHEMA:
            for triple in data.triples((None, relation, None)):
                schema.add(triple)
        return schema

    @staticmethod
    def _pairs(graphs: Iterable[rdflib.Graph], relation: rdflib.URIRef) -> Iterable[tuple[Any, Any]]:
        for graph in graphs:
            yield from graph.subject_objects(relation)

    @classmethod
    def _closure(cls, graphs: Iterable[rdflib.Graph], relation: rdflib.URIRef) -> dict[Any, frozenset[Any]]:
        direct: dict[Any, set[Any]] = {}
        for sub, sup in cls._pairs(graphs, relation):
            if sub != sup:
                direct.setdefault(sub, set()).add(sup)
        closed: dict[Any, frozenset[Any]] = {}
        for start in direct:
            seen: set[Any] = set()
            todo = list(direct[start])
            while todo:
                node = todo.pop()
                if node not in seen and node != start:
                    seen.add(node)
                    todo.extend(direct.get(node, ()))
            closed[start] = frozenset(seen)
        return closed

    @classmethod
    def _classes_of(cls, graphs: Iterable[rdflib.Graph], relation: rdflib.URIRef) -> dict[Any, frozenset[Any]]:
        out: dict[Any, set[Any]] = {}
        for prop, klass in cls._pairs(graphs, relation):
            if klass != RDFS.Literal:
                out.setdefault(prop, set()).add(klass)
        return {p: frozenset(c) for p, c in out.items()}

    def _with_supers(self, classes: Iterable[Any]) -> set[Any]:
        out: set[Any] = set()
        for cls in classes:
            out.add(cls)
            out.update(self.superclasses.get(cls, ()))
        return out

    def triples(self, graph: rdflib.Graph) -> set[tuple[Any, Any, Any]]:
        """The entailed triples for ``graph`` (not already in it)."""
        new: set[tuple[Any, Any, Any]] = set()
        for s, p, o in graph:
            props = {p} | set(self.superproperties.get(p, ()))
            for q in props - {p}:
                new.add((s, q, o))
            types: set[Any] = set()
            for q in props:
                types |= self._with_supers(self.domains.get(q, ()))
                if not isinstance(o, rdflib.Literal):
                    for cls in self._with_supers(self.ranges.get(q, ())):
                        new.add((o, RDF.type, cls))
            if p == RDF.type:
                types |= self.superclasses.get(o, frozenset())
            for cls in types:
                new.add((s, RDF.type, cls))
        return {t for t in new if t not in graph}


_CACHE: dict[tuple[pathlib.Path, bool], Shapes] = {}
_LOCK = threading.Lock()


def _fix_namespace(graph: rdflib.Graph) -> int:
    """Rewrite IRIs in the wrong ``r5r#`` namespace to ``r5r/``; returns the count."""

    def fix(node: Any) -> Any:
        if isinstance(node, rdflib.URIRef) and str(node).startswith(WRONG_DCATAP):
            return rdflib.URIRef(DCATAP + str(node)[len(WRONG_DCATAP) :])
        return node

    wrong = [t for t in graph if any(fix(n) is not n for n in t)]
    for s, p, o in wrong:
        graph.remove((s, p, o))
        graph.add((fix(s), fix(p), fix(o)))
    return len(wrong)


def _parse_file(path: pathlib.Path, into: rdflib.Graph, digest: Any) -> None:
    if not path.is_file():
        raise ShapesNotFound(f"missing {path} (config ckanext.udp.dcatde.shapes_dir)")
    data = path.read_bytes()
    digest.update(path.name.encode() + b"\0" + data)
    into.parse(data=data, format="xml" if path.suffix == ".rdf" else "turtle", publicID=path.as_uri())


def _files(base: pathlib.Path, dashboard: bool) -> list[tuple[pathlib.Path, str]]:
    """(file, graph) in the order they are read: ``shapes``, ``ontologies`` or ``vocabularies``."""
    files = [(base / "shapes-3.0" / name, "shapes") for name in SHAPE_FILES]
    files += [(base / "ontologies" / name, "ontologies") for name in ONTOLOGY_FILES]
    files.append((base / "dashboard" / CONTRIBUTORS_FILE, "vocabularies"))
    if dashboard:
        files.append((base / "dashboard" / DASHBOARD_SHAPES, "shapes"))
        files.append((base / "dashboard" / LICENSES_FILE, "vocabularies"))
    return files


_VERSIONS: dict[tuple[pathlib.Path, bool], str] = {}


def shapes_version(directory: pathlib.Path | str | None = None, *, dashboard: bool = False) -> str:
    """The :attr:`Shapes.version` of the files :func:`load_shapes` reads,
    without parsing them (once per process and directory)."""
    base = pathlib.Path(directory).resolve() if directory else shapes_dir()
    key = (base, dashboard)
    loaded = _CACHE.get(key)
    if loaded is not None:
        return loaded.version
    if key not in _VERSIONS:
        digest = hashlib.sha256()
        for path, _graph in _files(base, dashboard):
            if not path.is_file():
                raise ShapesNotFound(f"missing {path} (config ckanext.udp.dcatde.shapes_dir)")
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _VERSIONS[key] = digest.hexdigest()[:16]
    return _VERSIONS[key]


def load_shapes(directory: pathlib.Path | str | None = None, *, dashboard: bool = False) -> Shapes:
    """The shapes, ontologies and vocabulary data, cached per process."""
    base = pathlib.Path(directory).resolve() if directory else shapes_dir()
    key = (base, dashboard)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        started = time.perf_counter()
        digest = hashlib.sha256()
        graphs = {"shapes": rdflib.Graph(), "ontologies": rdflib.Graph(), "vocabularies": rdflib.Graph()}
        for path, graph in _files(base, dashboard):
            _parse_file(path, graphs[graph], digest)
        shapes, ontologies, vocabularies = graphs["shapes"], graphs["ontologies"], graphs["vocabularies"]
        fixed = _fix_namespace(shapes)
        entailment = Entailment(ontologies)
        loaded = Shapes(
            base,
            shapes,
            ontologies,
            vocabularies,
            dashboard,
            time.perf_counter() - started,
            entailment,
            digest.hexdigest()[:16],
        )
        log.info(
            "DCAT-AP.de shapes loaded from %s in %.2f s (%d triples, %d r5r# IRIs repaired)",
            base,
            loaded.load_seconds,
            len(shapes),
            fixed,
        )
        _CACHE[key] = loaded
        return loaded


# --- report ------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One SHACL validation result."""

    focus_node: str
    path: str | None
    message: str
    #: ``Violation``, ``Warning``, ``Info`` or a custom severity's local name
    #: (GovData's dashboard rules use their own, e.g. ``no_license``)
    severity: str
    shape: str
    value: str | None = None
    constraint: str | None = None


@dataclass(frozen=True)
class Report:
    violations: tuple[Result, ...]
    warnings: tuple[Result, ...]
    infos: tuple[Result, ...]
    seconds: float = 0.0
    triples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def conforms(self) -> bool:
        """No violations (warnings and infos are allowed)."""
        return not self.violations

    @property
    def results(self) -> tuple[Result, ...]:
        return self.violations + self.warnings + self.infos

    def summary_de(self) -> str:
        """One German line: the counts."""
        state = "konform" if self.conforms else "nicht konform"
        return f"{state}: {len(self.violations)} Verstöße, {len(self.warnings)} Warnungen, {len(self.infos)} Hinweise"


def _label(node: Any) -> str:
    return str(node) if not isinstance(node, rdflib.BNode) else f"_:{node}"


def _path(graph: rdflib.Graph, node: Any) -> str | None:
    if node is None:
        return None
    if isinstance(node, rdflib.URIRef):
        return str(node)
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return f"^{inverse}"
    if (node, RDF.first, None) in graph:
        return "/".join(str(p) for p in Collection(graph, node))
    return "(complex path)"


def _message(messages: list[rdflib.Literal]) -> str:
    for wanted in ("de", None, "en"):
        for m in messages:
            if (m.language or None) == wanted:
                return str(m)
    return str(messages[0]) if messages else ""


def _bucket(severity: rdflib.term.Node) -> tuple[str, str]:
    """(bucket, severity name) for a result severity."""
    if severity == SH.Violation:
        return "violations", "Violation"
    if severity == SH.Warning:
        return "warnings", "Warning"
    if severity == SH.Info:
        return "infos", "Info"
    name = str(severity).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    # GovData's dashboard: the count_* rules fire on purpose for every node.
    return ("infos" if name.startswith("count_") else "warnings"), name


def _shape_messages(shapes: rdflib.Graph, shape: Any) -> list[rdflib.Literal]:
    return [m for m in shapes.objects(shape, SH.message) if isinstance(m, rdflib.Literal)]


def validate(
    data: rdflib.Graph,
    *,
    dashboard: bool = False,
    shapes_directory: pathlib.Path | str | None = None,
    full_inference: bool = False,
) -> Report:
    """Validate ``data`` against DCAT-AP.de 3.0 (+ SEMIC 3.0.0 base shapes,
    ontologies with RDFS inference; GovData's dashboard rules if asked).

    ``data`` is not modified. The German ``sh:message`` of a shape is used
    where it has one. ``full_inference`` runs pySHACL's own RDFS closure over
    data and ontologies instead of the precomputed entailments (same
    findings apart from literals typed by range, several times slower).
    """
    import pyshacl

    loaded = load_shapes(shapes_directory, dashboard=dashboard)
    started = time.perf_counter()
    work = rdflib.Graph()
    for triple in data:
        work.add(triple)
    for triple in vocab.in_scheme_triples(data):
        work.add(triple)
    for triple in loaded.vocabularies:
        work.add(triple)
    if not full_inference:
        own_schema = Entailment.schema_of(data)
        entailment = Entailment(loaded.ontologies, own_schema) if len(own_schema) else loaded.entailment
        for triple in entailment.triples(work):
            work.add(triple)
    _conforms, results, _text = pyshacl.validate(
        work,
        shacl_graph=loaded.shapes,
        ont_graph=loaded.ontologies if full_inference else None,
        inference="rdfs" if full_inference else "none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=False,
        inplace=True,
    )
    # A set: a shared value node (e.g. one licence on two distributions) makes
    # pySHACL report the same nested result once per parent.
    buckets: dict[str, set[Result]] = {"violations": set(), "warnings": set(), "infos": set()}
    for node in results.subjects(RDF.type, SH.ValidationResult):
        bucket, severity = _bucket(results.value(node, SH.resultSeverity))
        shape = results.value(node, SH.sourceShape)
        messages = _shape_messages(loaded.shapes, shape) or [
            m for m in results.objects(node, SH.resultMessage) if isinstance(m, rdflib.Literal)
        ]
        value = results.value(node, SH.value)
        constraint = results.value(node, SH.sourceConstraintComponent)
        buckets[bucket].add(
            Result(
                focus_node=_label(results.value(node, SH.focusNode)),
                path=_path(results, results.value(node, SH.resultPath)),
                message=_message(messages),
                severity=severity,
                shape=_label(shape),
                value=None if value is None else _label(value),
                constraint=None if constraint is None else str(constraint).rsplit("#", 1)[-1],
            )
        )
    order = lambda r: (r.focus_node, r.path or "", r.message)  # noqa: E731
    return Report(
        violations=tuple(sorted(buckets["violations"], key=order)),
        warnings=tuple(sorted(buckets["warnings"], key=order)),
        infos=tuple(sorted(buckets["infos"], key=order)),
        seconds=time.perf_counter() - started,
        triples=len(data),
    )


__all__ = [
    "Report",
    "Result",
    "Shapes",
    "ShapesNotFound",
    "UntrustedRDFError",
    "load_shapes",
    "parse_untrusted",
    "shapes_dir",
    "max_rdf_bytes",
    "validate",
]
