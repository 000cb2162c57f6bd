"""``validate``: datasets' RDF (configured ckanext-dcat profiles) against the shapes."""

from __future__ import annotations

import pytest
import rdflib
from ckan.tests import factories
from click.testing import CliRunner
from rdflib.namespace import RDF
from udp_testing import public_dataset

from ckanext.udp.dcatde import cli, validation

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


@pytest.fixture()
def shapes_config(ckan_config, monkeypatch, shared_dir):
    monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.shapes_dir", str(shared_dir / "dcat-ap-de"))


@pytest.fixture()
def run(app, shapes_config):
    def invoke(*args: str):
        with app.flask_app.test_request_context():
            return CliRunner().invoke(cli.dcatde_commands, ["validate", *args], catch_exceptions=False)

    return invoke


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestValidateCommand:
    def test_one_dataset(self, run, app):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], notes="Beschreibung")
        result = run(dataset["name"], "-v")
        with app.flask_app.test_request_context():
            graph = cli.dataset_graph(dataset)
            expected = validation.validate(graph)
        assert (None, RDF.type, DCAT.Dataset) in graph
        assert "Shapes aus" in result.output
        assert f"{dataset['name']}: {expected.summary_de()}" in result.output
        assert result.output.count("    [") == len(expected.results)
        assert result.exit_code == (0 if expected.conforms else 1)
        assert f"{len(expected.violations)} Verstöße" in result.output.splitlines()[-1]

    def test_whole_catalog_lists_public_datasets_only(self, run):
        org = factories.Organization()
        public = [public_dataset(owner_org=org["id"]) for _ in range(2)]
        private = factories.Dataset(owner_org=org["id"], private=True)
        result = run("--all")
        for d in public:
            assert f"\n{d['name']}: " in "\n" + result.output
        assert private["name"] not in result.output
        assert "Katalog: " in result.output
        assert "Geprüft: 3," in result.output  # two datasets and the catalog node

    def test_unknown_dataset(self, run):
        result = run("gibt-es-nicht")
        assert result.exit_code != 0
        assert "nicht gefunden" in result.output

    def test_needs_exactly_one_target(self, run):
        assert run().exit_code == 2
        assert run("x", "--all").exit_code == 2


def test_registered_once_as_ckan_udp_dcatde_validate():
    """``ckan udp dcatde validate``: the plugin adds its group to the shared
    ``ckan udp`` group; no second ``validate`` directly under ``ckan udp``."""
    from ckanext.udp.commands import udp
    from ckanext.udp.dcatde.plugin import UdpDcatdePlugin

    assert UdpDcatdePlugin().get_commands() == [udp]
    assert udp.commands["dcatde"] is cli.dcatde_commands
    assert cli.dcatde_commands.commands["validate"] is cli.validate
    assert "validate" not in udp.commands
