"""Action ``udp_sozialatlas_publish``: derive the disclosure-protected table."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.sozialatlas.logic import publish, schema


@tk.validate(schema.publish)
def udp_sozialatlas_publish(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Publish ``resource_id`` (an internal DataStore table of counts: Stadtteil,
    group, count [, year]) into ``dataset_id`` with primary and secondary
    suppression below ``minimum`` (default: ``ckanext.udp.sozialatlas.minimum``).
    Columns are found by name (stadtteil_nr/stadtteil, gruppe, anzahl, jahr) or
    given as ``district_column``, ``group_column``, ``count_column``, ``year_column``."""
    tk.check_access("udp_sozialatlas_publish", context, data_dict)
    return publish.publish(context, data_dict)
