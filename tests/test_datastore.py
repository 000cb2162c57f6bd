"""The DataStore works on its own database with a read-only user."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDatastore:
    @pytest.fixture
    def resource(self):
        org = factories.Organization()
        # resources of a published dataset are added with it: a later
        # resource_create would be a change waiting for review (udp_governance)
        pkg = public_dataset(owner_org=org["id"], resources=[{"url": "", "format": "CSV", "udp_live_table": True}])
        return pkg["resources"][0]

    @pytest.fixture
    def table(self, resource):
        sysadmin = factories.Sysadmin()
        tk.get_action("datastore_create")(
            {"user": sysadmin["name"]},
            {
                "resource_id": resource["id"],
                "force": True,
                "primary_key": ["nr"],
                "fields": [
                    {"id": "nr", "type": "text"},
                    {"id": "stadtteil", "type": "text"},
                    {"id": "einwohner", "type": "int"},
                ],
                "records": [
                    {"nr": "01", "stadtteil": "Innenstadt-Ost", "einwohner": 6500},
                    {"nr": "19", "stadtteil": "Durlach", "einwohner": 31000},
                    {"nr": "27", "stadtteil": "Nordstadt", "einwohner": 10000},
                ],
            },
        )
        return resource["id"]

    def test_create_and_search_round_trip(self, table):
        result = tk.get_action("datastore_search")({}, {"resource_id": table, "sort": "nr"})
        assert result["total"] == 3
        assert [r["stadtteil"] for r in result["records"]] == ["Innenstadt-Ost", "Durlach", "Nordstadt"]
        assert [f["id"] for f in result["fields"]] == ["_id", "nr", "stadtteil", "einwohner"]

    def test_filters_and_full_text(self, table):
        result = tk.get_action("datastore_search")({}, {"resource_id": table, "filters": {"nr": "19"}})
        assert [r["stadtteil"] for r in result["records"]] == ["Durlach"]
        result = tk.get_action("datastore_search")({}, {"resource_id": table, "q": "Nordstadt"})
        assert [r["nr"] for r in result["records"]] == ["27"]

    def test_upsert_replaces_by_primary_key(self, table):
        tk.get_action("datastore_upsert")(
            {"ignore_auth": True},
            {
                "resource_id": table,
                "method": "upsert",
                "force": True,
                "records": [{"nr": "19", "stadtteil": "Durlach", "einwohner": 31500}],
            },
        )
        result = tk.get_action("datastore_search")({}, {"resource_id": table, "filters": {"nr": "19"}})
        assert result["records"][0]["einwohner"] == 31500
        assert tk.get_action("datastore_search")({}, {"resource_id": table})["total"] == 3

    def test_sql_search_uses_the_read_only_user(self, table):
        sql = f'SELECT SUM(einwohner) AS s FROM "{table}"'
        result = tk.get_action("datastore_search_sql")({"ignore_auth": True}, {"sql": sql})
        assert result["records"][0]["s"] == 47500
        with pytest.raises((tk.ValidationError, tk.NotAuthorized)):
            tk.get_action("datastore_search_sql")({"ignore_auth": True}, {"sql": f'DELETE FROM "{table}" RETURNING *'})
        assert tk.get_action("datastore_search")({}, {"resource_id": table})["total"] == 3
