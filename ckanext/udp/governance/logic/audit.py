"""Reading the audit trail of a dataset: as a list and as a CSV export
(written by ``governance.trail``)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance.logic import schema
from ckanext.udp.governance.logic.common import package_or_404
from ckanext.udp.governance.model import AuditEntry

__all__ = ["udp_audit_export", "udp_audit_list"]

AUDIT_COLUMNS = (
    "created",
    "package_id",
    "action",
    "from_state",
    "to_state",
    "actor_name",
    "actor_id",
    "comment",
    "details",
)
# a cell starting with one of these is a formula to spreadsheet programs
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets show as text: a leading ' defuses formulas
    (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _audit_rows(pkg: model.Package) -> list[AuditEntry]:
    return (
        model.Session.query(AuditEntry)
        .filter(AuditEntry.package_id == pkg.id)
        .order_by(AuditEntry.created, AuditEntry.id)
        .all()
    )


@tk.side_effect_free
@tk.validate_action_data(schema.dataset_id)
def udp_audit_list(context: Context, data_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit trail of a dataset (organization members only), oldest first;
    deleted datasets keep theirs."""
    pkg = package_or_404(data_dict["id"], deleted_too=True)
    tk.check_access("udp_audit_list", context, {"id": pkg.id})
    return [e.as_dict() for e in _audit_rows(pkg)]


@tk.side_effect_free
@tk.validate_action_data(schema.dataset_id)
def udp_audit_export(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The audit trail of a dataset as CSV: ``{"filename", "content_type", "csv"}``."""
    pkg = package_or_404(data_dict["id"], deleted_too=True)
    tk.check_access("udp_audit_export", context, {"id": pkg.id})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in _audit_rows(pkg):
        d = entry.as_dict()
        writer.writerow(
            [
                csv_cell(json.dumps(d[c], sort_keys=True, ensure_ascii=False) if c == "details" and d[c] else d[c])
                for c in AUDIT_COLUMNS
            ]
        )
    return {"filename": f"audit-{pkg.name}.csv", "content_type": "text/csv; charset=utf-8", "csv": out.getvalue()}
