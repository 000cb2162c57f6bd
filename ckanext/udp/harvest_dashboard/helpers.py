"""Template helpers of ``udp_harvest_dashboard``."""

from __future__ import annotations

from typing import Any

from ckanext.udp import dates


def udp_harvest_datetime(value: Any) -> str:
    """When a run started, in the portal's time zone and the visitor's
    language, e.g. "30. November 2026, 04:35"."""
    return dates.display_datetime(value, "long")


def get_helpers() -> dict[str, Any]:
    return {"udp_harvest_datetime": udp_harvest_datetime}
