"""The CKAN internal of block "i13-cost" in ``ckanext.udp.compat``: counting
what ``organization_list``/``group_list`` answer in one query (CKAN's group
table and its columns ``state``, ``is_organization`` and ``type``)."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from ckanext.udp import compat


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_active_group_count_answers_as_the_list_actions():
    assert compat.active_group_count(True) == compat.active_group_count(False) == 0
    orgs = [factories.Organization() for _ in range(3)]
    groups = [factories.Group() for _ in range(2)]
    admin = {"user": factories.Sysadmin()["name"]}
    tk.get_action("organization_delete")(dict(admin), {"id": orgs[0]["id"]})
    tk.get_action("group_delete")(dict(admin), {"id": groups[0]["id"]})
    assert compat.active_group_count(True) == len(tk.get_action("organization_list")({}, {})) == 2
    assert compat.active_group_count(False) == len(tk.get_action("group_list")({}, {})) == 1
    assert compat.active_group_count(True, 1) == 1


@pytest.mark.usefixtures("with_plugins")
def test_cache_asset_urls_gives_what_webassets_works_out(app):
    from ckan.lib import webassets_tools

    compat.cache_asset_urls()
    compat.cache_asset_urls()  # idempotent: wrapped once
    app.get("/")
    bundle = webassets_tools.env["udp/udp-css"]
    cached = bundle.urls()
    assert cached and cached[0].endswith(".css")
    assert bundle.urls() == cached == bundle.urls(calculate_sri=False)  # with an argument: webassets itself
