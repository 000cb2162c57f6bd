"""RFC 3339 timestamps as sensor networks and SensorThings services send them
(pure functions, no CKAN imports; used by udp_sensors and udp_sensorthings)."""

from __future__ import annotations

import datetime as dt
import re


class NotRfc3339(ValueError):
    """Not in RFC 3339 form."""


class NotAValidTime(ValueError):
    """In RFC 3339 form, but no valid instant (month 13, beyond year 9999 in UTC)."""


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_utc(value: str) -> dt.datetime:
    """An RFC 3339 / ISO 8601 instant (nanoseconds allowed, ``Z`` or an offset) as
    timezone-aware UTC; :class:`NotRfc3339` or :class:`NotAValidTime` (both ValueError) otherwise."""
    m = _RFC3339.match(value.strip())
    if not m:
        raise NotRfc3339(f"not an RFC 3339 timestamp: {value[:40]!r}")
    base, frac, zone = m.groups()
    micro = (frac or "0")[:6].ljust(6, "0")
    try:
        parsed = dt.datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")
        # 9999-12-31T23:59:59-01:00 is year 10000 in UTC: OverflowError
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError) as err:
        raise NotAValidTime(f"not a valid time: {value[:40]!r}") from err
