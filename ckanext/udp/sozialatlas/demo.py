"""The Sozialatlas demo (made-up numbers, labelled as demo data): population by
age group and Stadtteil for two years as an internal source table, and its
disclosure-protected derivation as a published open dataset."""

from __future__ import annotations

import random
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.sozialatlas import districts
from ckanext.udp.sozialatlas.logic import publish

ORG = "amt-fuer-stadtentwicklung"
SOURCE = "sozialatlas-bevoelkerung-altersgruppen-intern"
PUBLISHED = "sozialatlas-bevoelkerung-altersgruppen"
SOURCE_RESOURCE = "Einwohner nach Altersgruppe (Einzelzählung, intern)"
GROUPS = ("unter 6", "6 bis 17", "18 bis 64", "65 bis 94", "95 und älter")
SHARES = (0.055, 0.11, 0.63, 0.2, 0.0)
YEARS = (2023, 2024)
DEMO_NOTE = "**Demodaten:** Alle Zahlen sind erfunden und dienen nur der Vorführung des Sozialatlas."

COMMON: dict[str, Any] = {
    "owner_org": ORG,
    "license_id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
    "theme": ["http://publications.europa.eu/resource/authority/data-theme/SOCI"],
    "frequency": "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
    "license_attribution_by_text": "Stadt Karlsruhe, Amt für Stadtentwicklung",
    "contact": [{"name": "Amt für Stadtentwicklung", "email": "amt-fuer-stadtentwicklung@demo.udp-karlsruhe.invalid"}],
    "issued": "2025-07-01",
    "tags": [{"name": "Sozialatlas"}, {"name": "Bevölkerung"}, {"name": "Demodaten"}],
}


def _context(**extra: Any) -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site_user["name"], "ignore_auth": True, "udp_initial_state": "published", **extra}


def records() -> list[dict[str, Any]]:
    """Made-up counts: a district size per district, shares per age group, a few
    very old people (0-6: the small cells disclosure control must withhold)."""
    rng = random.Random(17)
    out = []
    for d in districts.all_districts():
        size = rng.choice((2500, 4000, 6000, 9000, 14000, 20000, 26000))
        for year in YEARS:
            grown = int(size * (1 + 0.01 * (year - YEARS[0]) * rng.uniform(-1, 2)))
            for group, share in zip(GROUPS, SHARES, strict=True):
                if share:
                    count = int(grown * share * rng.uniform(0.8, 1.2))
                else:
                    count = rng.choice((0, 1, 2, 3, 4, 5, 8, 12)) if size < 10000 else rng.randint(8, 40)
                out.append({"stadtteil_nr": d.number, "jahr": year, "altersgruppe": group, "anzahl": count})
    return out


def _show(name: str) -> dict[str, Any] | None:
    try:
        return tk.get_action("package_show")(_context(), {"id": name})
    except tk.ObjectNotFound:
        return None


def _dataset(name: str, title: str, notes: str, access: str) -> dict[str, Any]:
    pkg = _show(name)
    if pkg is not None:
        return pkg
    access_rights = "PUBLIC" if access == "open" else "NON_PUBLIC"
    data = dict(
        COMMON,
        name=name,
        title=title,
        notes=notes,
        udp_access_class=access,
        access_rights=f"http://publications.europa.eu/resource/authority/access-right/{access_rights}",
        resources=[],
    )
    return tk.get_action("package_create")(_context(), data)


def load() -> dict[str, Any]:
    source = _dataset(
        SOURCE,
        "Einwohner nach Altersgruppe und Stadtteil (intern, Quelle des Sozialatlas)",
        f"{DEMO_NOTE}\n\nInterne Quelltabelle mit allen Fallzahlen, auch kleinen. Nicht zur Veröffentlichung: "
        f"veröffentlicht wird nur die abgeleitete Tabelle „{PUBLISHED}“ mit statistischer Geheimhaltung.",
        "internal",
    )
    res = next((r for r in source.get("resources", []) if r.get("name") == SOURCE_RESOURCE), None)
    fields = [
        {"id": "stadtteil_nr", "type": "text"},
        {"id": "jahr", "type": "int"},
        {"id": "altersgruppe", "type": "text"},
        {"id": "anzahl", "type": "int"},
    ]
    if res is None:
        created = tk.get_action("datastore_create")(
            _context(),
            {
                "resource": {"package_id": source["id"], "name": SOURCE_RESOURCE, "format": "CSV"},
                "fields": fields,
                "records": records(),
                "force": True,
            },
        )
        resource_id = created["resource_id"]
    else:
        resource_id = res["id"]
    target = _dataset(
        PUBLISHED,
        "Einwohner nach Altersgruppe und Stadtteil (Sozialatlas)",
        f"{DEMO_NOTE}\n\nEinwohnerinnen und Einwohner nach Altersgruppe in den 27 Stadtteilen, je Jahr.",
        "open",
    )
    result = publish.publish(_context(), {"resource_id": resource_id, "dataset_id": target["id"]})
    return {"source": SOURCE, "published": PUBLISHED, **result}
