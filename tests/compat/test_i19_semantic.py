"""compat block of branch i19-semantic: the Solr connection, reindexing some
datasets, and the permission labels package_search filters a user by."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from ckanext.udp import compat


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_solr_reindex_and_labels() -> None:
    org = factories.Organization()
    dataset = factories.Dataset(owner_org=org["id"])
    site = tk.config.get("ckan.site_id")
    conn = compat.solr_connection()
    conn.delete(q=f'id:"{dataset["id"]}"', commit=True)
    assert conn.search(q=f'id:"{dataset["id"]}"', fq=f'site_id:"{site}"').hits == 0
    compat.reindex_datasets([dataset["id"]])
    assert conn.search(q=f'id:"{dataset["id"]}"', fq=f'site_id:"{site}"').hits == 1
    assert compat.user_dataset_labels(None) == ["public"]
    member = factories.User()
    factories.Organization(users=[{"name": member["name"], "capacity": "editor"}])
    import ckan.model as model

    labels = compat.user_dataset_labels(model.User.get(member["name"]))
    assert "public" in labels and any(label.startswith("member-") for label in labels)
