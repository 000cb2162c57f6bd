"""The citizen pages' budget of searches: our templates and helpers add no
Solr query of their own to what CKAN's views already ask (issue 13, item 8:
the home page cost 107 ms of CPU against stock's 65)."""

from __future__ import annotations

from typing import Any
from unittest import mock

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
