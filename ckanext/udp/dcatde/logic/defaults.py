"""Defaults for DCAT-AP.de fields from the organization and the config.

Applied to the dict before validation by the chained ``package_create`` and
``package_update`` actions, so forms, the Action API and harvesters all get
them: a dataset created with only a title and an organization is valid
DCAT-AP.de (publisher, contributor ID, political geocoding, language,
licence).
"""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.dcatde import districts, terms


def _blank(value: Any) -> bool:
    if value in (None, "", [], {}):
        return True
    if isinstance(value, str) and value.strip() in ("[]", "{}"):
        return True
    if isinstance(value, list):
        return all(isinstance(v, dict) and not any(v.values()) for v in value)
    return False


def publisher_from_organization(org_id: str) -> dict[str, str] | None:
    try:
        org = tk.get_action("organization_show")(
            {"ignore_auth": True},
            {
                "id": org_id,
                "include_datasets": False,
                "include_users": False,
                "include_groups": False,
                "include_extras": True,
                "include_followers": False,
            },
        )
    except tk.ObjectNotFound:
        return None
    publisher = {
        "name": org.get("title") or org["name"],
        "type": tk.config.get("ckanext.udp.dcatde.publisher_type"),
        "url": org.get("url") or tk.config.get("ckanext.udp.dcatde.publisher_homepage"),
    }
    uri_base = tk.config.get("ckan.site_url", "").rstrip("/")
    if uri_base:
        publisher["uri"] = f"{uri_base}/organization/{org['name']}"
    return publisher


def apply(data_dict: dict[str, Any]) -> dict[str, Any]:
    """Fill empty DCAT-AP.de fields in place; returns the dict."""
    config = tk.config
    _drop_empty_rows(data_dict)
    if _blank(data_dict.get("publisher")) and data_dict.get("owner_org"):
        publisher = publisher_from_organization(data_dict["owner_org"])
        if publisher:
            data_dict["publisher"] = [publisher]
    if _blank(data_dict.get("contributor_id")):
        contributor = config.get("ckanext.udp.dcatde.contributor_id")
        if contributor:
            data_dict["contributor_id"] = contributor
    if _blank(data_dict.get("political_geocoding_uri")):
        geocoding = config.get("ckanext.udp.dcatde.political_geocoding_uri")
        if geocoding:
            data_dict["political_geocoding_uri"] = [geocoding]
            if _blank(data_dict.get("political_geocoding_level_uri")):
                data_dict["political_geocoding_level_uri"] = config.get(
                    "ckanext.udp.dcatde.political_geocoding_level_uri"
                )
    if _blank(data_dict.get("language")):
        data_dict["language"] = [terms.LANGUAGE_GERMAN]
    if _blank(data_dict.get("license_id")):
        default_license = config.get("ckanext.udp.dcatde.default_license")
        if default_license:
            data_dict["license_id"] = default_license
    _hvd_legislation(data_dict)
    _district_coverage(data_dict)
    for resource in data_dict.get("resources") or []:
        if not isinstance(resource, dict):
            continue
        # K39: a file only published for download has its URL as access URL too
        if not resource.get("access_url") and resource.get("download_url"):
            resource["access_url"] = resource["download_url"]
    return data_dict


def _hvd_legislation(data_dict: dict[str, Any]) -> None:
    """A High-Value Dataset names the HVD implementing regulation as
    applicable legislation (required by the DCAT-AP HVD shapes)."""
    hvd = data_dict.get("hvd_category")
    if _blank(hvd):
        return
    legislation = data_dict.get("applicable_legislation") or []
    if isinstance(legislation, str):
        try:
            legislation = json.loads(legislation) if legislation.strip().startswith("[") else [legislation]
        except ValueError:
            return  # the validator reports the broken value
    if terms.HVD_REGULATION not in legislation:
        data_dict["applicable_legislation"] = list(legislation) + [terms.HVD_REGULATION]


# the schema's repeating fields (a form posts one empty row of each)
REPEATING = ("contact", "publisher", "dcatde_maintainer", "dcatde_originator", "temporal_coverage")


def _drop_empty_rows(data_dict: dict[str, Any]) -> None:
    """Rows of repeating fields with no value at all are no data: a form left
    empty must not store an empty contact (shown as an empty mail link)."""
    for field in REPEATING:
        rows = _form_rows(data_dict, field)
        if isinstance(rows, list):
            data_dict[field] = [
                r for r in rows if not isinstance(r, dict) or any(v not in (None, "", [], {}) for v in r.values())
            ]


def _form_rows(data_dict: dict[str, Any], field: str) -> Any:
    """A repeating field as a list of dicts, also when it comes from the form
    as ``field-0-sub`` keys (which scheming would expand only later)."""
    prefix = field + "-"
    keys = [k for k in list(data_dict) if isinstance(k, str) and k.startswith(prefix) and k.count("-") >= 2]
    if field in data_dict or not keys:
        return data_dict.get(field)
    rows: dict[str, dict[str, Any]] = {}
    for key in keys:
        _, index, sub = key.split("-", 2)
        rows.setdefault(index, {})[sub] = data_dict.pop(key)
    return [rows[i] for i in sorted(rows, key=lambda i: int(i) if i.isdigit() else 0)]


def _district_coverage(data_dict: dict[str, Any]) -> None:
    """The chosen city districts become one ``spatial_coverage`` entry
    (``source: stadtteile``), recomputed on every save; other areas (drawn on
    the map, harvested) are kept. Empty rows of the form are dropped."""
    coverage = _form_rows(data_dict, "spatial_coverage")
    if isinstance(coverage, str):
        try:
            coverage = json.loads(coverage) if coverage.strip() else []
        except ValueError:
            return  # the validator reports the broken value
    if coverage is None and "stadtteile" not in data_dict:
        return
    if not isinstance(coverage, list):
        coverage = [] if coverage is None else [coverage]
    kept = [
        a
        for a in coverage
        if not isinstance(a, dict)
        or (a.get("source") != districts.SOURCE and any(v for k, v in a.items() if k != "source"))
    ]
    raw = data_dict.get("stadtteile")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip().startswith("[") else [raw]
        except ValueError:
            raw = []
    numbers = [
        n for n in (districts.normalise(v) for v in (raw or []) if not isinstance(v, (dict, list))) if n is not None
    ]
    entry = districts.coverage(sorted(set(numbers)))
    data_dict["spatial_coverage"] = ([entry] if entry else []) + kept
