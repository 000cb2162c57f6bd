"""Template helpers of ``udp_dcatde``: select lists from the vocabularies,
the sections and error summary of the dataset and resource forms, the city
districts and the form's map."""

from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp import dates
from ckanext.udp.dcatde import districts, geo, linkcheck, page, terms, vocab
from ckanext.udp.dcatde.logic import index

# the form's sections, in order; "main" is always open, the others are
# collapsed unless they hold an error; "portal" is shown to sysadmins only
SECTIONS = ("main", "space_time", "license", "agents", "more", "portal")
# fields whose input does not have the id field-<name>
ANCHORS = {"owner_org": "field-organizations", "url": "field-resource-url"}
# the data themes with an icon of their own (public/udp_dcatde/themes/<code>.svg)
THEME_ICONS = frozenset("agri econ educ ener envi gove heal intr just regi soci tech tran op_datpro".split())


def dcatde_vocab_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    """scheming ``choices_helper``: the vocabulary named in
    ``field['dcatde_vocabulary']`` with German labels."""
    return vocab.choices(field["dcatde_vocabulary"])


def dcatde_checksum_algorithm_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    return [{"value": terms.checksum_algorithm_uri(a), "label": a.upper()} for a in terms.CHECKSUM_ALGORITHMS]


def dcatde_vocab_label(name: str, uri: str) -> str:
    """German label of a vocabulary URI (the URI itself if unknown)."""
    return vocab.label(name, uri) or uri


def udp_format_code(value: Any) -> str:
    """The label of a file format ("CSV", "GeoJSON", "WMS" for the EU
    file-type URIs), as indexed in ``res_format``."""
    return index.format_label(value)


def udp_format_labels(resources: Any) -> list[str]:
    """The distinct format labels of a dataset's distributions, in order."""
    out: list[str] = []
    for res in resources or []:
        label = udp_format_code(res.get("format") if isinstance(res, dict) else "")
        if label and label not in out:
            out.append(label)
    return out


def search_facets() -> dict[str, Any]:
    """The dataset search's facets (Solr field: title), in order."""
    return {
        index.THEME_FIELD: tk._("Themes"),
        index.DISTRICT_FIELD: tk._("City districts"),
        "organization": tk._("Organizations"),
        "res_format": tk._("Formats"),
        "license_id": tk._("Licenses"),
        index.FREQUENCY_FIELD: tk._("Update frequency"),
    }


def udp_facet_label(name: str, item: dict[str, Any]) -> str:
    """A search facet value as people read it: file formats by their label
    (CSV), licences, themes and frequencies by their German label, a dataset
    about the whole city as such; else CKAN's name."""
    value = item.get("name") or ""
    if name == "res_format":
        return udp_format_code(value) or item.get("display_name") or value
    if name == index.DISTRICT_FIELD and value == index.CITYWIDE:
        return tk._("Whole city")
    vocabularies = {
        "license_id": "license",
        "theme": "data-theme",
        index.THEME_FIELD: "data-theme",
        index.FREQUENCY_FIELD: "frequency",
    }
    if name in vocabularies:
        return vocab.label(vocabularies[name], value) or item.get("display_name") or value
    return item.get("display_name") or value


def udp_theme_icon(uri: str) -> str:
    """The webassets-free path of a theme's icon (bundled SVG), by its code."""
    code = str(uri or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if code not in THEME_ICONS:
        code = "default"
    return f"/udp_dcatde/themes/{code}.svg"


def udp_dcatde_severity_label(severity: str) -> str:
    """German (translated) name of a SHACL severity."""
    labels = {"Violation": tk._("Violation"), "Warning": tk._("Warning"), "Info": tk._("Note")}
    return labels.get(severity, severity)


def _section_labels() -> dict[str, str]:
    return {
        "main": tk._("The essentials"),
        "space_time": tk._("Place and time"),
        "license": tk._("Licence"),
        "agents": tk._("Publisher and responsible offices"),
        "more": tk._("Further details"),
        "portal": tk._("Set by the portal (sysadmins only)"),
    }


def _has_error(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_error(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_error(v) for v in value)
    return bool(value)


def udp_form_sections(fields: list[dict[str, Any]], errors: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The schema's fields grouped by ``form_section``: [{id, label, fields,
    open, errors}], in the order of SECTIONS; empty sections left out."""
    errors = errors or {}
    labels = _section_labels()
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in SECTIONS}
    for field in fields:
        grouped.setdefault(field.get("form_section") or "more", []).append(field)
    out = []
    for key, members in grouped.items():
        if not members:
            continue
        count = sum(1 for f in members if _has_error(errors.get(f["field_name"])))
        out.append(
            {
                "id": key,
                "label": labels.get(key, key),
                "fields": members,
                "open": key == "main" or count > 0,
                "errors": count,
            }
        )
    return out


def udp_form_error_items(errors: dict[str, Any] | None, fields: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every error of a form as {anchor, label, message}, in the order of the
    fields, for the summary above the form (each links to its field)."""
    if not errors:
        return []
    items: list[dict[str, str]] = []
    done = set()
    lang = tk.h.scheming_language_text
    for field in fields:
        name = field["field_name"]
        value = errors.get(name)
        done.add(name)
        if not _has_error(value):
            continue
        label = lang(field.get("label")) or name
        if field.get("repeating_subfields") and isinstance(value, list):
            sub_labels = {sf["field_name"]: lang(sf.get("label")) for sf in field["repeating_subfields"]}
            for index, row in enumerate(value):
                for sub, messages in (row or {}).items():
                    if _has_error(messages):
                        items.append(
                            {
                                "anchor": f"field-{name}-{index}-{sub}",
                                "label": f"{label}: {sub_labels.get(sub, sub)}",
                                "message": _first(messages),
                            }
                        )
            continue
        anchor = ANCHORS.get(name, f"field-{name}")
        items.append({"anchor": anchor, "label": label, "message": _first(value)})
    for name, value in errors.items():
        if name not in done and _has_error(value):
            items.append({"anchor": "", "label": tk._(name), "message": _first(value)})
    return items


def udp_form_summary_items(error_summary: dict[str, Any] | None) -> list[dict[str, str]]:
    """Errors that belong to no field (CKAN's error_summary), for the summary."""
    return [
        {"anchor": "", "label": str(label), "message": _first(message)}
        for label, message in (error_summary or {}).items()
        if message
    ]


def _first(messages: Any) -> str:
    while isinstance(messages, (list, tuple)) and messages:
        messages = messages[0]
    if isinstance(messages, dict):
        return next((_first(v) for v in messages.values() if _has_error(v)), "")
    return str(messages or "")


def udp_has_value(value: Any) -> bool:
    """Whether a field has something to show: not empty, not a JSON text of
    an empty list, not rows whose every subfield is empty."""
    if value is None or value is tk.missing:
        return False
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            try:
                return udp_has_value(json.loads(text))
            except ValueError:
                return bool(text)
        return bool(text)
    if isinstance(value, dict):
        return any(udp_has_value(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(udp_has_value(v) for v in value)
    return True


def udp_form_values(value: Any) -> list[str]:
    """A list field's values, whether it comes as a list, a JSON list or a
    single string (as after a failed submit)."""
    if value in (None, "", [], tk.missing):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                loaded = json.loads(text)
            except ValueError:
                return [text]
            return [str(v) for v in loaded] if isinstance(loaded, list) else [str(loaded)]
        return [text]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def udp_form_rows(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A repeating field's rows, from a list, a JSON string or the form's
    ``name-0-sub`` keys."""
    value = data.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            value = []
    if isinstance(value, list):
        return [row for row in value if isinstance(row, dict)]
    rows: dict[int, dict[str, Any]] = {}
    prefix = name + "-"
    for key, item in data.items():
        if isinstance(key, str) and key.startswith(prefix) and key.count("-") >= 2:
            index, sub = key[len(prefix) :].split("-", 1)
            if index.isdigit():
                rows.setdefault(int(index), {})[sub] = item
    return [rows[i] for i in sorted(rows)]


def udp_date_input(value: Any) -> tuple[str, str]:
    """(input type, value) for a date field: a date picker for dates (and
    datetimes, cut to the day); a text input for what a date picker cannot
    show (a year, a month), so such a value survives the form."""
    text = "" if value in (None, tk.missing) else str(value).strip()
    if not text or (re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", text)):
        return "date", text[:10]
    return "text", text


def udp_district_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    """scheming ``choices_helper``: the city districts, value = number."""
    return [{"value": d.number, "label": d.name} for d in districts.all_districts()]


def udp_district_names(value: Any) -> list[str]:
    return districts.names(v.zfill(2) for v in udp_form_values(value))


def udp_area_map_options() -> str:
    """JSON for the form's map: district points, schematic outline, tiles."""
    data = districts.map_data()
    data["tiles"] = tk.config.get("ckanext.udp.dcatde.map_tile_url") or ""
    data["attribution"] = tk.config.get("ckanext.udp.dcatde.map_tile_attribution") or ""
    return json.dumps(data)


def udp_geometry_bbox(value: Any) -> str:
    """A short German description of a GeoJSON area ("8.38–8.42° O, 49.00–49.02° N")."""
    try:
        west, south, east, north = geo.geometry(value).bounds
    except ValueError:
        return ""
    lon = f"{west:.3f}" if west == east else f"{west:.3f}–{east:.3f}"
    lat = f"{south:.3f}" if south == north else f"{south:.3f}–{north:.3f}"
    return tk._("{lon}° E, {lat}° N").format(lon=lon, lat=lat)


def udp_display_datetime(value: Any) -> str:
    return dates.display_datetime(value, "short") if value else ""


def udp_geocoding_names(value: Any) -> list[str]:
    return [page.geocoding_name(v) for v in udp_form_values(value)]


def get_helpers() -> dict[str, Any]:
    return {
        "udp_dataset_downloads": page.downloads,
        "udp_broken_links": linkcheck.broken_for_editors,
        "udp_dataset_licence": page.licence,
        "udp_dataset_contacts": page.contacts,
        "udp_dataset_updates": page.update_info,
        "udp_dataset_themes": page.themes,
        "udp_dataset_rdf_links": page.rdf_links,
        "udp_geocoding_names": udp_geocoding_names,
        "udp_has_value": udp_has_value,
        "udp_display_datetime": udp_display_datetime,
        "udp_contributor_name": page.contributor_name,
        "udp_form_sections": udp_form_sections,
        "udp_form_error_items": udp_form_error_items,
        "udp_form_summary_items": udp_form_summary_items,
        "udp_form_values": udp_form_values,
        "udp_form_rows": udp_form_rows,
        "udp_date_input": udp_date_input,
        "udp_district_choices": udp_district_choices,
        "udp_district_names": udp_district_names,
        "udp_area_map_options": udp_area_map_options,
        "udp_geometry_bbox": udp_geometry_bbox,
        "udp_format_code": udp_format_code,
        "udp_facet_label": udp_facet_label,
        "udp_format_labels": udp_format_labels,
        "udp_theme_icon": udp_theme_icon,
        "udp_dcatde_severity_label": udp_dcatde_severity_label,
        "dcatde_vocab_choices": dcatde_vocab_choices,
        "dcatde_checksum_algorithm_choices": dcatde_checksum_algorithm_choices,
        "dcatde_vocab_label": dcatde_vocab_label,
    }
