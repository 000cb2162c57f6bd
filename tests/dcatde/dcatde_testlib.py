"""Helpers of the DCAT-AP.de tests: RDF round trips and schema validation."""

from __future__ import annotations

import copy
from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckanext.dcat.processors import RDFParser, RDFSerializer

from ckanext.udp.dcatde.logic import defaults

PROFILES = ["euro_dcat_ap_3", "dcatap_de"]


def to_turtle(dataset: dict[str, Any]) -> str:
    return RDFSerializer(profiles=PROFILES).serialize_dataset(dataset, _format="turtle")


def parse(data: str | bytes, _format: str) -> list[dict[str, Any]]:
    parser = RDFParser(profiles=PROFILES)
    parser.parse(data, _format=_format)
    return list(parser.datasets())


def validate(data_dict: dict[str, Any], user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What package_create would store (and the errors it would raise),
    without writing: defaults, then the scheming schema's validation."""
    data = defaults.apply(copy.deepcopy(data_dict))
    data.setdefault("type", "dataset")
    plugin = p.get_plugin("scheming_datasets")
    context = {"model": model, "session": model.Session, "user": user, "ignore_auth": True}
    return plugin.validate(context, data, plugin.create_package_schema(), "package_create")


def error_text(errors: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in errors.items())


def schema_fields() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    schema = tk.get_action("scheming_dataset_schema_show")({}, {"type": "dataset"})
    return schema["dataset_fields"], schema["resource_fields"]
