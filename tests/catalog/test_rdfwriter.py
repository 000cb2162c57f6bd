"""Fragments written by rdfwriter hold exactly the triples the profiles made."""

from __future__ import annotations

import pytest
from ckan.tests import factories
from rdflib import Graph
from rdflib.compare import isomorphic

from ckanext.udp.catalog import rdfwriter
from ckanext.udp.catalog.fragments import FragmentBuilder

RDFLIB = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}


def document(fmt: str, fragments: list[str]) -> str:
    if fmt == "rdf":
        return "".join(rdfwriter.rdfxml_document(fragments))
    if fmt == "jsonld":
        return "".join(rdfwriter.jsonld_document(fragments))
    return "".join(fragments)


@pytest.fixture
def tricky_dataset():
    org = factories.Organization(title="Amt für Stadtentwicklung & Statistik")
    pkg = factories.Dataset(
        owner_org=org["id"],
        title='Bäume <"Straße"> & Plätze',
        notes="Zeile 1\nZeile 2 mit \"Anführungszeichen\" und 'Apostroph' \\ Backslash",
        tags=[{"name": "Stadtgrün"}, {"name": "Klima"}],
        url="https://example.org/a?b=1&c=<2>",
        version="1.0",
    )
    factories.Resource(
        package_id=pkg["id"],
        url="https://example.org/x.csv?a=1&b=2",
        format="CSV",
        name="Tabelle ü & ß",
        description="<b>fett</b>",
    )
    factories.Resource(package_id=pkg["id"], url="https://example.org/y.json", format="JSON")
    from ckan.plugins import toolkit as tk

    return tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestFragments:
    @pytest.mark.parametrize("fmt", ["ttl", "rdf", "jsonld"])
    def test_fragment_is_isomorphic_to_the_profile_graph(self, tricky_dataset, fmt):
        builder = FragmentBuilder()
        expected, _ = builder.graph(tricky_dataset)
        assert len(expected) > 20
        fragment = builder.build(tricky_dataset)[fmt]
        parsed = Graph().parse(data=document(fmt, [fragment]), format=RDFLIB[fmt])
        assert isomorphic(parsed, expected)

    @pytest.mark.parametrize("fmt", ["ttl", "rdf", "jsonld"])
    def test_two_fragments_keep_their_blank_nodes_apart(self, tricky_dataset, fmt):
        other = dict(tricky_dataset, id="0" * 8 + tricky_dataset["id"][8:], name="zweiter")
        builder = FragmentBuilder()
        g1, _ = builder.graph(tricky_dataset)
        g2, _ = builder.graph(other)
        doc = document(fmt, [builder.build(tricky_dataset)[fmt], builder.build(other)[fmt]])
        parsed = Graph().parse(data=doc, format=RDFLIB[fmt])
        assert isomorphic(parsed, g1 + g2)

    def test_output_is_deterministic(self, tricky_dataset):
        a = FragmentBuilder().build(tricky_dataset)
        b = FragmentBuilder().build(tricky_dataset)
        assert a == b

    def test_control_characters_do_not_break_rdfxml(self, tricky_dataset):
        bad = dict(tricky_dataset, notes="Steuerzeichen \x0b und \x1f")
        fragment = FragmentBuilder().build(bad)["rdf"]
        parsed = Graph().parse(data=document("rdf", [fragment]), format="xml")
        assert any("Steuerzeichen" in str(o) for o in parsed.objects())
