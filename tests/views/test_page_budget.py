"""The citizen pages' budget: our templates and helpers add no Solr query of
their own to what CKAN's views already ask, and no call of a list action on
every page (issue 13, item 8: the home page cost 107 ms of CPU against
stock's 65; ``organization_list`` and ``group_list`` took ~40 ms of it)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import ckan.plugins.toolkit as tk
import pytest
from ckan.lib.search.query import PackageSearchQuery
from ckan.tests import factories
from udp_testing import public_dataset

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def _searches(app: Any, path: str) -> int:
    with mock.patch.object(PackageSearchQuery, "run", autospec=True, side_effect=PackageSearchQuery.run) as run:
        body = app.get(path).body
    assert "Das Portal in Zahlen" in body
    return run.call_count


def test_the_home_page_searches_no_more_than_stock_ckan(app):
    org = factories.Organization()
    public_dataset(owner_org=org["id"])
    public_dataset(owner_org=org["id"])
    public_dataset(owner_org=org["id"], private=True)  # not counted for visitors
    # stock CKAN's home view: its own search, and for the featured organisation
    # its datasets and the dataset counts of its groups; the portal's numbers
    # reuse the home view's count (they were a fourth search)
    assert _searches(app, "/") == 3
    body = app.get("/").body
    numbers = body[body.index("udp-stats") :]
    assert "<strong><span>2</span></strong> Datensätze" in " ".join(numbers[: numbers.index("</section>")].split())


def _actions(app: Any, path: str) -> list[str]:
    """The actions our helpers and templates call while ``path`` is rendered."""
    with mock.patch.object(tk, "get_action", autospec=True, side_effect=tk.get_action) as get_action:
        assert app.get(path).status_code == 200
    return [call.args[0] for call in get_action.call_args_list]


def test_the_portal_counts_organisations_and_groups_without_the_list_actions(app):
    """The home page's number of organisations and the header's "Gruppen"
    link give what ``organization_list``/``group_list`` give every visitor
    (organisations and groups are public in CKAN; deleted ones do not count),
    but neither action runs on a page (each built a list of every name)."""
    orgs = [factories.Organization() for _ in range(3)]
    public_dataset(owner_org=orgs[1]["id"])
    group = factories.Group()
    admin = {"user": factories.Sysadmin()["name"]}
    tk.get_action("organization_delete")(dict(admin), {"id": orgs[0]["id"]})
    tk.get_action("group_delete")(dict(admin), {"id": group["id"]})
    assert len(tk.get_action("organization_list")({}, {})) == 2
    assert tk.get_action("group_list")({}, {}) == []

    def shown(path: str) -> tuple[str, bool]:
        body = app.get(path).body
        numbers = body[body.index("udp-stats") :]
        numbers = " ".join(numbers[: numbers.index("</section>")].split())
        return numbers, 'href="/group/"' in body

    numbers, groups_link = shown("/")
    assert "<strong><span>2</span></strong> Ämter veröffentlichen Daten" in numbers
    assert not groups_link  # the only group is deleted
    factories.Group()
    assert shown("/")[1]
    for path in ("/", "/dataset/"):
        called = _actions(app, path)
        assert "organization_list" not in called and "group_list" not in called, (path, called)


def test_a_page_reuses_its_asset_bundles_urls(app):
    """A worker works out each asset bundle's URLs once (compat.cache_asset_urls):
    a page asked again neither checks the bundles' source files nor hashes them."""
    from webassets.bundle import Bundle

    for path in ("/", "/dataset/"):
        app.get(path)
        with mock.patch.object(Bundle, "_urls", autospec=True, side_effect=Bundle._urls) as built:
            assert app.get(path).status_code == 200
        assert built.call_count == 0, path
