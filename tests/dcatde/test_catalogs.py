"""The four real DCAT-AP.de catalogs parse into datasets that pass the schema."""

from __future__ import annotations

import json
import re

import pytest
from ckan.tests import factories
from dcatde_testlib import error_text, parse, validate

# dcat:Dataset subjects in each file (Brandenburg: 116 typings in the XML of
# 112 distinct datasets; the README's 118 counts text lines, not datasets)
CATALOGS = {
    "rostock-catalog-2021.rdf": 100,
    "brandenburg-catalog-2021.rdf": 112,
    "bremen-catalog-2021.rdf": 153,
    "destatis-catalog-2021.rdf": 135,
}
VARIANT = re.compile(r"https://(www\.)?dcat-ap\.de/|http://www\.dcat-ap\.de/")


_CACHE: dict[str, list] = {}


@pytest.fixture
def parsed(with_plugins, shared_dir):
    """The parsed catalogs (parsed once; the profiles need the plugins loaded)."""
    if not _CACHE:
        for name in CATALOGS:
            data = (shared_dir / "dcat-ap-de" / "catalogs" / name).read_bytes()
            _CACHE[name] = parse(data, "xml")
    return _CACHE


@pytest.mark.usefixtures("with_plugins", "clean_db")
class TestRealCatalogs:
    @pytest.mark.parametrize("name", sorted(CATALOGS))
    def test_every_dataset_is_valid(self, parsed, name):
        datasets = parsed[name]
        assert len(datasets) == CATALOGS[name]
        sysadmin = factories.Sysadmin()
        org = factories.Organization()
        failures = []
        for i, dataset in enumerate(datasets):
            dataset = dict(dataset, owner_org=org["id"], name=f"{name[:6]}-{i}")
            stored, errors = validate(dataset, sysadmin["name"])
            if errors:
                failures.append(f"{dataset.get('title')!r}: {error_text(errors)}")
        assert not failures, f"{len(failures)} invalid, e.g. " + " | ".join(failures[:5])

    @pytest.mark.parametrize("name", sorted(CATALOGS))
    def test_namespaces_and_licences_are_normalised(self, parsed, name):
        text = json.dumps(parsed[name])
        assert not VARIANT.search(text), VARIANT.search(text).group(0)
        for dataset in parsed[name]:
            licences = [dataset.get("license_id")] + [r.get("license") for r in dataset["resources"]]
            for licence in filter(None, licences):
                assert licence.startswith("http://dcat-ap.de/def/licenses/"), licence
            for key in ("contributor_id", "political_geocoding_level_uri"):
                if dataset.get(key):
                    assert dataset[key].startswith("http://dcat-ap.de/def/"), dataset[key]

    def test_rostock_keeps_its_dcatde_properties(self, parsed):
        datasets = parsed["rostock-catalog-2021.rdf"]
        assert all(d.get("contributor_id") for d in datasets)
        assert all(d.get("political_geocoding_level_uri") for d in datasets)
        assert sum(1 for d in datasets if d.get("political_geocoding_uri")) == 99
        assert all(d.get("dcatde_maintainer") for d in datasets)
        assert any(
            d.get("license_attribution_by_text") or any(r.get("license_attribution_by_text") for r in d["resources"])
            for d in datasets
        )

    def test_some_are_stored_for_real(self, parsed):
        import ckan.plugins.toolkit as tk

        sysadmin = factories.Sysadmin()
        org = factories.Organization()
        for name, datasets in parsed.items():
            for i, dataset in enumerate(datasets[:3]):
                created = tk.get_action("package_create")(
                    {"user": sysadmin["name"]}, dict(dataset, owner_org=org["id"], name=f"real-{name[:6]}-{i}")
                )
                assert created["title"] == dataset["title"]
                assert created["license_id"] == dataset.get("license_id", created["license_id"])
