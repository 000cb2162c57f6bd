"""Schemas of the tile actions (CKAN's navl validators)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp.klima.logic.tiles import AGGREGATIONS, KINDS

TileSchema = dict[str, Any]


@tk.validator_args
def tile_create(
    not_empty: Any, ignore_missing: Any, unicode_safe: Any, one_of: Any, strip_value: Any, default: Any
) -> TileSchema:
    return {
        "title": [not_empty, unicode_safe, strip_value],
        "kind": [not_empty, one_of(list(KINDS))],
        "dataset": [not_empty, unicode_safe, strip_value],
        "resource": [not_empty, unicode_safe, strip_value],
        "value_column": [ignore_missing, unicode_safe, strip_value],
        "time_column": [ignore_missing, unicode_safe, strip_value],
        "aggregation": [default("mean"), one_of(list(AGGREGATIONS))],
        "unit": [ignore_missing, unicode_safe, strip_value],
        "bands": [ignore_missing],
    }


@tk.validator_args
def tile_update(not_empty: Any, unicode_safe: Any) -> TileSchema:
    schema = tile_create()
    schema["id"] = [not_empty, unicode_safe]
    return schema


@tk.validator_args
def tile_id(not_empty: Any, unicode_safe: Any) -> TileSchema:
    return {"id": [not_empty, unicode_safe]}


@tk.validator_args
def tile_list(ignore_missing: Any, boolean_validator: Any) -> TileSchema:
    return {"all": [ignore_missing, boolean_validator], "data": [ignore_missing, boolean_validator]}


@tk.validator_args
def tile_reorder(not_empty: Any, list_of_strings: Any) -> TileSchema:
    return {"order": [not_empty, list_of_strings]}
