"""``/catalog.{ttl,rdf,jsonld}`` and ``/dataset/{id}.{ttl,rdf,jsonld}``.

The catalog shows exactly what an anonymous visitor may see, whoever asks:
it is the channel federal portals harvest. Pages are keyset-paged (see
cursor.py), assembled from cached per-dataset fragments (fragments.py), and
answered with ETag/Last-Modified and 304 on revalidation.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response, request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD, Namespace
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ckanext.dcat.processors import RDFSerializer
from ckanext.udp import compat

from . import changes, fragments, rdfwriter
from .cursor import SORT, Cursor, CursorError

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

CONTENT_TYPES = {
    "ttl": "text/turtle; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
}
ALIASES = {"ttl": "ttl", "rdf": "rdf", "xml": "rdf", "jsonld": "jsonld"}
RDFLIB_FORMATS = {"ttl": "turtle", "rdf": "pretty-xml", "jsonld": "json-ld"}

catalog_bp = Blueprint("udp_catalog", __name__)


def _anonymous() -> dict[str, Any]:
    return {"user": "", "auth_user_obj": None}


def _search(fq: str, rows: int) -> dict[str, Any]:
    types = tk.aslist(tk.config.get("ckanext.udp.catalog.dataset_types"))
    fq = f"{fq} +dataset_type:({' OR '.join(types)})"
    extra = tk.config.get("ckanext.udp.catalog.extra_fq")
    if extra:
        fq = f"{fq} +({extra})"
    return tk.get_action("package_search")(_anonymous(), {"fq": fq, "sort": SORT, "rows": rows})


class BadRequest(ValueError):
    """A catalog parameter the client got wrong (answered with a 400)."""


def _page_size() -> int:
    default = tk.config.get("ckanext.udp.catalog.page_size")
    maximum = tk.config.get("ckanext.udp.catalog.max_page_size")
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(tk._("limit must be a whole number")) from None
    if not 1 <= value <= maximum:
        raise BadRequest(tk._("limit must be between 1 and {max}").format(max=maximum))
    return value


def error_response(fmt: str | None, status: int, message: str) -> Response:
    """An error for an RDF client: a ``hydra:Error`` in the format it asked for
    (plain text if the format itself is unknown), never an HTML page."""
    if fmt not in CONTENT_TYPES:
        return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    g = Graph()
    g.bind("hydra", HYDRA)
    node = BNode()
    g.add((node, RDF.type, HYDRA.Error))
    g.add((node, HYDRA.statusCode, Literal(status, datatype=XSD.integer)))
    g.add((node, HYDRA.title, Literal(HTTP_STATUS_CODES.get(status, "Error"))))
    g.add((node, HYDRA.description, Literal(message)))
    return Response(g.serialize(format=RDFLIB_FORMATS[fmt]), status=status, content_type=CONTENT_TYPES[fmt])


def _page_url(fmt: str, after: Cursor | None, limit: int) -> str:
    params: dict[str, str] = {}
    if after is not None:
        params["after"] = after.encode()
    if limit != tk.config.get("ckanext.udp.catalog.page_size"):
        params["limit"] = str(limit)
    base = tk.url_for("udp_catalog.catalog", _format=fmt, _external=True)
    return base + ("?" + urlencode(params) if params else "")


@functools.lru_cache(maxsize=8)
def _catalog_node(version: str, config_key: str) -> tuple[Graph, URIRef]:
    """The catalog node as ckanext-dcat's profiles describe it, once per
    catalog version (building it costs the profiles a search)."""
    serializer = RDFSerializer(profiles=tk.aslist(tk.config.get("ckanext.dcat.rdf.profiles")))
    ref = serializer.graph_from_catalog({})
    return serializer.g, ref


def _head(
    fmt: str, refs: list[str], total: int, limit: int, current: str, next_url: str | None, version: str, modified: str
) -> Graph:
    """The catalog node, its datasets on this page, the paging."""
    node, catalog_ref = _catalog_node(version, fragments.config_key())
    g = Graph()
    for prefix, namespace in rdfwriter.NAMESPACES.items():
        g.bind(prefix, namespace)
    for triple in node:
        g.add(triple)
    # dct:modified of what the public sees (the stock value counts private datasets)
    g.remove((catalog_ref, DCTERMS.modified, None))
    g.add((catalog_ref, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime)))
    for ref in refs:
        g.add((catalog_ref, DCAT.dataset, URIRef(ref)))
    page = URIRef(current)
    g.add((page, RDF.type, HYDRA.PagedCollection))
    g.add((page, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    g.add((page, HYDRA.itemsPerPage, Literal(limit, datatype=XSD.integer)))
    g.add((page, HYDRA.first, URIRef(_page_url(fmt, None, limit))))
    g.add((page, HYDRA.firstPage, URIRef(_page_url(fmt, None, limit))))
    if next_url:
        # hydra:next, and the deprecated hydra:nextPage older harvesters follow
        g.add((page, HYDRA.next, URIRef(next_url)))
        g.add((page, HYDRA.nextPage, URIRef(next_url)))
    return g


def _document(fmt: str, head: Graph, parts: list[str]) -> Iterable[str]:
    if fmt == "ttl":
        yield head.serialize(format="turtle")
        yield from parts
    elif fmt == "rdf":
        yield from rdfwriter.rdfxml_document([rdfwriter.rdfxml(head, "c"), *parts])
    else:
        yield from rdfwriter.jsonld_document([rdfwriter.jsonld(head, "c"), *parts])


def _not_modified(etag: str, last_modified) -> bool:
    if request.if_none_match:
        return request.if_none_match.contains(etag.strip('"'))
    ims = request.if_modified_since
    return ims is not None and math.floor(last_modified.timestamp()) <= ims.timestamp()


def catalog(_format: str) -> Response:
    fmt = ALIASES.get(_format)
    if fmt is None:
        return error_response(None, 404, tk._("Unknown catalog format: {fmt}").format(fmt=_format))
    token = request.args.get("after")
    try:
        after = Cursor.decode(token) if token else None
        limit = _page_size()
    except CursorError:
        return error_response(
            fmt, 400, tk._("The paging token (after) is invalid: follow the hydra:next links of the catalog.")
        )
    except BadRequest as e:
        return error_response(fmt, 400, str(e))

    when, version = changes.last_change()
    page = _search(after.fq() if after else "", limit)
    datasets = page["results"]
    total = _search("", 0)["count"] if after else page["count"]
    more = page["count"] > len(datasets) and bool(datasets)
    # The ETag names exactly what the page holds (which datasets, in which
    # version, how many in all), so any change that alters the page - an edit,
    # a dataset leaving public view through a workflow transition, a deletion -
    # alters the ETag, whatever path the change took.
    identity = [fmt, token or "", str(limit), str(total), str(more), fragments.config_key()]
    identity += [f"{d['id']}@{d['metadata_modified']}" for d in datasets]
    etag = '"' + hashlib.sha1("|".join(identity).encode()).hexdigest() + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Cache-Control": "public, max-age=60, must-revalidate",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(etag, when):
        return Response(status=304, headers=headers)
    body = render_page(
        fmt,
        datasets,
        total=total,
        limit=limit,
        after=after,
        more=more,
        version=version,
        modified=when.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    return Response(body, headers=headers, content_type=CONTENT_TYPES[fmt])


def render_page(
    fmt: str,
    datasets: list[dict[str, Any]],
    *,
    total: int,
    limit: int,
    after: Cursor | None,
    more: bool,
    version: str,
    modified: str,
) -> str:
    """One catalog page as a document: the endpoint's whole serialisation path."""
    next_url = _page_url(fmt, Cursor.of(datasets[-1]), limit) if more else None
    parts, refs = fragments.fragments_for(datasets, fmt)
    head = _head(fmt, refs, total, limit, _page_url(fmt, after, limit), next_url, version, modified)
    return "".join(_document(fmt, head, parts))


def dataset(_id: str, _format: str) -> Response:
    if _format not in ALIASES:
        return error_response(None, 404, tk._("Unknown catalog format: {fmt}").format(fmt=_format))
    try:
        return compat.dcat_read_dataset_page(_id, _format)
    except HTTPException as err:
        # ckanext-dcat aborts with CKAN's HTML error page; an RDF client gets the error in its format,
        # and a dataset it may not see is as unknown as one that does not exist (404, not 403)
        code = err.code or 500
        if code >= 500:
            raise
        if code in (403, 404):
            return error_response(ALIASES[_format], 404, tk._("Dataset not found"))
        return error_response(ALIASES[_format], code, str(err.description or HTTP_STATUS_CODES.get(code, "")))


catalog_bp.add_url_rule("/catalog.<_format>", view_func=catalog, endpoint="catalog")
catalog_bp.add_url_rule("/dataset/<_id>.<_format>", view_func=dataset, endpoint="dataset")

__all__ = ["catalog_bp"]
