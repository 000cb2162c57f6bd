"""Reading an OGC SensorThings API service, defensively (``ckanext.udp.fetch``):
http(s) only, no private, loopback or link-local addresses unless allow-listed,
a deadline and a size cap per response, no redirects, and ``@iot.nextLink``
must stay on the source's scheme and host."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from ckanext.udp import fetch

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = 20
EXPAND = "Datastreams($expand=ObservedProperty,Sensor),Locations"


class StaError(Exception):
    pass


def fetch_json(url: str, allowed: tuple[str, str]) -> dict[str, Any]:
    """One SensorThings response, with the checks above (``ckanext.udp.fetch``:
    also no private, loopback or link-local addresses unless allow-listed)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise StaError(f"only http(s) URLs are harvested, not {parsed.scheme or 'no scheme'!r}")
    if (parsed.scheme, parsed.netloc) != allowed:
        raise StaError(f"{url} leaves the source ({allowed[0]}://{allowed[1]})")
    try:
        # no redirects: a redirect could lead the harvester off the source's host
        body = fetch.fetch(
            url,
            policy=fetch.policy_from_config(
                deadline=TIMEOUT, read_timeout=TIMEOUT, max_bytes=MAX_BYTES, max_redirects=0
            ),
            headers={"Accept": "application/json"},
        ).content
    except fetch.FetchError as err:
        raise StaError(str(err)) from err
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as err:  # RecursionError: hostile nesting
        raise StaError(f"{url}: not JSON ({err})") from err
    if not isinstance(doc, dict):
        raise StaError(f"{url}: expected a JSON object")
    return doc


def things(base: str, max_pages: int = 50) -> list[dict[str, Any]]:
    """All Things of a service, following ``@iot.nextLink``."""
    parsed = urlparse(base)
    allowed = (parsed.scheme, parsed.netloc)
    url: str | None = f"{base.rstrip('/')}/Things?$expand={EXPAND}"
    out: list[dict[str, Any]] = []
    pages = 0
    while url:
        pages += 1
        if pages > max_pages:
            raise StaError(f"more than {max_pages} pages of Things; raise max_pages in the source configuration")
        doc = fetch_json(url, allowed)
        value = doc.get("value")
        if not isinstance(value, list):
            raise StaError(f"{url}: no 'value' list (not a SensorThings collection)")
        out += [t for t in value if isinstance(t, dict) and "@iot.id" in t]
        url = doc.get("@iot.nextLink")
    return out


def thing_id_path(thing: dict[str, Any]) -> str:
    tid = thing["@iot.id"]
    return f"Things({json.dumps(tid) if isinstance(tid, str) else tid})".replace('"', "'")
