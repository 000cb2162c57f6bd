"""The portal's one rule for URL fields: a web address (http or https) or, where a
file can be uploaded, a bare file name; every other scheme, control characters and
spaces are refused. A plain function shared by ``udp_dcatde`` (its schema's fields)
and ``udp_security`` (the URL fields outside that schema); it imports no plugin."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def url_problem(value: Any, relative_ok: bool = False) -> str | None:
    """None when ``value`` is acceptable, else what is wrong (for the message)."""
    if not isinstance(value, str):
        return "not a text"
    text = value.strip()
    if _CONTROL_OR_SPACE.search(text):
        return "spaces or control characters"
    try:
        parts = urlsplit(text)
    except ValueError:
        return "not a URL"
    if parts.scheme:
        if parts.scheme.lower() not in WEB_SCHEMES:
            return f"scheme {parts.scheme}:"
        if not parts.netloc:
            return "no host"
        return None
    if ":" in text.split("/", 1)[0]:
        return "not a URL"  # "foo:bar" is a scheme to a browser
    if not relative_ok or text.startswith("//"):
        return "not absolute"
    return None
