"""Dates and times as people read them: in the portal's time zone
(``ckan.display_timezone``) and the visitor's language, e.g. German
"30. November 2026, 04:35" or "30.11.26, 04:35".

CKAN's ``h.render_datetime(..., with_hours=True)`` formats with the fixed
English-ordered pattern ``"MMMM d, YYYY, HH:mm (z)"`` whatever the locale
("November 30, 2026, 04:35 (MEZ)" on the German UI; ``YYYY`` is even the
week-based year, wrong in the last days of December). Templates of our
plugins use :func:`display_datetime` (through each plugin's own helper)
instead. A neutral module shared by the plugins, like ``jsonlimits`` and
``commands``: it imports no plugin package.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo

import ckan.plugins.toolkit as tk
from flask_babel import format_date, format_time


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # CKAN stores UTC
    zone = tk.config.get("ckan.display_timezone") or "UTC"
    if zone == "server":
        return value.astimezone()
    try:
        return value.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        return value


def display_datetime(value: Any, style: Literal["short", "long"] = "short") -> str:
    """``value`` (a datetime or ISO string, naive ones in UTC) as date and
    time: ``short`` "30.11.26, 04:35", ``long`` "30. November 2026, 04:35"
    (German; the date in the locale's own pattern, the time as hours and
    minutes). Empty for no value, the string itself if it is no date."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return str(value)
    local = _local(value)
    # aware datetimes: flask-babel rebases times to ckan.display_timezone
    # (BABEL_DEFAULT_TIMEZONE) itself; the date is taken as it stands, local
    return f"{format_date(local, style)}, {format_time(local, 'short')}"


__all__ = ["display_datetime"]
