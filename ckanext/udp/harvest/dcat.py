"""DCAT-AP.de RDF (RDF/XML, Turtle, JSON-LD) into the portal's schema.

Parsing goes through udp_dcatde's public functions: ``parse_untrusted``
(size cap, DOCTYPE/ENTITY and remote-context refusal before any parser runs)
and the ckanext-dcat profiles ``euro_dcat_ap_3`` + ``dcatap_de`` (namespace
variants, vocabulary and licence normalisation, the dcatde properties).

Paging follows ``hydra:next`` / ``hydra:nextPage`` with a set of visited
pages: a page seen before (a cycle of any length), a page that leaves the
source's scheme, host and port, a page whose datasets were all seen already (a
server ignoring the page parameter) or more than ``max_pages`` pages stop the
gather as incomplete.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urlsplit

from ckanext.dcat.processors import RDFParser
from ckanext.udp import fetch
from ckanext.udp.dcatde import validation
from ckanext.udp.harvest.base import GatherIncomplete, Record, _

PROFILES = ["euro_dcat_ap_3", "dcatap_de"]
DEFAULT_MAX_PAGES = 1000
ACCEPT = "application/rdf+xml, text/turtle;q=0.9, application/ld+json;q=0.8"
CONTENT_TYPES = {
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "n3",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}
# keys the parser leaves that are not fields of the portal's schema
_DROP = ("uri", "guid")


def rdf_format(content_type: str, data: bytes, configured: str | None = None) -> str:
    """The configured format, else the one the content type names, else a
    guess from the first byte (a byte-order mark does not hide XML)."""
    if configured:
        return configured
    if content_type in CONTENT_TYPES:
        return CONTENT_TYPES[content_type]
    head = data.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:1]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "xml"
    return {b"<": "xml", b"{": "json-ld", b"[": "json-ld"}.get(head, "turtle")


def guid_of(dataset: dict[str, Any]) -> str | None:
    """The dataset's URI (rdf:about), else its dct:identifier."""
    uri = dataset.get("uri")
    if uri and str(uri).startswith(("http://", "https://", "urn:")):
        return str(uri)
    for extra in dataset.get("extras") or []:
        if extra.get("key") == "uri" and extra.get("value"):
            return str(extra["value"])
    identifier = (dataset.get("identifier") or "").strip()
    return identifier or None


def clean(dataset: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in dataset.items() if k not in _DROP}
    out["extras"] = [e for e in out.get("extras") or [] if e.get("key") not in _DROP]
    if not out["extras"]:
        out.pop("extras")
    out.pop("name", None)  # the import names new datasets and keeps existing names
    return out


def page_records(data: bytes, fmt: str, page_url: str) -> tuple[list[Record], str | None]:
    """The records of one catalog page and the URL of the next page.
    Raises UntrustedRDFError for documents refused or unparseable."""
    graph = validation.parse_untrusted(data, fmt, publicID=page_url)
    parser = RDFParser(profiles=PROFILES)
    parser.g = graph
    records = []
    for dataset in parser.datasets():
        guid = guid_of(dataset)
        label = str(dataset.get("title") or "")
        if not guid:
            records.append(
                Record(
                    guid=f"{page_url}#{label or 'ohne-titel'}",
                    label=label,
                    error=_(
                        "The dataset has neither a URI nor a dct:identifier, so it cannot be recognised on the "
                        "next run; it was not imported."
                    ),
                )
            )
            continue
        records.append(
            Record(
                guid=guid,
                dataset=clean(dataset),
                label=label,
                payload={"original_url": guid if guid.startswith("http") else page_url},
            )
        )
    return records, parser.next_page()


def _normal(url: str) -> str:
    return urldefrag(url)[0]


def catalog_records(url: str, config: dict[str, Any], fetcher: fetch.Fetcher) -> Iterator[Record]:
    """Every record of a (paged) catalog. Raises GatherIncomplete / FetchError
    when the catalog cannot be read to its end."""
    origin = urlsplit(url)[:2]
    max_pages = int(config.get("max_pages", DEFAULT_MAX_PAGES))
    configured = config.get("rdf_format")
    visited: set[str] = set()
    seen_guids: set[str] = set()
    next_url: str | None = url
    while next_url:
        page_url = _normal(next_url)
        if page_url in visited:
            raise GatherIncomplete(_("the page chain returns to {url}, a page read before").format(url=page_url))
        if urlsplit(page_url)[:2] != origin:
            raise GatherIncomplete(_("the next page {url} is not on the source's host").format(url=page_url))
        if len(visited) >= max_pages:
            raise GatherIncomplete(_("more than {n} pages; raise max_pages in the configuration").format(n=max_pages))
        visited.add(page_url)
        res = fetcher.get(page_url, headers={"Accept": ACCEPT})
        try:
            records, next_url = page_records(
                res.content, rdf_format(res.content_type, res.content, configured), page_url
            )
        except validation.UntrustedRDFError as err:
            raise GatherIncomplete(
                _("{url}: the RDF document was refused: {reason}").format(url=page_url, reason=err)
            ) from None
        guids = {r.guid for r in records}
        if len(visited) > 1 and guids and guids <= seen_guids:
            raise GatherIncomplete(
                _("{url} repeats datasets of earlier pages only; the source seems to ignore its paging").format(
                    url=page_url
                )
            )
        seen_guids |= guids
        yield from records
