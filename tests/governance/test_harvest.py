"""Harvested datasets enter the state their harvest source is configured for:
a real DCAT RDF harvest from a local HTTP server."""

from __future__ import annotations

import json

import pytest
from ckanext.dcat.harvesters import DCATRDFHarvester
from ckanext.harvest.tests.factories import HarvestJobObj, HarvestSourceObj
from ckanext.harvest.tests.lib import run_harvest_job
from govworld import World, act

from ckanext.udp.governance.harvest import source_settings

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/catalog> a dcat:Catalog ;
    dcat:dataset <http://example.invalid/dataset/{slug}> .
<http://example.invalid/dataset/{slug}> a dcat:Dataset ;
    dct:identifier "{slug}" ;
    dct:title "Geharvestet {slug}" ;
    dct:description "Aus einer Harvest-Quelle" .
"""


@pytest.fixture
def rdf_server(http_server) -> str:
    http_server.responder = lambda path: (
        200,
        "text/turtle",
        CATALOG.replace("{slug}", path.strip("/").split(".")[0]).encode(),
    )
    return http_server.url


def _harvest(world: World, url: str, config: dict) -> dict:
    source = HarvestSourceObj(
        url=url, source_type="dcat_rdf", owner_org=world.org["id"], config=json.dumps(dict(config, rdf_format="turtle"))
    )
    job = HarvestJobObj(source=source, run=False)
    results = run_harvest_job(job, DCATRDFHarvester())
    (result,) = results.values()
    assert result["state"] == "COMPLETE", result
    obj = result["obj_id"]
    from ckanext.harvest.model import HarvestObject

    return act(world.sysadmin, "package_show", id=HarvestObject.get(obj).package_id)


class TestHarvestedDatasets:
    def test_default_is_draft(self, world: World, rdf_server: str):
        pkg = _harvest(world, f"{rdf_server}/erster.ttl", {})
        assert pkg["udp_workflow_state"] == "draft" and pkg["private"] is True
        assert act(world.member, "udp_audit_list", id=pkg["id"])[0]["to_state"] == "draft"

    def test_source_configured_published_open(self, world: World, rdf_server: str):
        pkg = _harvest(world, f"{rdf_server}/zweiter.ttl", {"udp_workflow_state": "published"})
        assert pkg["udp_workflow_state"] == "published" and pkg["private"] is False
        assert act(None, "package_show", id=pkg["id"])["title"] == "Geharvestet zweiter"

    def test_source_configured_published_internal(self, world: World, rdf_server: str):
        pkg = _harvest(
            world, f"{rdf_server}/dritter.ttl", {"udp_workflow_state": "published", "udp_access_class": "internal"}
        )
        assert (pkg["udp_workflow_state"], pkg["udp_access_class"], pkg["private"]) == ("published", "internal", True)
        act(world.outsider, "package_show", id=pkg["id"])

    def test_an_edit_of_a_harvested_dataset_is_approved_whichever_copy_package_show_reads(
        self, world: World, rdf_server: str
    ):
        """ckanext-harvest adds its extras (``harvest_object_id`` ...) to the search index's
        copy of a harvested dataset only; ``package_show`` answers from that copy while it is
        current and from the database otherwise (a lagging index). The proposal's base and
        the live dataset at the decision are both read from the database, so the lag alone
        never looks like a change since the proposal."""
        from ckan.lib import search

        pkg = _harvest(world, f"{rdf_server}/fuenfter.ttl", {"udp_workflow_state": "published"})
        assert "harvest_object_id" in {e["key"] for e in act(world.sysadmin, "package_show", id=pkg["id"])["extras"]}
        act(world.editor, "package_patch", id=pkg["id"], notes="Geprüfte Beschreibung")
        search.clear(pkg["id"])  # the index lags: package_show reads the database
        assert "harvest_object_id" not in {
            e["key"] for e in act(world.sysadmin, "package_show", id=pkg["id"])["extras"]
        }
        act(world.reviewer, "udp_approve", id=pkg["id"])
        assert act(world.sysadmin, "package_show", id=pkg["id"])["notes"] == "Geprüfte Beschreibung"

    def test_the_harvest_source_itself_is_not_governed(self, world: World, rdf_server: str):
        source = HarvestSourceObj(url=f"{rdf_server}/vierter.ttl", source_type="dcat_rdf", owner_org=world.org["id"])
        shown = act(world.sysadmin, "package_show", id=source.id)
        assert "udp_workflow_state" not in shown


@pytest.mark.parametrize(
    "config,expected",
    [
        ("", ("draft", None)),
        ("not json", ("draft", None)),
        ('{"udp_workflow_state": "archived"}', ("draft", None)),
        ('{"udp_workflow_state": "in_review", "udp_access_class": "secret"}', ("in_review", "restricted")),
        ('{"udp_workflow_state": "published", "udp_access_class": "open"}', ("published", "open")),
    ],
)
def test_source_settings(config: str, expected: tuple):
    assert source_settings(config) == expected
