"""Which resources the 3D view and the grid preview show, and making their
default views.

A resource is recognised by its format label (``CityJSON``, ``3D Tiles``,
``glTF``, ``GLB``, ``NetCDF``, ``GeoTIFF``; case-insensitive, also as the last
segment of an EU file-type URI), its media type, or its URL's ending
(``.city.json``, ``tileset.json``, ``.glb``, ``.nc``, ``.tif`` ...), so files
typed by any plugin or by hand get the preview.

Views are made as the system (``ignore_auth``): CKAN shows a view only to
whoever may see its dataset.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from babel.support import Translations
from flask import has_request_context

log = logging.getLogger(__name__)

VIEW3D = "udp_view3d"
GRID = "udp_grid"
#: the views' titles (English msgids: stored translated, German by default)
TITLES = {VIEW3D: "3D view", GRID: "Grid image"}
#: each plugin's own catalogue (ITranslation)
DOMAINS = {VIEW3D: "ckanext-udp-view3d", GRID: "ckanext-udp-grid"}
I18N_DIR = os.path.join(os.path.dirname(__file__), "i18n")

CITYJSON, TILES, GLTF, NETCDF, GEOTIFF = "cityjson", "tiles", "gltf", "netcdf", "geotiff"

#: format labels (upper case, spaces and dashes removed) and EU file-type codes
FORMATS = {
    "CITYJSON": CITYJSON,
    "3DTILES": TILES,
    "GLTF": GLTF,
    "GLB": GLTF,
    "NETCDF": NETCDF,
    "NC": NETCDF,
    "GEOTIFF": GEOTIFF,
    "TIFF": GEOTIFF,
    "TIF": GEOTIFF,
}
MEDIA_TYPES = {
    "application/city+json": CITYJSON,
    "model/gltf+json": GLTF,
    "model/gltf-binary": GLTF,
    "application/x-netcdf": NETCDF,
    "application/netcdf": NETCDF,
    "image/tiff": GEOTIFF,
    "image/tiff; application=geotiff": GEOTIFF,
}
URL_ENDINGS = (
    (".city.json", CITYJSON),
    (".cityjson", CITYJSON),
    ("tileset.json", TILES),
    (".gltf", GLTF),
    (".glb", GLTF),
    (".nc", NETCDF),
    (".nc4", NETCDF),
    (".tif", GEOTIFF),
    (".tiff", GEOTIFF),
)
KINDS_3D = frozenset({CITYJSON, TILES, GLTF})
KINDS_GRID = frozenset({NETCDF, GEOTIFF})


def _format_code(resource: dict[str, Any]) -> str:
    fmt = (resource.get("format") or "").strip().rstrip("/").rsplit("/", 1)[-1]
    return fmt.upper().replace(" ", "").replace("-", "").replace("_", "")


def kind(resource: dict[str, Any]) -> str | None:
    """``cityjson``, ``tiles``, ``gltf``, ``netcdf``, ``geotiff`` or None."""
    found = FORMATS.get(_format_code(resource))
    if found:
        return found
    for key in ("mimetype", "media_type", "mimetype_inner"):
        media = (resource.get(key) or "").strip().lower()
        if media in MEDIA_TYPES:
            return MEDIA_TYPES[media]
        if media.startswith("application/3dtiles"):
            return TILES
    path = urlsplit(resource.get("url") or "").path.lower()
    for ending, found in URL_ENDINGS:
        if path.endswith(ending):
            return found
    return None


def is_3d(resource: dict[str, Any]) -> bool:
    return kind(resource) in KINDS_3D


def is_grid(resource: dict[str, Any]) -> bool:
    return kind(resource) in KINDS_GRID


def wanted_views(resource: dict[str, Any]) -> list[str]:
    found = kind(resource)
    if found in KINDS_3D and p.plugin_loaded(VIEW3D):
        return [VIEW3D]
    if found in KINDS_GRID and p.plugin_loaded(GRID):
        return [GRID]
    return []


def title(view_type: str) -> str:
    """The view's title in the reader's language, or, made outside a request (a
    command, a job), in the portal's default one (German)."""
    msgid = TITLES[view_type]
    if has_request_context():
        return str(tk._(msgid))
    locale = str(tk.config.get("ckan.locale_default") or "en")
    return Translations.load(I18N_DIR, [locale], DOMAINS[view_type]).gettext(msgid)


def ensure_views(resource: dict[str, Any], defer_commit: bool = False, only: str | None = None) -> list[str]:
    """Create the 3D or grid view ``resource`` lacks (of type ``only``, if given);
    return the view types created. ``defer_commit``: the views join the caller's
    open transaction (no early commit)."""
    wanted = [v for v in wanted_views(resource) if only is None or v == only]
    if not wanted or not resource.get("id"):
        return []
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context: dict[str, Any] = {"ignore_auth": True, "user": site_user["name"]}
    if defer_commit:
        context["defer_commit"] = True
    have = {v["view_type"] for v in tk.get_action("resource_view_list")(dict(context), {"id": resource["id"]})}
    created = []
    for view_type in wanted:
        if view_type not in have:
            tk.get_action("resource_view_create")(
                dict(context), {"resource_id": resource["id"], "view_type": view_type, "title": title(view_type)}
            )
            created.append(view_type)
    if created:
        log.info("views %s created for resource %s", created, resource["id"])
    return created
