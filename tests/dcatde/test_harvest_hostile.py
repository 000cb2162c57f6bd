"""Hostile or oversized RDF from a harvest source is refused before parsing,
and a refused harvest changes nothing that was there: a real DCAT RDF harvest
(ckanext-dcat's harvester) from a local HTTP server."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckanext.dcat.harvesters import DCATRDFHarvester
from ckanext.harvest.model import HarvestGatherError, HarvestObject
from ckanext.harvest.tests.factories import HarvestJobObj, HarvestSourceObj
from ckanext.harvest.tests.lib import run_harvest_job

GOOD = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Catalog rdf:about="http://example.invalid/catalog">
    <dcat:dataset>
      <dcat:Dataset rdf:about="http://example.invalid/dataset/baeume">
        <dct:identifier>baeume</dct:identifier>
        <dct:title>Bäume der Nachbarstadt</dct:title>
        <dct:description>Ein Datensatz, der schon da war.</dct:description>
      </dcat:Dataset>
    </dcat:dataset>
  </dcat:Catalog>
</rdf:RDF>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Dataset rdf:about="http://example.invalid/dataset/baeume">
    <dct:title>&xxe;</dct:title>
  </dcat:Dataset>
</rdf:RDF>
"""

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/">
  <rdf:Description rdf:about="http://example.invalid/x"><dct:title>&lol3;</dct:title></rdf:Description>
</rdf:RDF>
"""

# JSON-LD nested 5,000 levels deep: RecursionError in the JSON parser unless refused first
DEEP_JSONLD = '{"http://example.invalid/p": ' * 5000 + '{"@id": "http://example.invalid/x"}' + "}" * 5000


class Source:
    body = GOOD


@pytest.fixture
def rdf_server(http_server) -> str:
    Source.body = GOOD
    http_server.responder = lambda path: (200, "application/rdf+xml", Source.body.encode())
    return http_server.url + "/catalog.rdf"


def _run(source) -> tuple[dict, list[str]]:
    job = HarvestJobObj(source=source, run=False)
    results = run_harvest_job(job, DCATRDFHarvester())
    errors = [e.message for e in HarvestGatherError.filter(harvest_job_id=job.id).all()]
    return results, errors


def _harvested(source_id: str) -> list[dict]:
    ids = {o.package_id for o in HarvestObject.filter(harvest_source_id=source_id, current=True).all()}
    return [tk.get_action("package_show")({"ignore_auth": True}, {"id": i}) for i in ids if i]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestHostileHarvest:
    @pytest.mark.parametrize(
        "body,reason,config",
        [
            (XXE, "DOCTYPE", {"rdf_format": "xml"}),
            (LAUGHS, "DOCTYPE", {"rdf_format": "xml"}),
            ("\ufeff" + XXE, "DOCTYPE", {}),  # a byte-order mark must not hide the XML
            (DEEP_JSONLD, "nested", {}),  # recognised as JSON-LD by its first byte
        ],
        ids=["xxe", "billion-laughs", "bom-xxe", "deep-jsonld"],
    )
    def test_hostile_document_is_refused_and_nothing_changes(self, rdf_server, body, reason, config):
        org = factories.Organization()
        source = HarvestSourceObj(
            url=rdf_server, source_type="dcat_rdf", owner_org=org["id"], config=json.dumps(config)
        )
        results, errors = _run(source)
        assert errors == [] and len(results) == 1
        (before,) = _harvested(source.id)
        assert before["title"] == "Bäume der Nachbarstadt"

        Source.body = body
        results, errors = _run(source)
        assert results == {}
        assert len(errors) == 1 and ("refused" in errors[0] or "abgelehnt" in errors[0])
        assert reason in errors[0]
        (after,) = _harvested(source.id)
        assert after == before  # not deleted, not changed
        assert "root:" not in json.dumps(after)

    def test_oversized_document_is_refused(self, rdf_server, ckan_config, monkeypatch):
        monkeypatch.setitem(ckan_config, "ckanext.udp.dcatde.max_rdf_bytes", 200)
        org = factories.Organization()
        source = HarvestSourceObj(url=rdf_server, source_type="dcat_rdf", owner_org=org["id"])
        results, errors = _run(source)
        assert results == {}
        assert len(errors) == 1 and "too large" in errors[0]

    def test_a_normal_document_passes(self, rdf_server):
        org = factories.Organization()
        source = HarvestSourceObj(url=rdf_server, source_type="dcat_rdf", owner_org=org["id"])
        results, errors = _run(source)
        assert errors == []
        assert [r["state"] for r in results.values()] == ["COMPLETE"]
