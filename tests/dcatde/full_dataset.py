"""A dataset dict that uses every field of the DCAT-AP.de schema."""

from __future__ import annotations

from typing import Any

EU = "http://publications.europa.eu/resource/authority/"


def full_dataset(owner_org: str) -> dict[str, Any]:
    return {
        "name": "baumkataster-voll",
        "title": "Baumkataster",
        "notes": "Alle städtischen Bäume. Demodaten.",
        "owner_org": owner_org,
        "tags": [{"name": "Bäume"}, {"name": "Stadtgrün"}],
        "theme": [EU + "data-theme/ENVI", EU + "data-theme/AGRI"],
        "license_id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
        "license_attribution_by_text": "Stadt Karlsruhe, Gartenbauamt",
        "contact": [
            {"name": "Gartenbauamt", "email": "gba@demo.udp-karlsruhe.invalid"},
            {"name": "Bürgerservice", "url": "https://www.karlsruhe.de/kontakt"},
        ],
        "publisher": [
            {
                "name": "Stadt Karlsruhe, Gartenbauamt",
                "type": "http://purl.org/adms/publishertype/LocalAuthority",
                "url": "https://www.karlsruhe.de/gartenbauamt",
                "email": "gba@demo.udp-karlsruhe.invalid",
                "uri": "https://demo.udp-karlsruhe.invalid/organization/gartenbauamt",
            }
        ],
        "dcatde_maintainer": [
            {
                "name": "Gartenbauamt, Baumpflege",
                "email": "baumpflege@demo.udp-karlsruhe.invalid",
                "type": "http://purl.org/adms/publishertype/LocalAuthority",
            }
        ],
        "dcatde_originator": [{"name": "Vermessungs- und Liegenschaftsamt", "url": "https://www.karlsruhe.de/vla"}],
        "contributor_id": "http://dcat-ap.de/def/contributors/stadtKarlsruhe",
        "political_geocoding_level_uri": "http://dcat-ap.de/def/politicalGeocoding/Level/municipality",
        "political_geocoding_uri": ["http://dcat-ap.de/def/politicalGeocoding/regionalKey/082120000000"],
        "geocoding_description": "Karlsruhe",
        "spatial_coverage": [
            {
                "text": "Stadtgebiet Karlsruhe",
                "bbox": '{"type": "Polygon", "coordinates": [[[8.277, 48.94], [8.277, 49.09], [8.541, 49.09], '
                "[8.541, 48.94], [8.277, 48.94]]]}",
            }
        ],
        "temporal_coverage": [{"start": "2010-01-01", "end": "2025-12-31"}],
        "frequency": EU + "frequency/MONTHLY",
        "issued": "2024-03-01",
        "modified": "2025-06-30",
        "identifier": "urn:karlsruhe:gba:baumkataster",
        "language": [EU + "language/DEU", EU + "language/ENG"],
        "access_rights": EU + "access-right/PUBLIC",
        "url": "https://www.karlsruhe.de/baumkataster",
        "documentation": ["https://www.karlsruhe.de/baumkataster/doku"],
        "conforms_to": ["https://www.karlsruhe.de/baumkataster/schema"],
        "version": "2.1",
        "hvd_category": ["http://data.europa.eu/bna/c_dd313021"],
        "applicable_legislation": [
            "http://data.europa.eu/eli/reg_impl/2023/138/oj",
            "http://data.europa.eu/eli/dir/2019/1024/oj",
        ],
        "resources": [
            {
                "name": "Baumkataster (CSV)",
                "description": "Ein Baum je Zeile",
                "url": "https://demo.udp-karlsruhe.invalid/baum.csv",
                "download_url": "https://demo.udp-karlsruhe.invalid/baum.csv",
                "access_url": "https://demo.udp-karlsruhe.invalid/baum",
                "format": EU + "file-type/CSV",
                "mimetype": "text/csv",
                "size": 289845,
                "hash": "4e1243bd22c66e76c2ba9eddc1f91394e57f9f83",
                "hash_algorithm": "http://spdx.org/rdf/terms#checksumAlgorithm_sha1",
                "availability": EU + "planned-availability/STABLE",
                "status": EU + "distribution-status/COMPLETED",
                "issued": "2024-03-01",
                "modified": "2025-06-30",
                "language": [EU + "language/DEU"],
                "conforms_to": ["https://www.karlsruhe.de/baumkataster/schema"],
            },
            {
                "name": "Baumkataster (GeoJSON)",
                "url": "https://demo.udp-karlsruhe.invalid/baum.geojson",
                "format": EU + "file-type/GEOJSON",
                "license": "http://dcat-ap.de/def/licenses/cc-by/4.0",
                "license_attribution_by_text": "Stadt Karlsruhe",
            },
        ],
    }
