"""The CKAN harvester (type ``udp_ckan``) against a second, stock CKAN 2.12
loaded through its Action API with GovData-style datasets, and against local
HTTP servers that fail the way remote CKANs do. Each anchor defect of
ckanext-harvest 1.6.3's CKANHarvester has a test showing ours lacks it."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestJob, HarvestObject, HarvestObjectError
from harvestlib import harvested, make_source, run_job, sysadmin_context
from localsources.site import Route

from ckanext.udp.harvesters.ckan import CkanHarvester

HARVESTER = CkanHarvester()
UBA = "http://dcat-ap.de/def/contributors/umweltbundesamt"


def govdata_dataset(name: str, org_id: str, **extra_fields) -> dict:
    """A dataset as GovData's CKAN carries it: DCAT-AP.de in extras."""
    extras = {
        "contributorID": json.dumps([UBA]),
        "politicalGeocodingURI": json.dumps(["http://dcat-ap.de/def/politicalGeocoding/stateKey/08"]),
        "politicalGeocodingLevelURI": "http://dcat-ap.de/def/politicalGeocoding/Level/state",
        "access_rights": "Es gelten keine Zugriffsbeschränkungen",
        # INSPIRE code list where DCAT-AP.de expects the EU frequency; "frequency" and
        # "theme" are also fields of the portal's schema (stock passes them on as extras)
        "frequency": "http://inspire.ec.europa.eu/metadata-codelist/MaintenanceFrequencyCode/notPlanned",
        "theme": json.dumps(["http://publications.europa.eu/resource/authority/data-theme/ENVI"]),
        "spatial": json.dumps(
            {"type": "Polygon", "coordinates": [[[7.5, 47.5], [10.5, 47.5], [10.5, 49.8], [7.5, 49.8], [7.5, 47.5]]]}
        ),
        "temporal_start": "2020-01-01",
        "temporal_end": "2024-12-31",
        "issued": "2021-03-01",
        "harvest_object_id": "from-their-own-harvest",  # bookkeeping of the remote's harvester
        "Messnetz": "Luftmessnetz Baden-Württemberg",  # an extra no field claims
    }
    data = dict(
        name=name,
        title=f"Luftqualität {name}",
        notes=f"Stundenwerte der Messstationen ({name}).",
        owner_org=org_id,
        license_id="http://dcat-ap.de/def/licenses/dl-by-de/2.0",
        maintainer="Fachgebiet II 4.2",
        maintainer_email="luft@uba.invalid",
        tags=[{"name": "Luft"}, {"name": "Stickstoffdioxid NO₂"}],
        extras=[{"key": k, "value": v} for k, v in extras.items()],
        resources=[
            {
                "url": f"https://www.umweltbundesamt.invalid/{name}.csv",
                "name": "Messwerte",
                "format": "CSV",
                "licenseAttributionByText": "Umweltbundesamt",
            }
        ],
    )
    data.update(extra_fields)
    return data


@pytest.fixture
def remote(second_ckan):
    org = second_ckan.action("organization_create", name="umweltbundesamt", title="Umweltbundesamt")
    for name in ("no2-karlsruhe", "pm10-karlsruhe", "ozon-karlsruhe"):
        second_ckan.action("package_create", **govdata_dataset(name, org["id"]))
    second_ckan.org = org
    return second_ckan


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestAgainstASecondCkan:
    def test_govdata_extras_become_fields(self, remote, org):
        """Anchor: remote extras colliding with scheming fields ("frequency", "theme") make
        stock reject the dataset; here they are mapped into the fields."""
        source = make_source(remote.url, "udp_ckan", org, {"udp_workflow_state": "published"})
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["added"] == 3
        ds = harvested(source)[0]
        assert ds["name"] == "no2-karlsruhe" and ds["owner_org"] == org["id"]
        assert ds["contributor_id"] == UBA
        assert ds["political_geocoding_uri"] == ["http://dcat-ap.de/def/politicalGeocoding/stateKey/08"]
        assert ds["political_geocoding_level_uri"] == "http://dcat-ap.de/def/politicalGeocoding/Level/state"
        assert ds["access_rights"] == "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
        assert ds["frequency"] == "http://publications.europa.eu/resource/authority/frequency/NEVER"
        assert ds["theme"] == ["http://publications.europa.eu/resource/authority/data-theme/ENVI"]
        assert ds["temporal_coverage"] == [{"start": "2020-01-01", "end": "2024-12-31"}]
        assert json.loads(ds["spatial_coverage"][0]["bbox"])["coordinates"][0][0] == [7.5, 47.5]
        assert ds["license_id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        assert ds["license_attribution_by_text"] == "Umweltbundesamt"  # from the resources' extra
        assert ds["resources"][0]["format"].endswith("/file-type/CSV")
        extras = {e["key"]: e["value"] for e in ds.get("extras", [])}
        assert extras.get("Messnetz") == "Luftmessnetz Baden-Württemberg"
        assert "harvest_object_id" not in extras or extras["harvest_object_id"] != "from-their-own-harvest"
        assert ds["dcatde_maintainer"][0]["name"] == "Fachgebiet II 4.2"

    def test_withdrawn_remotely_is_archived_never_deleted(self, remote, org):
        """Anchor: stock never deletes (what the remote withdrew stays public); ours
        archives it, and restores it when it comes back."""
        source = make_source(remote.url, "udp_ckan", org, {"udp_workflow_state": "published"})
        run_job(source, HARVESTER)
        remote.action("package_delete", id="pm10-karlsruhe")
        remote.action("package_patch", id="ozon-karlsruhe", private=True)
        run = run_job(source, HARVESTER)
        assert run.errors == [] and run.stats["archived"] == 2 and run.stats["not modified"] == 1
        states = {d["name"]: (d["state"], d["udp_workflow_state"]) for d in harvested(source)}
        assert states == {
            "no2-karlsruhe": ("active", "published"),
            "pm10-karlsruhe": ("active", "archived"),
            "ozon-karlsruhe": ("active", "archived"),
        }
        # the anonymous public no longer sees them
        public = tk.get_action("package_search")({"user": "", "ignore_auth": False}, {"q": "Luftqualität"})
        assert [d["name"] for d in public["results"]] == ["no2-karlsruhe"]
        remote.action("package_patch", id="ozon-karlsruhe", private=False)
        run_job(source, HARVESTER)
        assert {d["name"]: d["udp_workflow_state"] for d in harvested(source)}["ozon-karlsruhe"] == "published"

    def test_a_dataset_the_schema_refuses_is_an_error_with_its_reason(self, remote, org):
        """Anchor: stock's error paths use e.message (AttributeError on Python 3); ours
        records the dataset and the reason and imports the others."""
        bad = govdata_dataset("zeitreise", remote.org["id"])
        for extra in bad["extras"]:
            if extra["key"] == "temporal_start":
                extra["value"] = "2030-01-01"  # after temporal_end
        remote.action("package_create", **bad)
        source = make_source(remote.url, "udp_ckan", org)
        run = run_job(source, HARVESTER)
        assert run.stats["added"] == 3 and run.stats["errored"] == 1
        ((guid, message),) = run.object_errors
        assert guid.endswith("/dataset/" + remote.action("package_show", id="zeitreise")["id"])
        assert "Luftqualität zeitreise" in message and ("before its start" in message or "vor" in message)


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestFailingRemotes:
    def _search(self, count: int, names: list[str]) -> bytes:
        return json.dumps(
            {
                "success": True,
                "result": {
                    "count": count,
                    "results": [
                        {"id": f"id-{n}", "name": n, "title": f"Datensatz {n}", "notes": "x", "resources": []}
                        for n in names
                    ],
                },
            }
        ).encode()

    def test_a_remote_failing_mid_gather_archives_nothing(self, site, org):
        names = [f"d{i:03d}" for i in range(15)]
        site.routes["/api/3/action/package_search"] = lambda path: Route(
            self._search(15, names[:10]) if "start=0" in path and "rows=10&" in path else b"kaputt",
            "application/json",
            200 if "start=0" in path else 500,
        )
        source = make_source(site.url(), "udp_ckan", org, {"udp_workflow_state": "published", "page_size": 10})
        run = run_job(source, HARVESTER)
        assert run.stats["added"] == 10 and len(run.gather_errors) == 1 and "500" in run.gather_errors[0]
        site.put("/api/3/action/package_search", b'{"success": true, "result": {"count": 1, "res', "application/json")
        run = run_job(source, HARVESTER)
        assert len(run.gather_errors) == 1 and "JSON" in run.gather_errors[0]
        assert run.stats.get("archived", 0) == 0
        assert {d["udp_workflow_state"] for d in harvested(source)} == {"published"}

    def test_a_remote_that_never_answers_is_given_up(self, site, org, ckan_config, monkeypatch):
        """Anchor: stock has no timeouts; a hanging remote blocks the gather consumer forever."""
        monkeypatch.setitem(ckan_config, "ckanext.udp.fetch.read_timeout", "1")
        site.put("/api/3/action/package_search", b"", hang=True)
        source = make_source(site.url(), "udp_ckan", org)
        run = run_job(source, HARVESTER)
        assert len(run.gather_errors) == 1 and run.stats["added"] == 0

    def test_one_bad_object_does_not_kill_the_fetch_consumer(self, site, org):
        """Anchor: stock's fetch_callback has no try/except, so one exception in an import
        kills the fetch consumer. Ours records it on the object; the consumer's function returns."""
        site.put("/api/3/action/package_search", self._search(2, ["gut", "auch-gut"]), "application/json")
        source = make_source(site.url(), "udp_ckan", org)
        job = tk.get_action("harvest_job_create")(sysadmin_context(), {"source_id": source["id"], "run": False})
        ids = queue.gather_stage(HARVESTER, HarvestJob.get(job["id"]))
        poisoned = HarvestObject.get(ids[0])
        poisoned.content = json.dumps({"dataset": {"title": ["not", "a", "string"], "resources": "nope"}})
        poisoned.save()
        for obj_id in ids:
            queue.fetch_and_import_stages(HARVESTER, HarvestObject.get(obj_id))  # must not raise
        assert HarvestObject.get(ids[0]).state == "ERROR"
        assert HarvestObjectError.filter(harvest_object_id=ids[0]).count() == 1
        assert HarvestObject.get(ids[1]).state == "COMPLETE"
