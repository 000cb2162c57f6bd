"""Another CKAN's datasets (its Action API) into the portal's DCAT-AP.de schema.

Reads ``package_search`` in pages (ordered by creation, so datasets added
while it reads come last); if the remote count changes while reading, the
gather is incomplete (a dataset could have been skipped) and nothing is
archived. Maps GovData-style extras into fields: ``contributorID`` (a JSON
list in a string), ``politicalGeocodingURI`` / ``...LevelURI``,
``geocodingText``, free-text access rights, INSPIRE frequency URIs, ``theme``,
``spatial`` (GeoJSON), ``temporal_start``/``temporal_end``, publisher and
contact extras, ``licenseAttributionByText`` on resources. Remote extras
named like a field of the portal's schema become that field or are dropped
(stock CKAN harvesters pass them on and the schema rejects the dataset);
ckanext-harvest's own bookkeeping extras (``harvest_*``) and ``udp_*`` keys are
dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import ckan.plugins.toolkit as tk

from ckanext.udp import fetch
from ckanext.udp.dcatde import terms, vocab
from ckanext.udp.harvest import crosswalk, geo
from ckanext.udp.harvest.base import GatherIncomplete, Record, _

ROWS = 100
DEFAULT_MAX_DATASETS = 50000
_HTTP = re.compile(r"^https?://\S+$")
_EMAIL = terms.EMAIL
_TAG_BAD = re.compile(r"[^\w \-.]", re.UNICODE)
# extras mapped below (never passed on as extras)
_MAPPED = {
    "contributorID",
    "contributor_id",
    "politicalGeocodingURI",
    "political_geocoding_uri",
    "politicalGeocodingLevelURI",
    "political_geocoding_level_uri",
    "geocodingText",
    "geocodingDescription",
    "geocoding_description",
    "access_rights",
    "accessRights",
    "frequency",
    "theme",
    "language",
    "spatial",
    "spatial_uri",
    "spatial_text",
    "temporal_start",
    "temporal_end",
    "issued",
    "modified",
    "identifier",
    "publisher_name",
    "publisher_email",
    "publisher_url",
    "publisher_uri",
    "publisher_type",
    "contact_name",
    "contact_email",
    "contact_uri",
    "contact_url",
    "documentation",
    "conforms_to",
    "conformsTo",
    "licenseAttributionByText",
    "license_attribution_by_text",
    "version_notes",
    "uri",
    "guid",
    "maintainer_url",
    "author_url",
    "hvd_category",
    "applicable_legislation",
}


def _json(res: fetch.Response) -> Any:
    try:
        return json.loads(res.content)
    except (ValueError, RecursionError) as err:
        raise GatherIncomplete(_("{url}: the answer is not JSON ({error})").format(url=res.url, error=err)) from None


def action_url(base: str, action: str, params: dict[str, Any]) -> str:
    return f"{base.rstrip('/')}/api/3/action/{action}?{urlencode(params)}"


def search_page(fetcher: fetch.Fetcher, base: str, start: int, fq: str, rows: int = ROWS) -> tuple[int, list[dict]]:
    url = action_url(
        base,
        "package_search",
        {"q": "*:*", "fq": fq, "rows": rows, "start": start, "sort": "metadata_created asc, id asc"},
    )
    doc = _json(fetcher.get(url, headers={"Accept": "application/json"}))
    result = doc.get("result") if isinstance(doc, dict) and doc.get("success") else None
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        raise GatherIncomplete(_("{url}: not a CKAN package_search answer").format(url=url))
    count = result.get("count")
    if not isinstance(count, int):
        raise GatherIncomplete(_("{url}: not a CKAN package_search answer").format(url=url))
    return count, [p for p in result["results"] if isinstance(p, dict)]


def remote_datasets(base: str, config: dict[str, Any], fetcher: fetch.Fetcher) -> Iterator[dict[str, Any]]:
    """Every public dataset of the remote CKAN (matching the source's ``fq``)."""
    fq = str(config.get("fq") or "")
    limit = int(config.get("max_datasets", DEFAULT_MAX_DATASETS))
    rows = min(int(config.get("page_size", ROWS)), 1000)  # CKAN answers at most 1000 (search.rows_max)
    start, seen = 0, set()
    count_before: int | None = None
    while True:
        count, results = search_page(fetcher, base, start, fq, rows)
        if count_before is None:
            count_before = count
            if count > limit:
                raise GatherIncomplete(
                    _("the source lists {count} datasets, more than max_datasets ({limit})").format(
                        count=count, limit=limit
                    )
                )
        for pkg in results:
            if pkg.get("id") and pkg["id"] not in seen:
                seen.add(pkg["id"])
                yield pkg
        start += len(results)
        if not results or start >= count:
            break
    if count != count_before or len(seen) != count:
        raise GatherIncomplete(
            _(
                "the remote catalog changed while it was read ({before} datasets, then {after}); "
                "read again on the next run"
            ).format(before=count_before, after=count)
        )


def _agent(name: Any, email: Any = None, url: Any = None, uri: Any = None, kind: Any = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if name and str(name).strip():
        out["name"] = str(name).strip()[:300]
    mail = str(email or "").strip()
    if mail.lower().startswith("mailto:"):
        mail = mail[7:]
    if _EMAIL.match(mail):
        out["email"] = mail
    for key, value in (("url", url), ("uri", uri)):
        if value and _HTTP.match(str(value).strip()):
            out[key] = str(value).strip()
    if kind:
        normalised = vocab.normalise("publisher-type", str(kind))
        if normalised:
            out["type"] = normalised
    return out


def _urls(value: Any) -> list[str]:
    return [terms.canonical_dcatapde_uri(u) for u in crosswalk.json_list(value) if _HTTP.match(u)]


def _date(value: Any) -> str | None:
    text = str(value or "").strip()
    return text if re.match(r"^\d{4}(-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?)?$", text) else None


def _vocab_list(name: str, value: Any) -> list[str]:
    out: list[str] = []
    for item in crosswalk.json_list(value):
        uri = vocab.normalise(name, item)
        if uri and uri not in out:
            out.append(uri)
    return out


def _resource(res: dict[str, Any]) -> dict[str, Any] | None:
    url = str(res.get("url") or "").strip()
    if not _HTTP.match(url):
        return None
    out: dict[str, Any] = {
        "url": url,
        "name": str(res.get("name") or "")[:300],
        "description": str(res.get("description") or ""),
    }
    fmt = vocab.normalise("file-type", str(res.get("format") or "")) if res.get("format") else None
    if fmt:
        out["format"] = fmt
    mimetype = terms.media_type_from_uri(str(res.get("mimetype") or "")).lower()
    if re.fullmatch(r"[a-z0-9][\w!#$&^.+-]*/[a-z0-9][\w!#$&^.+-]*", mimetype):
        out["mimetype"] = mimetype
    if isinstance(res.get("size"), int) and res["size"] >= 0:
        out["size"] = res["size"]
    licence = res.get("license") or res.get("license_id")
    if licence and vocab.normalise("license", str(licence)):
        out["license"] = vocab.normalise("license", str(licence))
    attribution = res.get("licenseAttributionByText") or res.get("license_attribution_by_text")
    if attribution:
        out["license_attribution_by_text"] = str(attribution)[:500]
    for key, source in (("issued", "issued"), ("modified", "modified")):
        if _date(res.get(source)):
            out[key] = _date(res.get(source))
    for key in ("access_url", "download_url"):
        if res.get(key) and _HTTP.match(str(res[key])):
            out[key] = str(res[key])
    if res.get("hash"):
        out["hash"] = str(res["hash"])[:200]
    return out


def map_package(pkg: dict[str, Any], base: str, schema_fields: set[str], own_contributor: str | None = None) -> Record:
    """One remote dataset as a record (guid: its id on the remote CKAN)."""
    guid = f"{base.rstrip('/')}/dataset/{pkg['id']}"
    extras = {str(e.get("key")): e.get("value") for e in pkg.get("extras") or [] if isinstance(e, dict)}
    title = str(pkg.get("title") or pkg.get("name") or "").strip()
    d: dict[str, Any] = {"title": title[:500], "notes": str(pkg.get("notes") or "").strip() or title}
    tags = []
    for tag in pkg.get("tags") or []:
        name = " ".join(_TAG_BAD.sub(" ", str(tag.get("name") if isinstance(tag, dict) else tag)).split())[:100]
        if len(name) >= 2 and {"name": name} not in tags:
            tags.append({"name": name})
    d["tags"] = tags
    if pkg.get("url") and _HTTP.match(str(pkg["url"]).strip()):
        d["url"] = str(pkg["url"]).strip()
    if pkg.get("version"):
        d["version"] = str(pkg["version"])[:100]
    licence = vocab.normalise("license", str(pkg.get("license_id") or "")) or vocab.normalise(
        "license", str(pkg.get("license_url") or "")
    )
    if licence:
        d["license_id"] = licence
    contributors = [
        terms.canonical_dcatapde_uri(c)
        for c in crosswalk.json_list(extras.get("contributorID") or extras.get("contributor_id"))
    ]
    contributors = [c for c in contributors if c.startswith(terms.CONTRIBUTORS) and c != terms.CONTRIBUTORS]
    if contributors:
        d["contributor_id"] = own_contributor if own_contributor in contributors else contributors[0]
    geocoding = [
        terms.canonical_dcatapde_uri(u)
        for u in crosswalk.json_list(extras.get("politicalGeocodingURI") or extras.get("political_geocoding_uri"))
    ]
    geocoding = [
        u
        for u in dict.fromkeys(geocoding)
        if u.startswith(terms.GEOCODING) and not u.startswith(terms.GEOCODING + "Level/")
    ]
    if geocoding:
        d["political_geocoding_uri"] = geocoding
    level = vocab.normalise(
        "political-geocoding-level",
        str(extras.get("politicalGeocodingLevelURI") or extras.get("political_geocoding_level_uri") or ""),
    )
    if level:
        d["political_geocoding_level_uri"] = level
    description = (
        extras.get("geocodingText") or extras.get("geocodingDescription") or extras.get("geocoding_description")
    )
    if description:
        d["geocoding_description"] = str(description)[:1000]
    freq = crosswalk.frequency(extras.get("frequency"))
    if freq:
        d["frequency"] = freq
    access = crosswalk.access_rights(extras.get("access_rights") or extras.get("accessRights"))
    if access:
        d["access_rights"] = access
    for key, name in (("theme", "data-theme"), ("language", "language"), ("hvd_category", "hvd-category")):
        values = _vocab_list(name, extras.get(key))
        if values:
            d[key] = values
    for key, source in (("documentation", "documentation"), ("conforms_to", "conforms_to")):
        urls = _urls(extras.get(source) or (extras.get("conformsTo") if key == "conforms_to" else None))
        if urls:
            d[key] = urls
    for key in ("issued", "modified"):
        if _date(extras.get(key)):
            d[key] = _date(extras.get(key))
    if extras.get("identifier"):
        d["identifier"] = " ".join(str(extras["identifier"]).split())[:500]
    start, end = _date(extras.get("temporal_start")), _date(extras.get("temporal_end"))
    if start or end:
        d["temporal_coverage"] = [{k: v for k, v in (("start", start), ("end", end)) if v}]
    areas = []
    if extras.get("spatial"):
        area = geo.area_from_geojson(extras["spatial"], str(extras.get("spatial_text") or ""))
        if area:
            areas.append(area)
    if extras.get("spatial_uri") and _HTTP.match(str(extras["spatial_uri"])):
        uri = terms.canonical_dcatapde_uri(str(extras["spatial_uri"]))
        if not uri.startswith(terms.GEOCODING):
            areas.append({"uri": uri})
        elif uri not in d.setdefault("political_geocoding_uri", []):
            d["political_geocoding_uri"].append(uri)
    if areas:
        d["spatial_coverage"] = areas
    org: dict[str, Any] = pkg["organization"] if isinstance(pkg.get("organization"), dict) else {}
    publisher = _agent(
        extras.get("publisher_name") or org.get("title"),
        extras.get("publisher_email"),
        extras.get("publisher_url"),
        extras.get("publisher_uri"),
        extras.get("publisher_type"),
    )
    if publisher.get("name"):
        d["publisher"] = [publisher]
    contact = _agent(
        extras.get("contact_name") or pkg.get("maintainer") or pkg.get("author"),
        extras.get("contact_email") or pkg.get("maintainer_email") or pkg.get("author_email"),
        extras.get("contact_url"),
        extras.get("contact_uri"),
    )
    if contact.get("email") or contact.get("url"):
        d["contact"] = [contact]
    for key, name, email, url in (
        ("dcatde_maintainer", "maintainer", "maintainer_email", "maintainer_url"),
        ("dcatde_originator", "author", "author_email", "author_url"),
    ):
        agent = _agent(pkg.get(name), pkg.get(email), extras.get(url))
        if agent.get("name"):
            d[key] = [agent]
    resources = [r for r in (_resource(r) for r in pkg.get("resources") or [] if isinstance(r, dict)) if r]
    d["resources"] = resources
    attribution = extras.get("licenseAttributionByText") or extras.get("license_attribution_by_text")
    texts = {r["license_attribution_by_text"] for r in resources if r.get("license_attribution_by_text")}
    if attribution:
        d["license_attribution_by_text"] = str(attribution)[:500]
    elif len(texts) == 1:
        d["license_attribution_by_text"] = texts.pop()
    elif licence and vocab.requires_attribution(licence) and publisher.get("name"):
        # K35: the party the licence wants named (as udp_dcatde's RDF profile does)
        d["license_attribution_by_text"] = publisher["name"]
    for res in resources:
        if res.get("license_attribution_by_text") == d.get("license_attribution_by_text"):
            res.pop("license_attribution_by_text")
    kept = []
    for key, value in extras.items():
        if key in _MAPPED or key in schema_fields or key.startswith(("harvest_", "udp_", "ckan_")):
            continue
        if re.fullmatch(r"[A-Za-z][\w.-]{0,99}", key) and isinstance(value, str):
            kept.append({"key": key, "value": value[:5000]})
    if kept:
        d["extras"] = kept
    return Record(
        guid=guid,
        dataset=d,
        label=title,
        payload={"original_url": f"{base.rstrip('/')}/dataset/{pkg.get('name') or pkg['id']}", "name": pkg.get("name")},
    )


def schema_field_names() -> set[str]:
    """The dataset fields of the portal's schema (a remote extra of that name
    would be rejected as an extra)."""
    try:
        schema = tk.get_action("scheming_dataset_schema_show")({"ignore_auth": True}, {"type": "dataset"})
    except (KeyError, tk.ObjectNotFound):
        return set()
    return {f["field_name"] for f in schema.get("dataset_fields", [])}
