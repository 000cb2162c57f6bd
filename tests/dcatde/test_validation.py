"""Offline SHACL validation against the official DCAT-AP.de 3.0 artefacts."""

from __future__ import annotations

import pathlib

import pytest
import rdflib
from rdflib.namespace import RDF, RDFS

from ckanext.udp.dcatde import validation
from ckanext.udp.dcatde.validation import UntrustedRDFError, parse_untrusted, refuse_hostile, validate

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
DCATDE = rdflib.Namespace("http://dcat-ap.de/def/dcatde/")
DCATAP = rdflib.Namespace("http://data.europa.eu/r5r/")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
QT = rdflib.Namespace("http://example.org/quicktest/")
EU = "http://publications.europa.eu/resource/authority/"


@pytest.fixture(scope="module")
def shapes(shared_dir: pathlib.Path) -> pathlib.Path:
    return shared_dir / "dcat-ap-de"


@pytest.fixture()
def quicktest(shapes: pathlib.Path) -> rdflib.Graph:
    """The official positive 3.0 test case (a full catalog)."""
    return rdflib.Graph().parse(shapes / "testcases" / "v3.0_shapes" / "quicktest.ttl")


def paths(results) -> set[str | None]:
    return {r.path for r in results}


# --- shapes loading ----------------------------------------------------------


def test_shapes_are_loaded_once_and_repaired(shapes):
    first = validation.load_shapes(shapes)
    assert validation.load_shapes(shapes) is first
    assert first.load_seconds > 0
    wrong = [t for t in first.shapes if any(str(n).startswith("http://data.europa.eu/r5r#") for n in t)]
    assert wrong == [], "the r5r# namespace defect is repaired in memory"
    assert (None, None, DCATAP.availability) in first.shapes
    # the ontologies are there for RDFS inference
    assert (VCARD.Organization, RDFS.subClassOf, VCARD.Kind) in first.ontologies
    # files on disk untouched
    text = (shapes / "shapes-3.0" / "dcat-ap-de-controlledvocabularies.ttl").read_text()
    assert "@prefix dcatap: <http://data.europa.eu/r5r#>" in text


def test_missing_shapes_directory_is_a_clear_error(tmp_path):
    with pytest.raises(validation.ShapesNotFound, match="semic-dcat-ap-3.0.0-shacl.ttl"):
        validation.load_shapes(tmp_path)


def test_shapes_dir_comes_from_config(ckan_config, monkeypatch, tmp_path):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(tmp_path))
    assert validation.shapes_dir() == tmp_path.resolve()
    # never relative to the checkout: a relative path is an error naming the option
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", "../shared/dcat-ap-de")
    with pytest.raises(validation.ShapesNotFound, match="ckanext.udp.dcatde.shapes_dir must be an absolute path"):
        validation.shapes_dir()


# --- official test cases -----------------------------------------------------


def test_official_positive_testcase_conforms_without_findings(quicktest, shapes):
    report = validate(quicktest, shapes_directory=shapes)
    assert report.conforms
    assert report.violations == () and report.warnings == (), report.results
    assert "konform: 0 Verstöße" in report.summary_de()


def test_official_deprecated_testcase_warns_for_each_deprecated_property(shapes):
    g = rdflib.Graph().parse(shapes / "testcases" / "v3.0_shapes" / "deprecated.ttl")
    report = validate(g, shapes_directory=shapes)
    assert report.conforms
    deprecated = {r.path for r in report.warnings if r.message.startswith("Deprecated")}
    expected = {
        str(DCATDE[p])
        for p in (
            "politicalGeocodingURI",
            "geocodingDescription",
            "legalBasis",
            "qualityProcessURI",
            "originator",
            "maintainer",
        )
    }
    expected |= {
        str(DCT.hasVersion),
        str(DCT.isVersionOf),
        "http://www.w3.org/2002/07/owl#versionInfo",
        "http://spdx.org/rdf/terms#algorithm",
    }
    assert deprecated == expected


def test_property_testcases_fail_where_named_F(shapes):
    """testcases/distribution-licenseAttributionByText.ttl: nodes named -F- break the rule."""
    g = rdflib.Graph().parse(shapes / "testcases" / "distribution-licenseAttributionByText.ttl")
    report = validate(g, shapes_directory=shapes)
    failing = {
        r.focus_node.rsplit("/", 1)[-1] for r in report.violations if r.path == str(DCATDE.licenseAttributionByText)
    }
    assert failing == {"04-F-wrong_typ"}
    assert any("MUSS ein Literal sein" in r.message for r in report.violations)


def test_spec_example_dataset_und_distribution(shapes):
    """The specification's example. Known defect: it writes ``dcterms:mediaType``,
    which no shape checks, so its media types go unchecked; with the property
    corrected they are checked (and pass). Its other violations are its WKT
    literal in locn:geometry (SEMIC 3.0.0 wants a node) and the retired ADMS
    status list."""
    g = rdflib.Graph().parse(shapes / "examples-3.0" / "Dataset-und-Distribution.ttl")
    report = validate(g, shapes_directory=shapes)
    assert {r.path for r in report.violations} == {
        "http://www.w3.org/ns/locn#geometry",
        "http://www.w3.org/2004/02/skos/core#inScheme",
    }
    assert any("adms:status" in r.message for r in report.violations)
    assert str(DCAT.mediaType) not in paths(report.results)

    fixed = rdflib.Graph()
    for s, p, o in g:
        fixed.add((s, DCAT.mediaType if p == DCT.mediaType else p, o))
    assert validate(fixed, shapes_directory=shapes).violations == report.violations
    broken = rdflib.Graph()
    for s, p, o in fixed:
        broken.add((s, p, rdflib.URIRef("http://example.org/csv") if p == DCAT.mediaType else o))
    bad = validate(broken, shapes_directory=shapes)
    assert str(DCAT.mediaType) in paths(bad.violations)
    assert any("iana.org/assignments/media-types" in r.message for r in bad.violations)


# --- negative cases derived from the positive one ----------------------------


def test_missing_title_is_a_violation(quicktest, shapes):
    quicktest.remove((QT.dataset, DCT.title, None))
    report = validate(quicktest, shapes_directory=shapes)
    assert not report.conforms
    hits = [r for r in report.violations if r.focus_node == str(QT.dataset) and r.path == str(DCT.title)]
    assert hits and all(r.severity == "Violation" for r in hits)
    assert any("dcterms:title" in r.message for r in hits)


def test_theme_outside_the_eu_vocabulary_is_a_violation(quicktest, shapes):
    quicktest.set((QT.dataset, DCAT.theme, rdflib.URIRef(EU + "data-theme/Landwirtschaft")))
    report = validate(quicktest, shapes_directory=shapes)
    assert any("dcat:theme MUSS folgendes Vokabular" in r.message for r in report.violations)


def test_retired_language_code_is_a_violation(quicktest, shapes):
    quicktest.set((QT.dataset, DCT.language, rdflib.URIRef(EU + "language/GER")))
    report = validate(quicktest, shapes_directory=shapes)
    assert any("dcat:Dataset: dcterms:language MUSS" in r.message for r in report.violations)


def test_availability_checks_fire_after_the_namespace_repair(quicktest, shapes):
    """With the files' ``r5r#`` prefix these checks could never fire on correct data."""
    quicktest.add((QT.distribution, DCATAP.availability, rdflib.URIRef(EU + "planned-availability/SOON")))
    report = validate(quicktest, shapes_directory=shapes)
    assert any("dcat:Distribution: dcatap:availability MUSS" in r.message for r in report.violations)


def test_byte_size_must_be_a_non_negative_integer(quicktest, shapes):
    quicktest.add((QT.distribution, DCAT.byteSize, rdflib.Literal("1234")))
    report = validate(quicktest, shapes_directory=shapes)
    assert str(DCAT.byteSize) in paths(report.violations)
    quicktest.set((QT.distribution, DCAT.byteSize, rdflib.Literal("1234", datatype=rdflib.XSD.nonNegativeInteger)))
    assert validate(quicktest, shapes_directory=shapes).conforms


def test_unknown_licence_is_a_warning_not_a_violation(quicktest, shapes):
    quicktest.set((QT.distribution, DCT.license, rdflib.URIRef("http://example.org/my-licence")))
    report = validate(quicktest, shapes_directory=shapes)
    assert report.conforms
    assert any("dcterms:license SOLL" in r.message and r.severity == "Warning" for r in report.warnings)


def test_subclasses_from_the_ontologies_count(quicktest, shapes):
    """vcard:Organization is a vcard:Kind only through the vCard ontology."""
    quicktest.set((QT.contactPoint, RDF.type, VCARD.Organization))
    assert validate(quicktest, shapes_directory=shapes).conforms


def _own_format_property(graph: rdflib.Graph) -> rdflib.Graph:
    """A distribution's format given as a literal through a property the
    data declare themselves as a sub-property of dcterms:format."""
    graph.add((QT.fmt, RDFS.subPropertyOf, DCT["format"]))
    graph.add((QT.distribution, QT.fmt, rdflib.Literal("text/csv")))
    return graph


def _with_organisation_contact(graph: rdflib.Graph) -> rdflib.Graph:
    graph.set((QT.contactPoint, RDF.type, VCARD.Organization))
    return graph


@pytest.mark.parametrize("change", [lambda g: g, _with_organisation_contact, _own_format_property])
@pytest.mark.parametrize("case", ["quicktest", "deprecated"])
def test_precomputed_entailments_find_what_full_rdfs_inference_finds(shapes, case, change):
    graph = change(rdflib.Graph().parse(shapes / "testcases" / "v3.0_shapes" / f"{case}.ttl"))
    fast = validate(graph, shapes_directory=shapes)
    full = validate(graph, shapes_directory=shapes, full_inference=True)
    assert (fast.violations, fast.warnings, fast.infos) == (full.violations, full.warnings, full.infos)


def test_schema_the_data_bring_along_counts(quicktest, shapes):
    """Harvested catalogs embed ontologies; their sub-properties are entailed
    like those of the shipped ontologies."""
    report = validate(_own_format_property(quicktest), shapes_directory=shapes)
    assert not report.conforms
    assert {(r.path, r.constraint) for r in report.violations} >= {(str(DCT["format"]), "NodeKindConstraintComponent")}


def test_input_graph_is_not_modified(quicktest, shapes):
    before = len(quicktest)
    validate(quicktest, shapes_directory=shapes)
    assert len(quicktest) == before


# --- GovData dashboard rules ---------------------------------------------------


def test_dashboard_licence_rules(shapes):
    g = rdflib.Graph().parse(shapes / "testcases" / "dashboard" / "db-tests_licenses.ttl")
    report = validate(g, shapes_directory=shapes, dashboard=True)
    by_node: dict[str, set[str]] = {}
    for r in report.warnings:
        by_node.setdefault(r.focus_node, set()).add(r.severity)
    lic = "http://dcat-ap.de/def/licenses/"
    # licence rules are nested: their focus node is the licence itself
    assert lic + "other-open" not in by_node  # open licence from the list: nothing to say
    assert by_node[lic + "other-commercial"] == {"no_open_license_from_list"}
    assert {"no_license_from_list", "no_open_license_from_list"} <= by_node["http://www.apache.org/licenses"]
    assert {"no_license_from_list", "no_open_license_from_list"} <= by_node["apache"]
    tests = {k.rsplit("/", 1)[-1]: v for k, v in by_node.items() if "-TEST-" in k}
    assert tests == {
        "I-TEST-01": {"no_license"},
        "I-TEST-02": {"multiple_licenses"},
        "I-TEST-03": {"multiple_licenses"},
    }
    # the counting rules are infos, not findings
    assert {r.severity for r in report.infos} == {"count_Distributions", "count_Distributions_Licenses"}


def test_dashboard_off_by_default(quicktest, shapes):
    assert validate(quicktest, shapes_directory=shapes).infos == ()
    assert validate(quicktest, shapes_directory=shapes, dashboard=True).conforms


# --- hostile input -----------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dct="http://purl.org/dc/terms/">
  <rdf:Description rdf:about="http://example.org/d"><dct:title>&xxe;</dct:title></rdf:Description>
</rdf:RDF>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/">
  <rdf:Description rdf:about="http://example.org/d"><dct:title>&lol9;</dct:title></rdf:Description>
</rdf:RDF>"""

GOOD_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/">
  <rdf:Description rdf:about="http://example.org/d"><dct:title>Hallo &amp; tsch\xc3\xbcss</dct:title></rdf:Description>
</rdf:RDF>"""


def test_xxe_is_refused():
    with pytest.raises(UntrustedRDFError, match="DOCTYPE"):
        parse_untrusted(XXE, "application/rdf+xml")


def test_billion_laughs_is_refused():
    with pytest.raises(UntrustedRDFError, match="DOCTYPE"):
        parse_untrusted(LAUGHS, "xml")


def test_doctype_hidden_in_utf16_is_refused():
    data = XXE.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    with pytest.raises(UntrustedRDFError, match="DOCTYPE"):
        parse_untrusted(data, "xml")


def test_oversized_document_is_refused_before_parsing():
    data = GOOD_XML + b"<!--" + b"x" * 2000 + b"-->"
    with pytest.raises(UntrustedRDFError, match="too large"):
        parse_untrusted(data, "xml", max_bytes=1000)


def test_size_cap_comes_from_config(ckan_config, monkeypatch):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.max_rdf_bytes", "100")
    with pytest.raises(UntrustedRDFError, match="limit is 100 bytes"):
        parse_untrusted(GOOD_XML, "xml")


def test_remote_jsonld_context_is_refused():
    doc = b'{"@context": "http://example.org/context.jsonld", "@id": "http://example.org/d"}'
    with pytest.raises(UntrustedRDFError, match="remote @context"):
        parse_untrusted(doc, "application/ld+json")


def _nested_jsonld(depth: int) -> bytes:
    # blank nodes linked to each other, the innermost with a title: depth + 1 triples
    inner = '{"@id": "http://example.org/d", "http://purl.org/dc/terms/title": "x"}'
    return ('{"http://example.org/p": ' * depth + inner + "}" * depth).encode()


@pytest.mark.parametrize("depth", [100_000, 5_000, 500])
def test_deeply_nested_jsonld_is_refused_not_a_crash(depth):
    # 100,000 and 5,000 levels: RecursionError in the JSON parser; 500 levels
    # parse but exhaust the recursion of whatever walks them next
    data = _nested_jsonld(depth)
    for check in (lambda: refuse_hostile(data, "json-ld"), lambda: parse_untrusted(data, "json-ld")):
        with pytest.raises(UntrustedRDFError, match="nested"):
            check()


def test_jsonld_nested_a_few_levels_is_fine():
    assert len(parse_untrusted(_nested_jsonld(20), "json-ld")) == 21


def test_wellformed_documents_parse():
    g = parse_untrusted(GOOD_XML, "application/rdf+xml")
    assert (rdflib.URIRef("http://example.org/d"), DCT.title, rdflib.Literal("Hallo & tschüss")) in g
    ttl = b'<http://example.org/d> <http://purl.org/dc/terms/title> "<!DOCTYPE is fine in Turtle text>" .'
    assert len(parse_untrusted(ttl, "text/turtle")) == 1
    jsonld = b'{"@context": {"title": "http://purl.org/dc/terms/title"}, "@id": "http://example.org/d", "title": "x"}'
    assert len(parse_untrusted(jsonld, "json-ld")) == 1


@pytest.mark.parametrize(
    "data,fmt,match",
    [
        (b"<rdf:RDF", "xml", "not well-formed"),
        (b"<http://example.org/d> <http://x> .", "turtle", "could not parse"),
        (b"{", "json-ld", "not valid JSON"),
        (b"", "rdfa", "unsupported RDF format"),
    ],
)
def test_bad_input_gets_a_clear_error(data, fmt, match):
    with pytest.raises(UntrustedRDFError, match=match):
        parse_untrusted(data, fmt)


def test_real_catalog_parses_within_the_default_cap(shapes):
    data = (shapes / "catalogs" / "rostock-catalog-2021.rdf").read_bytes()
    g = parse_untrusted(data, "xml")
    assert len(set(g.subjects(RDF.type, DCAT.Dataset))) == 100


def test_shapes_version_is_a_digest_of_the_files(shapes, tmp_path):
    """The quality view's cache key: the loaded shapes' version, known without
    parsing; another file content gives another version."""
    import shutil

    assert validation.shapes_version(shapes) == validation.load_shapes(shapes).version
    copy = tmp_path / "dcat-ap-de"
    for folder in ("shapes-3.0", "ontologies", "dashboard"):
        shutil.copytree(shapes / folder, copy / folder)
    assert validation.shapes_version(copy) == validation.shapes_version(shapes)
    changed = tmp_path / "changed"
    shutil.copytree(copy, changed)
    with (changed / "shapes-3.0" / "dcat-ap-SHACL-DE.ttl").open("a", encoding="utf-8") as f:
        f.write("\n# a new rule\n")
    assert validation.shapes_version(changed) != validation.shapes_version(shapes)
    assert validation.load_shapes(changed).version == validation.shapes_version(changed)
