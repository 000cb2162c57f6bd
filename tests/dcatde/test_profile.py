"""The dcatap_de profile: DCAT-AP.de RDF out, the same dataset back in."""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
import rdflib
from ckan.tests import factories
from dcatde_testlib import parse, schema_fields, to_turtle, validate
from full_dataset import full_dataset
from rdflib import URIRef
from rdflib.namespace import RDF

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
FOAF = rdflib.Namespace("http://xmlns.com/foaf/0.1/")
DCATDE = rdflib.Namespace("http://dcat-ap.de/def/dcatde/")
KARLSRUHE = URIRef("http://dcat-ap.de/def/politicalGeocoding/regionalKey/082120000000")
GEO_SUBFIELDS = ("bbox", "geom", "centroid")
# not RDF properties: the CKAN name, the organization (it becomes the
# publisher) and the form's tag string (compared as tags)
# stadtteile: the portal's district numbers; in RDF only as the derived dct:spatial area
NOT_IN_RDF = {"name", "owner_org", "tag_string", "stadtteile"}


def _norm(key: str, value: Any) -> Any:
    if value in (None, "", [], {}):
        return None
    if isinstance(value, list):
        items = [_norm(key, v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {k: (json.loads(v) if k in GEO_SUBFIELDS else _norm(k, v)) for k, v in value.items() if v}
    return value


@pytest.fixture
def stored():
    org = factories.Organization(name="gartenbauamt", title="Gartenbauamt")
    return tk.get_action("package_create")({"user": factories.Sysadmin()["name"]}, full_dataset(org["id"]))


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRoundTrip:
    def test_fixture_uses_every_schema_field(self, stored):
        dataset_fields, resource_fields = schema_fields()
        for field in dataset_fields:
            if field["field_name"] not in NOT_IN_RDF:
                assert stored.get(field["field_name"]), field["field_name"]
        used = {k for r in stored["resources"] for k, v in r.items() if v}
        assert {f["field_name"] for f in resource_fields} <= used

    def test_every_field_survives_rdf_and_back(self, stored):
        [back] = parse(to_turtle(stored), "turtle")
        dataset_fields, resource_fields = schema_fields()
        for field in dataset_fields:
            key = field["field_name"]
            if key in NOT_IN_RDF:
                continue
            assert _norm(key, back.get(key)) == _norm(key, stored.get(key)), key
        assert sorted(t["name"] for t in back["tags"]) == sorted(t["name"] for t in stored["tags"])
        by_name = {r["name"]: r for r in back["resources"]}
        for resource in stored["resources"]:
            parsed = by_name[resource["name"]]
            for field in resource_fields:
                key = field["field_name"]
                if resource.get(key):
                    assert _norm(key, parsed.get(key)) == _norm(key, resource[key]), (resource["name"], key)

    def test_parsed_dataset_is_stored_unchanged(self, stored):
        [back] = parse(to_turtle(stored), "turtle")
        back.update(name="baumkataster-kopie", owner_org=stored["owner_org"])
        copy = tk.get_action("package_create")({"user": factories.Sysadmin()["name"]}, back)
        dataset_fields, _ = schema_fields()
        for field in dataset_fields:
            key = field["field_name"]
            if key not in NOT_IN_RDF | {"title"}:
                assert _norm(key, copy.get(key)) == _norm(key, stored.get(key)), key


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSerialisation:
    def _graph(self, dataset: dict[str, Any]) -> rdflib.Graph:
        return rdflib.Graph().parse(data=to_turtle(dataset), format="turtle")

    def test_minimal_dataset_has_the_german_properties(self):
        org = factories.Organization(title="Tiefbauamt")
        dataset = factories.Dataset(
            owner_org=org["id"], resources=[{"url": "https://x.invalid/a.csv", "format": "CSV"}]
        )
        g = self._graph(dataset)
        ref = next(g.subjects(RDF.type, DCAT.Dataset))
        assert (ref, DCATDE.contributorID, URIRef("http://dcat-ap.de/def/contributors/stadtKarlsruhe")) in g
        assert (ref, DCATDE.politicalGeocodingURI, KARLSRUHE) in g
        assert (ref, DCT.spatial, KARLSRUHE) in g  # K11 mirror
        assert (ref, DCATDE.politicalGeocodingLevelURI, None) in g
        publisher = g.value(ref, DCT.publisher)
        assert (publisher, RDF.type, FOAF.Agent) in g
        assert str(g.value(publisher, FOAF.name)) == "Tiefbauamt"
        assert g.value(publisher, DCT.type) == URIRef("http://purl.org/adms/publishertype/LocalAuthority")
        assert g.value(publisher, FOAF.homepage) == URIRef("https://www.karlsruhe.de")
        dist = g.value(ref, DCAT.distribution)
        assert g.value(dist, DCT.license) == URIRef("http://dcat-ap.de/def/licenses/dl-zero-de/2.0")
        assert g.value(dist, DCT["format"]) == URIRef("http://publications.europa.eu/resource/authority/file-type/CSV")
        assert g.value(dist, DCAT.accessURL) == URIRef("https://x.invalid/a.csv")

    def test_download_only_file_gets_its_url_as_access_url(self):
        org = factories.Organization()
        dataset = factories.Dataset(
            owner_org=org["id"],
            resources=[{"url": "https://x.invalid/a.csv", "download_url": "https://x.invalid/a.csv"}],
        )
        assert dataset["resources"][0]["access_url"] == "https://x.invalid/a.csv"  # K39 in the dict
        g = self._graph(dataset)
        dist = next(g.subjects(RDF.type, DCAT.Distribution))
        assert g.value(dist, DCAT.accessURL) == URIRef("https://x.invalid/a.csv")
        assert g.value(dist, DCAT.downloadURL) == URIRef("https://x.invalid/a.csv")

    def test_dataset_licence_and_attribution_on_every_distribution(self, stored):
        g = self._graph(stored)
        licences = {}
        for dist in g.subjects(RDF.type, DCAT.Distribution):
            licences[str(g.value(dist, DCT.title))] = (
                str(g.value(dist, DCT.license)),
                str(g.value(dist, DCATDE.licenseAttributionByText)),
            )
        assert licences == {
            "Baumkataster (CSV)": ("http://dcat-ap.de/def/licenses/dl-by-de/2.0", "Stadt Karlsruhe, Gartenbauamt"),
            "Baumkataster (GeoJSON)": ("http://dcat-ap.de/def/licenses/cc-by/4.0", "Stadt Karlsruhe"),
        }

    def test_media_type_is_an_iana_uri(self, stored):
        g = self._graph(stored)
        assert URIRef("https://www.iana.org/assignments/media-types/text/csv") in set(g.objects(None, DCAT.mediaType))

    def test_catalog_has_publisher_language_homepage_and_themes(self):
        from ckanext.dcat.processors import RDFSerializer

        serializer = RDFSerializer(profiles=["euro_dcat_ap_3", "dcatap_de"])
        catalog = serializer.graph_from_catalog()
        g = serializer.g
        assert list(g.objects(catalog, DCT.language)) == [
            URIRef("http://publications.europa.eu/resource/authority/language/DEU")
        ]
        assert g.value(catalog, FOAF.homepage) == URIRef(tk.config["ckan.site_url"])
        assert g.value(catalog, DCAT.themeTaxonomy) == URIRef(
            "http://publications.europa.eu/resource/authority/data-theme"
        )
        publisher = g.value(catalog, DCT.publisher)
        assert str(g.value(publisher, FOAF.name)) == "Stadt Karlsruhe"
        assert (publisher, RDF.type, FOAF.Agent) in g


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestParsingVariants:
    RDF_XML = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
  xmlns:dct="http://purl.org/dc/terms/" xmlns:foaf="http://xmlns.com/foaf/0.1/"
  xmlns:dcatde="https://www.dcat-ap.de/def/dcatde/1.1/">
 <dcat:Dataset rdf:about="https://example.invalid/dataset/1">
  <dct:title>Haltestellen</dct:title>
  <dct:description>Alle Haltestellen</dct:description>
  <dcatde:contributorID rdf:resource="https://www.dcat-ap.de/def/contributors/stadtRostock"/>
  <dcatde:politicalGeocodingURI rdf:resource="https://www.dcat-ap.de/def/politicalGeocoding/municipalityKey/13003000"/>
  <dcatde:politicalGeocodingLevelURI rdf:resource="https://www.dcat-ap.de/def/politicalGeocoding/Level/municipality"/>
  <dct:publisher><foaf:Organization><foaf:name>Stadt Rostock</foaf:name></foaf:Organization></dct:publisher>
  <dcat:theme rdf:resource="http://publications.europa.eu/resource/authority/data-theme/TRAN"/>
  <dct:language rdf:resource="http://publications.europa.eu/resource/authority/language/GER"/>
  <dcat:distribution><dcat:Distribution>
   <dcat:accessURL rdf:resource="https://example.invalid/h.csv"/>
   <dct:license rdf:resource="https://www.dcat-ap.de/def/licenses/dl-by-de/2_0"/>
   <dcatde:licenseAttributionByText>Hanse- und Universitätsstadt Rostock</dcatde:licenseAttributionByText>
   <dcatde:plannedAvailability rdf:resource="http://dcat-ap.de/def/plannedAvailability/stable"/>
  </dcat:Distribution></dcat:distribution>
 </dcat:Dataset>
</rdf:RDF>"""

    def test_variant_namespaces_are_normalised(self):
        [d] = parse(self.RDF_XML, "xml")
        assert d["contributor_id"] == "http://dcat-ap.de/def/contributors/stadtRostock"
        assert d["political_geocoding_uri"] == ["http://dcat-ap.de/def/politicalGeocoding/municipalityKey/13003000"]
        assert d["political_geocoding_level_uri"] == "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"
        assert d["license_id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        assert d["license_attribution_by_text"] == "Hanse- und Universitätsstadt Rostock"
        assert d["language"] == ["http://publications.europa.eu/resource/authority/language/DEU"]
        assert d["resources"][0]["availability"] == (
            "http://publications.europa.eu/resource/authority/planned-availability/STABLE"
        )
        assert "spatial_coverage" not in d  # the geocoding mirror is not a separate area

    def test_parsed_variant_passes_the_schema(self):
        [d] = parse(self.RDF_XML, "xml")
        org = factories.Organization()
        _, errors = validate(dict(d, owner_org=org["id"], name="haltestellen"), factories.Sysadmin()["name"])
        assert errors == {}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_dcat_ap_de_3_spatial_geocoding_is_read():
    """DCAT-AP.de 3.0 deprecates dcatde:politicalGeocodingURI: the URI in dct:spatial counts."""
    ttl = """
    @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <https://example.invalid/d/1> a dcat:Dataset ; dct:title "T" ; dct:description "D" ;
        dct:spatial <http://dcat-ap.de/def/politicalGeocoding/stateKey/08> .
    """
    [d] = parse(ttl, "turtle")
    assert d["political_geocoding_uri"] == ["http://dcat-ap.de/def/politicalGeocoding/stateKey/08"]
    assert "spatial_coverage" not in d
