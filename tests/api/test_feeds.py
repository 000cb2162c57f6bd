"""CKAN's Atom feeds page correctly: ``next`` links followed from the first
page reach every public dataset once, and ``last`` is the page where they end
(CKAN 2.12 writes ``?query=page&query=2`` and ``page=1.6``; fixed by udp_api)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from ckan.tests import factories
from udp_testing import public_dataset

ATOM = "{http://www.w3.org/2005/Atom}"


def _links(xml: bytes) -> tuple[dict[str, str], list[str]]:
    root = ElementTree.fromstring(xml)
    links = {link.get("rel") or "": link.get("href") or "" for link in root.findall(f"{ATOM}link")}
    ids = [entry.findtext(f"{ATOM}id") or "" for entry in root.findall(f"{ATOM}entry")]
    return links, ids


def _walk(app, first: str) -> tuple[list[str], list[str], str]:
    seen: list[str] = []
    pages: list[str] = []
    url: str | None = first
    last = ""
    while url:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        res = app.get(path)
        assert res.status_code == 200, path
        links, ids = _links(res.data)
        for rel in ("next", "last", "first", "previous"):
            if rel in links:
                query = parse_qs(urlsplit(links[rel]).query)
                assert "query" not in query, links[rel]
                assert all(p.isdigit() for p in query.get("page", [])), links[rel]
        seen.extend(ids)
        pages.append(path)
        last = links["last"]
        url = links.get("next")
        assert len(pages) < 20
    return seen, pages, last


@pytest.mark.ckan_config("ckan.feeds.limit", "2")
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_atom_paging_links_lead_through_every_dataset(app):
    org = factories.Organization()
    names = [public_dataset(owner_org=org["id"], title=f"Feed-Datensatz {i}")["id"] for i in range(5)]
    seen, pages, last = _walk(app, "/feeds/dataset.atom")
    assert len(pages) == 3
    assert sorted(seen) == sorted({s for s in seen}) and len(seen) == 5
    assert all(any(n in s for s in seen) for n in names)
    last_parts = urlsplit(last)
    assert f"{last_parts.path}?{last_parts.query}" == pages[-1]

    # the custom feed keeps its query parameters on every page
    seen, pages, _ = _walk(app, "/feeds/custom.atom?q=Feed-Datensatz")
    assert len(seen) == 5 and len(pages) == 3
    assert all("q=Feed-Datensatz" in p for p in pages)
