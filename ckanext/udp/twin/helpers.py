"""Template helpers of ``udp_twin``: the resource page's rows."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk


def udp_twin_rows(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of what the file says of itself, German labels, for the resource page."""
    rows = []
    for key, label in (
        ("udp_twin_kind", tk._("3D or grid format")),
        ("udp_twin_crs", tk._("Reference system")),
        ("udp_twin_lod", tk._("Level of detail")),
    ):
        if resource.get(key):
            rows.append((label, str(resource[key])))
    if resource.get("udp_twin_extent"):
        rows.append((tk._("Extent (WGS 84)"), _extent_text(resource["udp_twin_extent"])))
    if resource.get("udp_twin_probe") == "pending":
        rows.append((tk._("Check of the file"), tk._("being checked (in the background; this takes a few minutes)")))
    if resource.get("udp_twin_findings"):
        rows.append((tk._("Findings when the file was read"), str(resource["udp_twin_findings"])))
    return rows


def _extent_text(value: str) -> str:
    import json

    try:
        ring = json.loads(value)["coordinates"][0]
        xs, ys = [pt[0] for pt in ring], [pt[1] for pt in ring]
    except (ValueError, TypeError, KeyError, IndexError):
        return ""
    fmt = "{:.5f}".format
    return f"{fmt(min(ys))}–{fmt(max(ys))} N, {fmt(min(xs))}–{fmt(max(xs))} O".replace(".", ",")


def get_helpers() -> dict[str, Any]:
    return {"udp_twin_rows": udp_twin_rows}
