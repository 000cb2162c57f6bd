"""What the public dataset page shows, prepared for its template: one
download per distribution (format label, size, last update), the licence
with the text to copy for attribution, the contact points, the update
frequency, names instead of raw URIs, the RDF links of the dataset."""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
from werkzeug.routing import BuildError

from ckanext.udp import dates
from ckanext.udp.dcatde import vocab
from ckanext.udp.dcatde.logic import index

#: the RDF serialisations ckanext-dcat offers per dataset (format, label)
RDF_FORMATS = (("ttl", "Turtle"), ("rdf", "RDF/XML"), ("jsonld", "JSON-LD"))
#: dcatde:politicalGeocodingURI regional keys the portal names (key -> name)
REGIONAL_KEYS = {"082120000000": "Stadt Karlsruhe", "08212": "Stadt Karlsruhe", "08": "Baden-Württemberg"}


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            return []
    return [row for row in value or [] if isinstance(row, dict)]


def file_size(value: Any) -> str:
    """A size in bytes as people read it, German style ("1,2 MB"); "" if unknown."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return ""
    if size < 0:
        return ""
    if size < 1000:
        return tk._("{n} bytes").format(n=size)
    for unit in ("kB", "MB", "GB", "TB"):
        size_f = size / 1000.0
        if size_f < 1000 or unit == "TB":
            return f"{size_f:.1f} {unit}".replace(".", ",")
        size = int(size_f)
    return ""  # pragma: no cover


def downloads(pkg: dict[str, Any]) -> list[dict[str, str]]:
    """One entry per distribution: name, format label, size, last update,
    the download address and the distribution's own page."""
    out = []
    for res in pkg.get("resources") or []:
        url = res.get("download_url") or res.get("url") or ""
        if not url:
            continue
        if res.get("url_type") == "upload":
            # a file held by the portal: its download address on the host the visitor uses (the
            # absolute address in the search index carries the site URL of whoever indexed it)
            url = tk.url_for(
                "resource.download",
                id=pkg["name"],
                resource_id=res["id"],
                filename=url.rstrip("/").rsplit("/", 1)[-1],
            )
        changed = res.get("last_modified") or res.get("metadata_modified") or res.get("created")
        out.append(
            {
                "id": res["id"],
                "name": res.get("name") or tk._("Data"),
                "format": index.format_label(res.get("format")) or tk._("File"),
                "size": file_size(res.get("size") or res.get("byte_size")),
                "updated": dates.display_datetime(changed) if changed else "",
                "url": url,
                "page": tk.url_for("resource.read", id=pkg["name"], resource_id=res["id"]),
                "description": res.get("description") or "",
            }
        )
    return out


def licence(pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's licence: German name, link, whether attribution is
    required and the attribution text to copy."""
    uri = pkg.get("license_id")
    if not uri:
        return None
    title = pkg.get("license_title") or vocab.label("license", uri) or uri
    url = pkg.get("license_url") or ""
    by = (pkg.get("license_attribution_by_text") or "").strip()
    required = vocab.requires_attribution(uri)
    if not by and required:
        by = ((pkg.get("organization") or {}).get("title") or "").strip()
    text = ""
    if by:
        text = tk._("Source: {by}, {licence} ({url})").format(by=by, licence=title, url=url or uri)
    return {"title": title, "url": url, "uri": uri, "required": required, "attribution": text}


def contacts(pkg: dict[str, Any]) -> list[dict[str, str]]:
    """Contact points with at least a name, an e-mail address or a web page."""
    out = []
    for row in _rows(pkg.get("contact")):
        entry = {k: str(row.get(k) or "").strip() for k in ("name", "email", "url")}
        if any(entry.values()):
            out.append(entry)
    return out


def update_info(pkg: dict[str, Any]) -> dict[str, str]:
    """The update frequency (German) and the last update of the data."""
    frequency = pkg.get("frequency") or ""
    changed = pkg.get("modified") or pkg.get("metadata_modified")
    return {
        "frequency": (vocab.label("frequency", frequency) or "") if frequency else "",
        "updated": dates.display_datetime(changed) if changed else "",
    }


def themes(pkg: dict[str, Any]) -> list[dict[str, str]]:
    """The dataset's themes: German label, icon, search link."""
    value = pkg.get("theme")
    if isinstance(value, str):
        value = index._list(value)
    out = []
    for uri in value or []:
        label = vocab.label("data-theme", uri)
        if label:
            out.append({"uri": uri, "label": label, "search": tk.url_for("dataset.search", vocab_theme=uri)})
    return out


def geocoding_name(uri: Any) -> str:
    """A dcatde:politicalGeocodingURI as a name ("Stadt Karlsruhe"); the
    code from the URI's last segment for keys the portal does not name."""
    text = str(uri or "").strip().rstrip("/")
    key = text.rsplit("/", 1)[-1]
    if key in REGIONAL_KEYS:
        return REGIONAL_KEYS[key]
    return tk._("Regional key {key}").format(key=key) if key.isdigit() else key


def contributor_name(uri: Any) -> str:
    """A GovData contributor ID as a readable name: its last segment with
    the words apart ("stadtKarlsruhe" -> "Stadt Karlsruhe")."""
    import re

    key = str(uri or "").strip().rstrip("/").rsplit("/", 1)[-1]
    words = re.sub(r"(?<=[a-zäöüß])(?=[A-ZÄÖÜ])", " ", key).replace("-", " ").replace("_", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words)


def rdf_links(pkg: dict[str, Any]) -> list[dict[str, str]]:
    """The dataset in DCAT-AP.de as RDF: the endpoint of ``udp_catalog`` if it
    runs, else ckanext-dcat's; none if neither serves datasets."""
    out = []
    for endpoint in ("udp_catalog.dataset", "dcat.read_dataset"):
        try:
            for fmt, label in RDF_FORMATS:
                out.append({"label": label, "url": tk.url_for(endpoint, _id=pkg["name"], _format=fmt)})
        except BuildError:
            out = []
            continue
        return out
    return []
