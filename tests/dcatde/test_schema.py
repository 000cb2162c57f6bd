"""The DCAT-AP.de schema: defaults from organization and config, stored values."""
from __future__ import annotations

import pytest

import ckan.plugins.toolkit as tk
from ckan.tests import factories

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
