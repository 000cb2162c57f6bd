"""JSON from outside with a bounded nesting depth.

Python's JSON parser recurses once per nesting level: a document nested a few
thousand levels deep raises ``RecursionError`` (not ``ValueError``), and one
nested a few hundred levels deep parses but exhausts the recursion limit in
whatever walks it next (validators, RDF parsers). Real documents - API
requests, JSON-LD catalogs - are a few levels deep. :func:`loads` refuses
anything deeper than ``max_depth`` with :class:`TooDeep`, a ``ValueError``, so
callers that already handle malformed JSON handle this too.

A neutral module: the ``udp`` plugin's request guard and ``udp_dcatde``'s
hostile-RDF guard both use it; it imports nothing of CKAN.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: deep enough for any real request or catalog, far below the recursion limit
DEFAULT_MAX_DEPTH = 100


class TooDeep(ValueError):
    """JSON nested deeper than allowed."""


def depth(value: Any) -> int:
    """Nesting depth of parsed JSON (objects and arrays), without recursion:
    ``1`` for ``{}`` or ``[1, 2]``, ``2`` for ``{"a": []}``, ``0`` for a scalar."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def check(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """``value`` unchanged, or :class:`TooDeep` if it is nested deeper than ``max_depth``."""
    found = depth(value)
    if found > max_depth:
        raise TooDeep(f"JSON nested {found} levels deep; at most {max_depth} are allowed")
    return value


def loads(data: str | bytes | bytearray, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``max_depth``.

    Raises ``ValueError`` for malformed JSON (as ``json.loads`` does) and
    :class:`TooDeep` for JSON nested too deeply, however deep."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"JSON nested too deeply; at most {max_depth} levels are allowed") from None
    return check(value, max_depth)


__all__ = ["DEFAULT_MAX_DEPTH", "TooDeep", "check", "depth", "loads"]
