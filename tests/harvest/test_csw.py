"""The CSW / ISO 19139 harvester (type ``udp_csw``) against pycsw serving the
five real GDI-DE records, and against local HTTP servers answering what broken
catalogues answer. Anchor defects of ckanext-spatial 2.3.2's CSW harvester,
each with a test showing ours lacks it."""

from __future__ import annotations

import json

import pytest
from harvestlib import harvested, make_source, run_job
from lxml import etree

from ckanext.udp.harvest import iso19139
from ckanext.udp.harvesters.csw import CswHarvester

HARVESTER = CswHarvester()
GN250 = "142d56bb-108b-4e6a-96a6-8239b80af77e"
HESSEN_WMS = "def3f393-48c8-730a-328f-947231f493f4"


@pytest.fixture(scope="module")
def records(shared_dir) -> dict[str, bytes]:
    """The five real records as the CSW delivers them, each with its XML declaration."""
    tree = etree.parse(str(shared_dir / "harvest-samples" / "csw-gdi-de" / "GetRecordsResults.xml"))
    out = {}
    for element in tree.findall(".//{http://www.isotc211.org/2005/gmd}MD_Metadata"):
        ident = element.findtext(
            "{http://www.isotc211.org/2005/gmd}fileIdentifier/{http://www.isotc211.org/2005/gco}CharacterString"
        )
        out[ident] = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    assert len(out) == 5
    return out


def test_records_with_an_xml_declaration_are_read(records):
    """Anchor: ckanext-spatial 2.3.2 decodes each record to text and calls
    etree.fromstring on it; with the encoding declaration that raises ValueError
    (every record), which kills the consumer. Ours parses the bytes."""
    xml = records[GN250]
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    with pytest.raises(ValueError):
        etree.fromstring(xml.decode("utf-8"))  # what the stock harvester does
    record = iso19139.map_record(xml, "http://csw.invalid/csw")
    assert record.error is None and record.dataset["title"] == "INSPIRE Geographical Names GN250"


def test_the_eden_profile_accepts_all_five_and_the_default_rejects_four(records):
    """Anchor: the default iso19139 XSD profile rejects 4 of the 5 real GDI-DE records."""
    assert [i for i, xml in records.items() if iso19139.validate_record(xml, "iso19139eden")] == []
    assert len([i for i, xml in records.items() if iso19139.validate_record(xml, "iso19139")]) == 4


def test_hostile_records_are_refused(records):
    for evil in (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>]><x>&lol;</x>",
    ):
        with pytest.raises(iso19139.RefusedXML, match="DOCTYPE"):
            iso19139.map_record(evil, "http://csw.invalid/csw")


def test_a_box_in_the_city_names_its_districts(records):
    """bbox -> spatial coverage, and the Stadtteile when the box lies in Karlsruhe."""
    xml = records[GN250].decode("utf-8")
    for tag, value in (
        ("westBoundLongitude", "8.43"),
        ("eastBoundLongitude", "8.49"),
        ("southBoundLatitude", "48.98"),
        ("northBoundLatitude", "49.015"),
    ):
        start = xml.index(f"<gmd:{tag}>")
        end = xml.index(f"</gmd:{tag}>") + len(f"</gmd:{tag}>")
        xml = xml[:start] + f"<gmd:{tag}><gco:Decimal>{value}</gco:Decimal></gmd:{tag}>" + xml[end:]
    areas = iso19139.map_record(xml.encode("utf-8"), "http://csw.invalid/csw").dataset["spatial_coverage"]
    assert json.loads(areas[0]["bbox"])["coordinates"][0][0] == [8.43, 48.98]
    assert "Stadtteil Durlach (19)" in [a.get("text") for a in areas]
    # the whole of Germany is not "in the city"
    germany = iso19139.map_record(records[GN250], "http://csw.invalid/csw").dataset["spatial_coverage"]
    assert len(germany) == 1


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestAgainstPycsw:
    def test_all_five_gdi_de_records_import(self, pycsw, org):
        source = make_source(pycsw, "udp_csw", org, {"page_size": 2, "udp_workflow_state": "published"})
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["added"] == 5
        by_id = {d["identifier"]: d for d in harvested(source)}
        assert len(by_id) == 5
        gn250 = by_id["https://registry.gdi-de.org/id/de.bund.bkg.csw/DEBKG00M00000187"]
        assert gn250["license_id"] == "http://dcat-ap.de/def/licenses/geonutz/20130319"
        assert gn250["license_attribution_by_text"].startswith("© GeoBasis-DE / BKG")
        assert gn250["access_rights"].endswith("/access-right/PUBLIC")
        bbox = json.loads(gn250["spatial_coverage"][0]["bbox"])["coordinates"][0]
        assert bbox[0] == [6.0980339, 47.2394218] and bbox[2] == [15.5785551, 55.0543442]
        formats = {r["format"].rsplit("/", 1)[-1] for r in gn250["resources"]}
        assert formats == {"WFS_SRVC", "WMS_SRVC", "XML"}
        metadata = [r for r in gn250["resources"] if r["name"] == "INSPIRE-Metadaten (ISO 19139)"]
        assert metadata and "request=GetRecordById" in metadata[0]["url"] and GN250 in metadata[0]["url"]
        wms = next(d for d in by_id.values() if d["title"].startswith("INSPIRE-WMS HE Hydro"))
        (service,) = [r for r in wms["resources"] if r["format"].endswith("WMS_SRVC")]
        assert "REQUEST=GetCapabilities" in service["url"] and service["access_url"] == service["url"]
        # unchanged: nothing written
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["not modified"] == 5

    def test_the_default_profile_would_lose_four(self, pycsw, org):
        source = make_source(pycsw, "udp_csw", org, {"validation_profile": "iso19139"})
        run = run_job(source, HARVESTER)
        assert run.stats["added"] == 1 and run.stats["errored"] == 4
        assert all("iso19139" in message for _guid, message in run.object_errors)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestBrokenCatalogues:
    def test_an_exception_report_or_hostile_answer_archives_nothing(self, site, org, records):
        answer = (
            b'<?xml version="1.0" encoding="UTF-8"?><csw:GetRecordsResponse '
            b'xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults numberOfRecordsMatched="1" '
            b'numberOfRecordsReturned="1" nextRecord="0">'
            + records[GN250].split(b"?>", 1)[1]
            + b"</csw:SearchResults></csw:GetRecordsResponse>"
        )
        site.put("/csw", answer, "application/xml")
        source = make_source(site.url("/csw"), "udp_csw", org, {"udp_workflow_state": "published"})
        assert run_job(source, HARVESTER).stats["added"] == 1
        for body, reason in (
            (
                b'<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">'
                b'<ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>Datenbank nicht erreichbar'
                b"</ows:ExceptionText></ows:Exception></ows:ExceptionReport>",
                "Datenbank nicht erreichbar",
            ),
            (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "DOCTYPE"),
            (b"<html>Wartungsarbeiten</html>", "CSW"),
        ):
            site.put("/csw", body, "application/xml")
            run = run_job(source, HARVESTER)
            assert len(run.gather_errors) == 1 and reason in run.gather_errors[0], run.gather_errors
            assert [d["udp_workflow_state"] for d in harvested(source)] == ["published"]
