"""CKAN's licence register for the dcat-ap.de licences.

CKAN names a dataset's licence through its register (``license_title``,
``license_url``, ``isopen`` in ``package_show``, the licence facet's labels).
Its default register does not know the dcat-ap.de licence URIs the schema
stores, so every page showed the URI. ``licenses.json`` (package data, built
from ``vocabularies/license.csv`` and ``license-links.csv`` by :func:`build`)
lists all of them with their German names; the ``udp_dcatde`` plugin points
``licenses_group_url`` at it (``file://``, no network) unless the site sets
its own. ``python -m ckanext.udp.dcatde.licenses`` rewrites the file;
``tests/dcatde/test_labels.py`` checks it matches the tables.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib
from importlib import resources
from typing import Any

from ckanext.udp.dcatde import vocab

FILE = "licenses.json"


def path() -> pathlib.Path:
    return pathlib.Path(str(resources.files(__package__).joinpath("vocabularies", FILE)))


def _links() -> dict[str, str]:
    text = resources.files(__package__).joinpath("vocabularies", "license-links.csv").read_text(encoding="utf-8")
    return {row["code"]: row["url"] for row in csv.DictReader(io.StringIO(text))}


def build() -> list[dict[str, Any]]:
    """The register: one entry per licence of the vocabulary, id = its URI."""
    links = _links()
    out = []
    for concept in vocab.get("license").concepts:
        is_open = vocab.is_open_license(concept.uri)
        out.append(
            {
                "id": concept.uri,
                "title": concept.label_de,
                "title_en": concept.label_en,
                "url": links.get(concept.code, concept.uri),
                "od_conformance": "approved" if is_open else "not reviewed",
                "osd_conformance": "not reviewed",
                "status": "active",
                "domain_content": False,
                "domain_data": True,
                "domain_software": False,
                "attribution_required": vocab.requires_attribution(concept.uri),
            }
        )
    return out


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    path().write_text(render(), encoding="utf-8")
    print(path())
