"""GeoJSON geometries of the schema's spatial fields, read with shapely."""

from __future__ import annotations

import json
from typing import Any

from shapely.errors import GeometryTypeError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

#: the geometry types of GeoJSON (RFC 7946, section 3.1); no Feature
TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)


def geometry(value: Any) -> BaseGeometry:
    """The non-empty geometry a GeoJSON text or dict describes; ``ValueError`` otherwise."""
    data = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(data, dict) or data.get("type") not in TYPES:
        raise ValueError("not a GeoJSON geometry")
    try:
        geom = shape(data)
    except (GeometryTypeError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise ValueError(f"not a GeoJSON geometry: {e}") from None
    if geom.is_empty:
        raise ValueError("an empty geometry")
    return geom


__all__ = ["TYPES", "geometry"]
