"""The DCAT-AP.de vocabulary module, checked against the official artefacts."""

from __future__ import annotations

import pathlib

import pytest
import rdflib
from rdflib.namespace import RDF, SKOS

from ckanext.udp.dcatde import vocab

EU = "http://publications.europa.eu/resource/authority/"
LIC = "http://dcat-ap.de/def/licenses/"
GOVDATA = rdflib.Namespace("http://govdata.de/mqa/#")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def test_public_api_shapes():
    theme = vocab.get("data-theme")
    assert isinstance(theme, vocab.Vocabulary)
    assert theme.scheme_uri == EU + "data-theme"
    codes = {c.code for c in theme.concepts}
    assert {
        "AGRI",
        "ECON",
        "EDUC",
        "ENER",
        "ENVI",
        "GOVE",
        "HEAL",
        "INTR",
        "JUST",
        "REGI",
        "SOCI",
        "TECH",
        "TRAN",
    } <= codes
    for c in theme.concepts:
        assert c.uri == EU + "data-theme/" + c.code
        assert c.label_de and c.label_en
    with pytest.raises(KeyError, match="unknown vocabulary 'nope'"):
        vocab.get("nope")


@pytest.mark.parametrize("name", sorted(vocab.VOCABULARIES))
def test_every_vocabulary_is_consistent(name):
    v = vocab.get(name)
    assert v.name == name
    uris = [c.uri for c in v.concepts]
    assert len(uris) == len(set(uris)), "duplicate concept"
    for c in v.concepts:
        # every concept normalises to itself, from its URI and from its code
        assert vocab.normalise(name, c.uri) == c.uri
        assert vocab.normalise(name, c.code) == c.uri
        assert vocab.normalise(name, c.code.lower()) == c.uri
        assert vocab.label(name, c.uri) == c.label_de
        assert vocab.label(name, c.uri, "en") == c.label_en


def test_required_members_present():
    def codes(name):
        return {c.code for c in vocab.get(name).concepts}

    assert {
        "CSV",
        "JSON",
        "GEOJSON",
        "XML",
        "RDF_XML",
        "RDF_TURTLE",
        "JSON_LD",
        "PDF",
        "XLSX",
        "XLS",
        "ODS",
        "ZIP",
        "SHP",
        "GML",
        "KML",
        "WMS_SRVC",
        "WFS_SRVC",
        "HTML",
        "TXT",
    } <= codes("file-type")
    assert len(codes("file-type")) >= 40
    eu24 = {
        "BUL",
        "CES",
        "DAN",
        "DEU",
        "ELL",
        "ENG",
        "EST",
        "FIN",
        "FRA",
        "GLE",
        "HRV",
        "HUN",
        "ITA",
        "LAV",
        "LIT",
        "MLT",
        "NLD",
        "POL",
        "POR",
        "RON",
        "SLK",
        "SLV",
        "SPA",
        "SWE",
    }
    assert eu24 <= codes("language")
    assert {"CONT", "DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG", "UNKNOWN", "NEVER", "UPDATE_CONT"} <= codes(
        "frequency"
    )
    assert codes("access-right") == {"PUBLIC", "RESTRICTED", "NON_PUBLIC"}
    assert codes("planned-availability") == {"EXPERIMENTAL", "TEMPORARY", "AVAILABLE", "STABLE"}
    assert codes("distribution-status") == {"COMPLETED", "DEPRECATED", "DEVELOP", "WITHDRAWN"}
    assert codes("dataset-status") == codes("distribution-status")
    assert {"c_ac64a52d", "c_dd313021", "c_164e0bf5", "c_e1da4e07", "c_a9135398", "c_b79e35eb"} <= codes("hvd-category")
    assert "http://data.europa.eu/eli/reg_impl/2023/138/oj" in {
        c.uri for c in vocab.get("applicable-legislation").concepts
    }
    assert "municipality" in codes("political-geocoding-level")


def test_schemes_match_the_official_vocabulary_shapes(shared_dir: pathlib.Path):
    """Every scheme the DCAT-AP.de vocabulary shapes require via
    ``skos:inScheme`` is the scheme of one of our vocabularies (the
    contributor IDs excepted: validation loads the official list file)."""
    shapes = rdflib.Graph().parse(shared_dir / "dcat-ap-de" / "shapes-3.0" / "dcat-ap-de-controlledvocabularies.ttl")
    required = {str(o) for s, o in shapes.subject_objects(SH.hasValue) if (s, SH.path, SKOS.inScheme) in shapes}
    ours = {v.scheme_uri for v in vocab.VOCABULARIES.values()}
    assert required - ours == {"http://dcat-ap.de/def/contributors"}


def test_licences_match_the_dcat_ap_de_licence_vocabulary(shared_dir: pathlib.Path):
    g = rdflib.Graph().parse(shared_dir / "dcat-ap-de" / "dashboard" / "dcat-ap-de-licenses-open.rdf")
    official = {str(c) for c in g.subjects(SKOS.inScheme, rdflib.URIRef(LIC.rstrip("/")))}
    ours = {c.uri for c in vocab.get("license").concepts}
    assert ours == official
    for uri in official:
        is_open = g.value(rdflib.URIRef(uri), GOVDATA.isOpenLicense)
        assert vocab.is_open_license(uri) == (str(is_open) == "true"), uri
    assert vocab.label("license", LIC + "dl-by-de/2.0") == str(
        g.value(rdflib.URIRef(LIC + "dl-by-de/2.0"), SKOS.prefLabel)
    )


def test_concepts_in_official_positive_examples_are_known(shared_dir: pathlib.Path):
    """Vocabulary values used by the specification's own 3.0 example are ours."""
    g = rdflib.Graph().parse(shared_dir / "dcat-ap-de" / "examples-3.0" / "Dataset-und-Distribution.ttl")
    checked = 0
    for uri in {str(o) for o in g.objects() if isinstance(o, rdflib.URIRef)}:
        for name, v in vocab.VOCABULARIES.items():
            if v.in_scheme and uri.startswith(v.scheme_uri + "/"):
                assert vocab.normalise(name, uri) == uri, uri
                checked += 1
    assert checked >= 5


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("license", "https://www.dcat-ap.de/def/licenses/cc-zero", LIC + "cc-zero"),
        ("license", "https://www.dcat-ap.de/def/licenses/odbl", LIC + "odbl"),
        ("license", "http://dcat-ap.de/def/licenses/dl-by-de/2_0", LIC + "dl-by-de/2.0"),
        ("license", "http://dcat-ap.de/def/licenses/cc-by-nc-de/4_0", LIC + "cc-by-nc/4.0"),
        ("license", "dl-by-de/2.0", LIC + "dl-by-de/2.0"),
        ("license", "dl-de-by-2.0", LIC + "dl-by-de/2.0"),
        ("license", "dl-de-zero-2.0", LIC + "dl-zero-de/2.0"),
        ("license", "https://creativecommons.org/licenses/by/4.0/", LIC + "cc-by/4.0"),
        ("license", "https://creativecommons.org/licenses/by/4.0/deed.de", None),
        ("license", EU + "licence/CC_BY_4_0", LIC + "cc-by/4.0"),
        ("license", "https://www.govdata.de/dl-de/by-2-0", LIC + "dl-by-de/2.0"),
        ("file-type", "CSV", EU + "file-type/CSV"),
        ("file-type", "csv", EU + "file-type/CSV"),
        ("file-type", " GeoJSON ", EU + "file-type/GEOJSON"),
        ("file-type", EU + "file-type/WMS", EU + "file-type/WMS_SRVC"),
        ("file-type", "https://publications.europa.eu/resource/authority/file-type/XLSX/", EU + "file-type/XLSX"),
        ("file-type", "text/csv", EU + "file-type/CSV"),
        (
            "file-type",
            "https://www.iana.org/assignments/media-types/application/vnd.geo+json",
            EU + "file-type/GEOJSON",
        ),
        ("file-type", "WORD-PERFECT", None),
        ("language", "de", EU + "language/DEU"),
        ("language", "ger", EU + "language/DEU"),
        ("language", EU + "language/GER", EU + "language/DEU"),
        ("language", "Englisch", EU + "language/ENG"),
        ("language", "xx", None),
        ("data-theme", "ECON", EU + "data-theme/ECON"),
        ("data-theme", "econ", EU + "data-theme/ECON"),
        ("data-theme", "Umwelt", EU + "data-theme/ENVI"),
        ("data-theme", EU + "data-theme/Landwirtschaft", None),
        ("frequency", EU + "frequency/IRREGULAR", EU + "frequency/IRREG"),
        ("frequency", "daily", EU + "frequency/DAILY"),
        (
            "planned-availability",
            "https://www.dcat-ap.de/def/plannedAvailability/stable",
            EU + "planned-availability/STABLE",
        ),
        (
            "planned-availability",
            "http://dcat-ap.de/def/plannedAvailability/temporary",
            EU + "planned-availability/TEMPORARY",
        ),
        (
            "political-geocoding-level",
            "https://www.dcat-ap.de/def/politicalGeocoding/Level/administrativeDistrict",
            "http://dcat-ap.de/def/politicalGeocoding/Level/administrativeDistrict",
        ),
        ("political-geocoding-level", "municipality", "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"),
        ("access-right", "public", EU + "access-right/PUBLIC"),
        ("hvd-category", "https://data.europa.eu/bna/c_ac64a52d", "http://data.europa.eu/bna/c_ac64a52d"),
        (
            "applicable-legislation",
            "http://data.europa.eu/eli/reg_impl/2023/138/oj/",
            "http://data.europa.eu/eli/reg_impl/2023/138/oj",
        ),
        ("data-theme", "", None),
        ("data-theme", "   ", None),
    ],
)
def test_normalise(name, value, expected):
    assert vocab.normalise(name, value) == expected


def test_normalise_does_not_cross_vocabularies():
    assert vocab.normalise("language", EU + "file-type/CSV") is None
    assert vocab.normalise("file-type", EU + "language/DEU") is None
    assert vocab.normalise("license", EU + "data-theme/ECON") is None


def test_choices_are_german_and_cover_the_vocabulary():
    options = vocab.choices("frequency")
    assert {"value": EU + "frequency/ANNUAL", "label": "jährlich"} in options
    assert len(options) == len(vocab.get("frequency").concepts)
    assert all(set(o) == {"value", "label"} for o in options)


def test_label():
    assert vocab.label("data-theme", EU + "data-theme/TRAN") == "Verkehr"
    assert vocab.label("data-theme", EU + "data-theme/TRAN", "en") == "Transport"
    assert vocab.label("data-theme", "TRAN", "fr") == "Verkehr"
    assert vocab.label("data-theme", "http://example.org/x") is None


def test_requires_attribution():
    assert vocab.requires_attribution(LIC + "dl-by-de/2.0")
    assert vocab.requires_attribution("https://www.dcat-ap.de/def/licenses/cc-by/4.0")
    assert vocab.requires_attribution("odbl")
    assert not vocab.requires_attribution(LIC + "dl-zero-de/2.0")
    assert not vocab.requires_attribution(LIC + "cc-zero")
    assert not vocab.requires_attribution("http://example.org/unknown")


def test_in_scheme_triples():
    data = rdflib.Graph()
    ds = rdflib.URIRef("http://example.org/ds")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    data.add((ds, dcat.theme, rdflib.URIRef(EU + "data-theme/ECON")))
    data.add((ds, dct.language, rdflib.URIRef(EU + "language/DEU")))
    # a variant spelling gets no membership: the data must be canonical
    data.add((ds, dct.license, rdflib.URIRef("https://www.dcat-ap.de/def/licenses/cc-zero")))
    data.add(
        (
            ds,
            rdflib.URIRef("http://data.europa.eu/r5r/applicableLegislation"),
            rdflib.URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj"),
        )
    )
    data.add((ds, dct.title, rdflib.Literal(EU + "data-theme/TRAN")))
    out = vocab.in_scheme_triples(data)
    econ = rdflib.URIRef(EU + "data-theme/ECON")
    assert (econ, SKOS.inScheme, rdflib.URIRef(EU + "data-theme")) in out
    assert (econ, RDF.type, SKOS.Concept) in out
    assert (rdflib.URIRef(EU + "language/DEU"), SKOS.inScheme, rdflib.URIRef(EU + "language")) in out
    assert (rdflib.URIRef(EU + "data-theme"), RDF.type, SKOS.ConceptScheme) in out
    assert not list(out.triples((rdflib.URIRef("https://www.dcat-ap.de/def/licenses/cc-zero"), None, None)))
    assert not list(out.triples((rdflib.URIRef(EU + "data-theme/TRAN"), None, None)))
    eli = rdflib.URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
    assert (eli, RDF.type, rdflib.URIRef(vocab.ELI_LEGAL_RESOURCE)) in out
    assert not list(out.triples((eli, SKOS.inScheme, None)))
    assert len(data) == 5, "the input graph is left alone"


def test_status_concepts_get_one_membership():
    data = rdflib.Graph()
    completed = rdflib.URIRef(EU + "distribution-status/COMPLETED")
    data.add((rdflib.URIRef("http://example.org/d"), rdflib.URIRef("http://www.w3.org/ns/adms#status"), completed))
    out = vocab.in_scheme_triples(data)
    assert list(out.objects(completed, SKOS.inScheme)) == [rdflib.URIRef(EU + "distribution-status")]


def test_licence_data_file_is_the_official_licence_list(shared_dir: pathlib.Path):
    """``vocabularies/license.csv`` row by row against the official file: one
    row per concept, the code is its ``dc:identifier``, ``open`` is GovData's
    ``isOpenLicense``."""
    import csv
    from importlib import resources

    g = rdflib.Graph().parse(shared_dir / "dcat-ap-de" / "dashboard" / "dcat-ap-de-licenses-open.rdf")
    text = resources.files("ckanext.udp.dcatde").joinpath("vocabularies", "license.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    concepts = set(g.subjects(SKOS.inScheme, rdflib.URIRef(LIC.rstrip("/"))))
    assert {rdflib.URIRef(LIC + r["code"]) for r in rows} == concepts
    assert len(rows) == len(concepts)
    identifier = rdflib.URIRef("http://purl.org/dc/elements/1.1/identifier")
    for row in rows:
        concept = rdflib.URIRef(LIC + row["code"])
        assert str(g.value(concept, identifier)) == row["code"]
        assert row["open"] == ("yes" if str(g.value(concept, GOVDATA.isOpenLicense)) == "true" else "no"), row
        assert row["attribution_required"] in ("yes", "no")
