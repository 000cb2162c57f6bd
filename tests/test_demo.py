"""The demo loader builds a Karlsruhe-like portal and is idempotent."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from ckanext.udp.portal import demo


def _snapshot() -> dict[str, str]:
    result = tk.get_action("package_search")({}, {"rows": 1000, "include_private": True})
    return {d["name"]: d["metadata_modified"] for d in result["results"]}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDemoLoader:
    def test_loads_everything_once(self):
        with open(demo.default_data_path(), encoding="utf-8") as f:
            data = json.load(f)
        first = demo.load()
        assert first["created"] == len(data["organizations"]) + len(data["datasets"])
        assert len(data["datasets"]) >= 12

        found = tk.get_action("package_search")({}, {"rows": 1000})
        assert found["count"] == len(data["datasets"])
        orgs = tk.get_action("organization_list")({}, {})
        assert sorted(orgs) == sorted(o["name"] for o in data["organizations"])

        before = _snapshot()
        second = demo.load()
        assert second["created"] == 0 and second["updated"] == 0
        assert _snapshot() == before  # not even metadata_modified moved

    def test_demo_numbers_are_labelled(self):
        demo.load()
        for d in tk.get_action("package_search")({}, {"rows": 1000})["results"]:
            if d["name"] != "stadtteile-karlsruhe":  # the only real, not made-up, data
                assert "Demodaten" in d["notes"], d["name"]

    def test_tables_are_in_the_datastore(self):
        demo.load()
        pkg = tk.get_action("package_show")({}, {"id": "stadtteile-karlsruhe"})
        res = pkg["resources"][0]
        assert res["datastore_active"]
        assert res["url"].endswith(f"/datastore/dump/{res['id']}")
        rows = tk.get_action("datastore_search")({}, {"resource_id": res["id"], "limit": 100, "sort": "nr"})
        assert rows["total"] == 27
        assert rows["records"][18]["stadtteil"] == "Durlach"

    def test_german_search_finds_the_tree_dataset(self):
        demo.load()
        found = tk.get_action("package_search")({}, {"q": "Bäume"})
        assert "baumkataster" in [d["name"] for d in found["results"]]

    def test_an_edited_dataset_is_put_back(self):
        demo.load()
        sysadmin = factories.Sysadmin()
        # a user's edit of a published dataset waits for review (udp_governance);
        # this one is forced live, as a system call
        tk.get_action("package_patch")(
            {"user": sysadmin["name"], "ignore_auth": True}, {"id": "spielplaetze", "title": "kaputt"}
        )
        stats = demo.load()
        assert stats["updated"] == 1
        assert tk.get_action("package_show")({}, {"id": "spielplaetze"})["title"] == "Spielplätze"
