"""What a hub dataset looks like on the transparency portal.

The portal runs a stock CKAN with its plain schema: the core fields travel as
they are, every further public field of the hub (DCAT-AP.de: contact,
publisher, political geocoding, temporal coverage ...) goes into an extra,
JSON-encoded where it is not a string. Resources become links to the hub's
stable download URLs (no copies). Licence, licence title and attribution
always travel; the copy names and links its source."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import ckan.plugins.toolkit as tk

SOURCE_NAME = "Urbane Datenplattform Karlsruhe"
SOURCE_URI_KEY = "udp_source_uri"
CORE = ("title", "notes", "author", "author_email", "maintainer", "maintainer_email", "version", "license_id")
# fields of a hub dataset that are bookkeeping, not metadata, or CKAN-computed
NOT_METADATA = frozenset(
    (
        "id",
        "name",
        "title",
        "notes",
        "url",
        "owner_org",
        "organization",
        "groups",
        "resources",
        "tags",
        "extras",
        "state",
        "private",
        "type",
        "metadata_created",
        "metadata_modified",
        "creator_user_id",
        "num_resources",
        "num_tags",
        "relationships_as_object",
        "relationships_as_subject",
        "license_title",
        "license_url",
        "isopen",
        "tag_string",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
        "version",
        "license_id",
        "tracking_summary",
    )
)
RESOURCE_FIELDS = (
    "name",
    "description",
    "format",
    "mimetype",
    "size",
    "license",
    "license_attribution_by_text",
    "language",
    "issued",
    "modified",
)


# the stock CKAN tag rule (ckan.logic.validators.tag_name_validator and
# tag_length_validator): word characters, space, "-", "_" and "."; 2 to 100 long
TAG_MIN, TAG_MAX = 2, 100
_TAG_OTHER = re.compile(r"[^\w \-.]+", re.UNICODE)


def portal_tag(name: str) -> str | None:
    """The hub tag as the portal's stock validator accepts it: other characters
    become a space, runs of spaces one, at most 100 characters; None when less
    than 2 are left (the tag is dropped)."""
    tag = " ".join(_TAG_OTHER.sub(" ", name).split())[:TAG_MAX].strip()
    return tag if len(tag) >= TAG_MIN else None


def portal_tags(pkg: dict[str, Any]) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The tags that travel, and (hub tag, what travels instead or None) for
    each one the portal would refuse as it is."""
    tags: list[str] = []
    changed: list[tuple[str, str | None]] = []
    for item in pkg.get("tags") or []:
        name = item.get("name") or ""
        tag = portal_tag(name)
        if tag != name:
            changed.append((name, tag))
        if tag is not None and tag not in tags:
            tags.append(tag)
    return sorted(tags), changed


def site_url() -> str:
    return (tk.config.get("ckan.site_url") or "").rstrip("/")


def hub_page(pkg: dict[str, Any]) -> str:
    return f"{site_url()}/dataset/{pkg['name']}"


def hub_uri(pkg: dict[str, Any]) -> str:
    """The dataset's stable identity: its DCAT URI if it has one, else its
    id-based URL on the hub (as ckanext-dcat mints it)."""
    return pkg.get("uri") or f"{site_url()}/dataset/{pkg['id']}"


def _withheld() -> set[str]:
    return set(tk.aslist(tk.config.get("ckanext.udp.transparency.withheld_fields")))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def to_portal(pkg: dict[str, Any]) -> dict[str, Any]:
    withheld = _withheld()
    extras: dict[str, str] = {}
    for item in pkg.get("extras") or []:
        if item.get("key") and item["key"] not in withheld and not item["key"].startswith("udp_"):
            extras[item["key"]] = _text(item.get("value"))
    for key, value in pkg.items():
        if key in NOT_METADATA or key in withheld or key.startswith("udp_") or value in (None, "", [], {}):
            continue
        extras[key] = _text(value)
    if pkg.get("license_title"):
        extras["license_title"] = pkg["license_title"]
    if pkg.get("license_url"):
        extras["license_url"] = pkg["license_url"]
    extras[SOURCE_URI_KEY] = hub_uri(pkg)
    extras["udp_source_name"] = SOURCE_NAME
    extras["udp_source_url"] = hub_page(pkg)
    notes = (pkg.get("notes") or "").rstrip()
    source_line = f"Quelle: {SOURCE_NAME} ({hub_page(pkg)})"
    data: dict[str, Any] = {key: pkg.get(key) or "" for key in CORE}
    data.update(
        id=pkg["id"],
        name=pkg["name"],
        private=False,
        notes=f"{notes}\n\n{source_line}" if notes else source_line,
        url=hub_page(pkg),
        owner_org=(pkg.get("organization") or {}).get("name") or "",
        tags=[{"name": t} for t in portal_tags(pkg)[0]],
        extras=[{"key": k, "value": extras[k]} for k in sorted(extras)],
        resources=[_resource(pkg, res) for res in pkg.get("resources") or []],
    )
    return data


def _resource(pkg: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    out = {key: res[key] for key in RESOURCE_FIELDS if res.get(key) not in (None, "")}
    out["id"] = res["id"]  # the same resource id on both sides: its page on the portal keeps its address
    out["url"] = f"{site_url()}/dataset/{pkg['id']}/resource/{res['id']}/download"
    out.setdefault("name", res.get("name") or res["id"])
    return out


def project(data: dict[str, Any]) -> dict[str, Any]:
    """The fields the drift report compares, the same for what was pushed and
    what the portal shows now (the portal adds ids, dates and computed fields)."""
    out: dict[str, Any] = {key: data.get(key) or "" for key in (*CORE, "name", "notes", "url")}
    org = data.get("organization")
    out["owner_org"] = org.get("name") if isinstance(org, dict) else data.get("owner_org") or ""
    out["tags"] = sorted(t["name"] for t in data.get("tags") or [])
    for item in data.get("extras") or []:
        out[f"extras.{item['key']}"] = item.get("value")
    for i, res in enumerate(data.get("resources") or []):
        for key in ("name", "url", "format", "description"):
            out[f"resources[{i}].{key}"] = res.get(key) or ""
    return out


def digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(project(data), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def differences(pushed: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, pushed value, value on the portal now) for each field that differs."""
    a, b = project(pushed), project(current)
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
