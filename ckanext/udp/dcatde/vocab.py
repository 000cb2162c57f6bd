"""Controlled vocabularies of DCAT-AP.de 3.0 with their real concept URIs.

The tables are data, not code: ``vocabularies/vocabularies.json`` lists each
vocabulary (scheme URI, concept URI prefix, its CSV table of codes with German
and English labels), ``vocabularies/aliases.csv`` the legacy and variant
spellings. They are package data, read once when this module is imported.

The DCAT-AP.de shapes check vocabulary values through ``skos:inScheme`` on the
concept (``dcat-ap-de-controlledvocabularies.ttl``), so the validator needs the
vocabularies' membership triples; :func:`in_scheme_triples` builds them from
the tables. The same tables give the steward forms their German select lists
(:func:`choices`) and the RDF parser its normalisation of legacy and variant
spellings (:func:`normalise`): ``https://www.dcat-ap.de/def/...``, dcatde 1.x
licence identifiers, retired EU codes (``language/GER``,
``frequency/IRREGULAR``, ``file-type/WMS``), bare codes (``CSV``, ``de``,
``dl-by-de/2.0``) and labels.

Sources: the EU Publications Office authority tables (data-theme, file-type,
language, frequency, access-right, planned-availability, distribution-status),
the EU high-value-dataset category scheme (``http://data.europa.eu/bna/``), the
ADMS publisher types and the dcat-ap.de vocabularies (licences 2020-07-15 as
shipped in ``dashboard/dcat-ap-de-licenses-open.rdf``, political geocoding
levels 1.0). Only the subset a municipal portal uses is listed for the big
tables (file-type, language, HVD categories); every URI listed is a real one.
``tests/dcatde/test_vocab.py`` checks the tables against the official files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import rdflib
from rdflib.namespace import RDF, SKOS

#: the class of the ELI legal resources (``applicable-legislation``)
ELI_LEGAL_RESOURCE = "http://data.europa.eu/eli/ontology#LegalResource"
DATA = "vocabularies"
YES = "yes"


@dataclass(frozen=True)
class Concept:
    """One concept of a controlled vocabulary."""

    uri: str
    code: str
    label_de: str
    label_en: str


@dataclass(frozen=True)
class Vocabulary:
    """A controlled vocabulary (SKOS concept scheme) and the concepts we use.

    ``concept_type`` is the class its published concepts carry (``skos:Concept``
    for the SKOS tables; ELI legal resources for ``applicable-legislation``),
    ``in_scheme`` whether they are members of ``scheme_uri`` via
    ``skos:inScheme`` (false for ELI, which is not a SKOS scheme).
    """

    name: str
    scheme_uri: str
    concepts: tuple[Concept, ...]
    concept_type: str = str(SKOS.Concept)
    in_scheme: bool = True


# --- loading the data files ---------------------------------------------------


def _text(name: str) -> str:
    return resources.files(__package__).joinpath(DATA, name).read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(name))))


_MANIFEST: dict[str, Any] = json.loads(_text("vocabularies.json"))
_TABLES: dict[str, list[dict[str, str]]] = {entry["file"]: _rows(entry["file"]) for entry in _MANIFEST["vocabularies"]}

VOCABULARIES: dict[str, Vocabulary] = {
    entry["name"]: Vocabulary(
        entry["name"],
        entry["scheme"],
        tuple(
            Concept(entry["concepts"] + row["code"], row["code"], row["label_de"], row["label_en"])
            for row in _TABLES[entry["file"]]
        ),
        concept_type=entry.get("concept_type", str(SKOS.Concept)),
        in_scheme=entry.get("in_scheme", True),
    )
    for entry in _MANIFEST["vocabularies"]
}


def _license_flag(column: str, value: str) -> frozenset[str]:
    prefix = next(e["concepts"] for e in _MANIFEST["vocabularies"] if e["name"] == "license")
    return frozenset(prefix + row["code"] for row in _TABLES["license.csv"] if row[column] == value)


#: Licences whose terms require naming the source (K35: the distribution then
#: carries ``dcatde:licenseAttributionByText``).
_ATTRIBUTION_REQUIRED = _license_flag("attribution_required", YES)
#: GovData's open-licence flag (``govdata:isOpenLicense`` in the dashboard file) is false.
_CLOSED_LICENSES = _license_flag("open", "no")


def _aliases() -> dict[str, dict[str, str]]:
    """Extra aliases per vocabulary: alias (any case) -> code of the canonical
    concept; the ISO 639-1 and 639-2/B codes of ``language.csv`` included."""
    out: dict[str, dict[str, str]] = {}
    for row in _rows("aliases.csv"):
        out.setdefault(row["vocabulary"], {})[row["alias"]] = row["code"]
    language = out.setdefault("language", {})
    for row in _TABLES["language.csv"]:
        for column in ("iso639_1", "iso639_2b"):
            if row[column]:
                language[row[column]] = row["code"]
    return out


_ALIASES = _aliases()
_URI_REWRITES: tuple[tuple[str, str], ...] = tuple((old, new) for old, new in _MANIFEST["uri_rewrites"])
_LEGACY_PREFIXES: dict[str, tuple[str, ...]] = {
    name: tuple(prefixes) for name, prefixes in _MANIFEST["legacy_prefixes"].items()
}


# --- lookups ------------------------------------------------------------------


def _canonical_uri(value: str) -> str:
    low = value.lower()
    for old, new in _URI_REWRITES:
        if low.startswith(old.lower()):
            value = new + value[len(old) :]
            break
    return value.rstrip("/") if "://" in value else value


def _build_index(vocab: Vocabulary) -> dict[str, str]:
    index: dict[str, str] = {}
    by_code = {c.code: c.uri for c in vocab.concepts}

    def add(alias: str, uri: str) -> None:
        key = alias.strip().lower()
        if index.setdefault(key, uri) != uri:
            raise ValueError(f"vocabulary {vocab.name}: alias {alias!r} is ambiguous")

    for c in vocab.concepts:
        add(c.uri, c.uri)
        add(c.code, c.uri)
    for alias, code in _ALIASES.get(vocab.name, {}).items():
        add(_canonical_uri(alias), by_code[code])
    # Labels last, and only where they do not clash with a code.
    for c in vocab.concepts:
        for lab in (c.label_de, c.label_en):
            index.setdefault(lab.lower(), c.uri)
    return index


_INDEX: dict[str, dict[str, str]] = {name: _build_index(v) for name, v in VOCABULARIES.items()}
_CONCEPTS: dict[str, dict[str, Concept]] = {name: {c.uri: c for c in v.concepts} for name, v in VOCABULARIES.items()}
_BY_URI: dict[str, list[Vocabulary]] = {}
for _v in VOCABULARIES.values():
    for _c in _v.concepts:
        _BY_URI.setdefault(_c.uri, [])
        if all(o.scheme_uri != _v.scheme_uri for o in _BY_URI[_c.uri]):
            _BY_URI[_c.uri].append(_v)


def get(name: str) -> Vocabulary:
    """The vocabulary called ``name``; ``KeyError`` naming the known ones if unknown."""
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"unknown vocabulary {name!r}; known: {', '.join(sorted(VOCABULARIES))}") from None


def choices(name: str) -> list[dict[str, str]]:
    """Select options for ckanext-scheming: ``[{"value": uri, "label": label_de}]``."""
    return [{"value": c.uri, "label": c.label_de} for c in get(name).concepts]


def label(name: str, uri: str, lang: str = "de") -> str | None:
    """The concept's label in ``lang`` (``de`` or ``en``; other languages get
    the German one), or None if ``uri`` is not a concept of the vocabulary.
    Variant spellings are accepted as in :func:`normalise`."""
    canonical = normalise(name, uri)
    if canonical is None:
        return None
    concept = _CONCEPTS[name][canonical]
    return concept.label_en if lang.lower().startswith("en") else concept.label_de


def normalise(name: str, value: str) -> str | None:
    """The canonical concept URI for ``value``, or None if it is not in the vocabulary.

    Accepted: the URI; its code (any case); http/https and ``www.`` variants of
    the namespace (``https://www.dcat-ap.de/def/...``); a trailing slash; legacy
    codes and URIs (``language/GER``, ``frequency/IRREGULAR``,
    ``file-type/WMS``, dcatde 1.x licence ids such as ``dl-de-by-2.0``, version
    numbers written ``2_0``, the EU licence table, licence deed URLs,
    ``dcat-ap.de/def/plannedAvailability/...``); IANA media types for file
    types; ISO 639-1/-2 codes for languages; the German or English label.
    """
    get(name)
    if value is None:
        return None
    raw = str(value).strip()
    if not raw:
        return None
    index = _INDEX[name]
    hit = index.get(raw.lower())
    if hit:
        return hit
    canon = _canonical_uri(raw)
    hit = index.get(canon.lower())
    if hit:
        return hit
    # A URI in the vocabulary's own (or a legacy) namespace with a variant code.
    vocab = VOCABULARIES[name]
    prefixes = (vocab.scheme_uri + "/",) + _LEGACY_PREFIXES.get(name, ())
    code = next((canon[len(p) :] for p in prefixes if canon.lower().startswith(p.lower())), canon)
    for candidate in (code, code.replace("_", "."), re.sub(r"(\d)_(\d)", r"\1.\2", code)):
        hit = index.get(candidate.lower())
        if hit:
            return hit
    return None


def requires_attribution(uri: str) -> bool:
    """True if the licence requires naming the source (K35), so a distribution
    with it needs ``dcatde:licenseAttributionByText``. Variants accepted."""
    canonical = normalise("license", uri)
    return canonical in _ATTRIBUTION_REQUIRED


def is_open_license(uri: str) -> bool:
    """GovData's open-licence flag for a dcat-ap.de licence (False if unknown)."""
    canonical = normalise("license", uri)
    return canonical is not None and canonical not in _CLOSED_LICENSES


def in_scheme_triples(graph: rdflib.Graph) -> rdflib.Graph:
    """Membership triples for every known concept URI that ``graph`` uses.

    For each canonical concept URI found as subject or object: ``skos:inScheme``
    its scheme and ``rdf:type`` the class its vocabulary publishes it with
    (``skos:Concept``; ELI legal resources for legislation), plus the scheme as
    ``skos:ConceptScheme``. This is what the official validator gets from
    importing the authority tables. Variant spellings are deliberately NOT
    matched: data must use the canonical URIs to pass the vocabulary checks.
    """
    out = rdflib.Graph()
    used: set[str] = set()
    for s, _p, o in graph:
        for node in (s, o):
            if isinstance(node, rdflib.URIRef) and str(node) in _BY_URI:
                used.add(str(node))
    for uri in sorted(used):
        node = rdflib.URIRef(uri)
        for vocab in _BY_URI[uri]:
            out.add((node, RDF.type, rdflib.URIRef(vocab.concept_type)))
            if vocab.in_scheme:
                scheme = rdflib.URIRef(vocab.scheme_uri)
                out.add((node, SKOS.inScheme, scheme))
                out.add((scheme, RDF.type, SKOS.ConceptScheme))
    return out


__all__ = [
    "Concept",
    "Vocabulary",
    "VOCABULARIES",
    "get",
    "choices",
    "label",
    "normalise",
    "requires_attribution",
    "is_open_license",
    "in_scheme_triples",
]
