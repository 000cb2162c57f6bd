"""The DCAT-AP.de schema: defaults from organization and config, stored values."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

KARLSRUHE = "http://dcat-ap.de/def/politicalGeocoding/regionalKey/082120000000"


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDefaults:
    def test_minimal_dataset_gets_dcatde_defaults(self):
        org = factories.Organization(title="Gartenbauamt")
        pkg = factories.Dataset(owner_org=org["id"])
        assert pkg["contributor_id"] == "http://dcat-ap.de/def/contributors/stadtKarlsruhe"
        assert pkg["political_geocoding_uri"] == [KARLSRUHE]
        assert pkg["political_geocoding_level_uri"] == "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"
        assert pkg["language"] == ["http://publications.europa.eu/resource/authority/language/DEU"]
        assert pkg["license_id"] == "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
        publisher = pkg["publisher"][0]
        assert publisher["name"] == "Gartenbauamt"
        assert publisher["type"] == "http://purl.org/adms/publishertype/LocalAuthority"
        assert publisher["url"] == "https://www.karlsruhe.de"


BBOX = '{"type": "Polygon", "coordinates": [[[8.3, 48.95], [8.5, 48.95], [8.5, 49.1], [8.3, 49.1], [8.3, 48.95]]]}'


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSpatialCoverage:
    def test_bounding_box_is_found_by_map_search(self):
        org = factories.Organization()
        inside = public_dataset(owner_org=org["id"], spatial_coverage=[{"text": "Karlsruhe", "bbox": BBOX}])
        factories.Dataset(owner_org=org["id"])
        found = tk.get_action("package_search")({}, {"extras": {"ext_bbox": "8.35,48.98,8.45,49.05"}})
        assert [d["id"] for d in found["results"]] == [inside["id"]]
        assert tk.get_action("package_search")({}, {"extras": {"ext_bbox": "13.3,52.4,13.5,52.6"}})["count"] == 0

    def test_wrong_geometry_is_rejected(self):
        org = factories.Organization()
        with pytest.raises(tk.ValidationError) as raised:
            factories.Dataset(owner_org=org["id"], spatial_coverage=[{"bbox": "POLYGON((1 2, 3 4))x"}])
        assert "bbox" in raised.value.error_dict["spatial_coverage"][0]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDatasetPage:
    def test_page_shows_german_vocabulary_labels(self, app):
        org = factories.Organization()
        public_dataset(
            owner_org=org["id"],
            name="mit-themen",
            theme=["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
            frequency="http://publications.europa.eu/resource/authority/frequency/MONTHLY",
            resources=[{"url": "https://x.invalid/a.csv", "format": "CSV"}],
        )
        body = app.get("/dataset/mit-themen").body
        assert "Umwelt" in body
        assert "Amtliche Gebietsschlüssel" in body
