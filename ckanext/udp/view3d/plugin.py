"""The previews of the 3D climate twin.

- ``udp_view3d``: the 3D view of CityJSON, 3D Tiles and glTF/GLB (three.js,
  bundled with esbuild into the webasset ``udp_view3d/view3d``); it also makes
  the default 3D and grid views of new and changed resources.
- ``udp_grid``: the grid preview of NetCDF and GeoTIFF files: a PNG of one
  variable and time step rendered by the portal (``views.py``), a legend and
  the statistics as text.

CKAN gives a plugin one view type, hence two plugin names. Each is usable
alone: its own templates (``templates/`` and ``grid_templates/``), CSS asset
(``assets/`` and ``grid_assets/``), config declaration, default views and
translation catalogue (``i18n/de/LC_MESSAGES/ckanext-udp-view3d.po`` and
``ckanext-udp-grid.po``); they share only the recognition of file types
(``logic.py``).
"""

from __future__ import annotations

import os
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import yaml
from ckan.types import Context

from ckanext.udp.view3d import grid, logic, views

#: above this size the 3D view loads the file only when asked to
ASK_BYTES = 20 * 1024 * 1024
HERE = os.path.dirname(__file__)
I18N_DIR = os.path.join(HERE, "i18n")


def default_view_actions(view_type: str) -> dict[str, Any]:
    """The two default-view actions, chained to make ``view_type``'s view of the
    resources that get it (each plugin chains its own, so each works alone)."""

    @tk.chained_action
    def resource_create_default_resource_views(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        result = up(context, data_dict)
        logic.ensure_views(data_dict.get("resource") or {}, bool(context.get("defer_commit")), view_type)
        return result

    @tk.chained_action
    def package_create_default_resource_views(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        result = up(context, data_dict)
        for resource in (data_dict.get("package") or {}).get("resources") or []:
            logic.ensure_views(resource, bool(context.get("defer_commit")), view_type)
        return result

    return {
        "resource_create_default_resource_views": resource_create_default_resource_views,
        "package_create_default_resource_views": package_create_default_resource_views,
    }


class _View(p.SingletonPlugin):
    p.implements(p.IResourceView, inherit=True)
    p.implements(p.IConfigurer)
    p.implements(p.IActions)
    p.implements(p.ITranslation)

    view_type = ""
    title = ""
    icon = ""
    template = ""
    form = ""
    templates = ""
    assets = ""
    domain = ""

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, self.templates)
        tk.add_resource(self.assets, self.view_type)

    # IActions
    def get_actions(self) -> dict[str, Any]:
        return default_view_actions(self.view_type)

    # ITranslation: a catalogue of its own
    def i18n_directory(self) -> str:
        return I18N_DIR

    def i18n_locales(self) -> list[str]:
        return ["de"]

    def i18n_domain(self) -> str:
        return self.domain

    # IResourceView

    def info(self) -> dict[str, Any]:
        return {
            "name": self.view_type,
            "title": tk._(self.title),
            "icon": self.icon,
            "iframed": False,
            "always_available": False,
            "default_title": tk._(self.title),
            "preview_enabled": True,
            "requires_datastore": False,
        }

    def view_template(self, context: Context, data_dict: dict[str, Any]) -> str:
        return self.template

    def form_template(self, context: Context, data_dict: dict[str, Any]) -> str:
        return self.form


class UdpView3dPlugin(_View):
    view_type = logic.VIEW3D
    title = "3D view"
    icon = "cube"
    template = "udp_view3d/view3d.html"
    form = "udp_view3d/no_form.html"
    templates = "templates"
    assets = "assets"
    domain = "ckanext-udp-view3d"

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        return logic.is_3d(data_dict.get("resource") or {})

    def setup_template_variables(self, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        resource = data_dict.get("resource") or {}
        size = resource.get("size")
        size = size if isinstance(size, int) else None
        url = resource.get("url") or ""
        if resource.get("url_type") == "upload" and resource.get("id"):
            # the portal's own path (the qualified URL carries ckan.site_url, maybe another origin than the page's)
            url = tk.h.url_for(
                "resource.download",
                id=resource.get("package_id"),
                resource_id=resource["id"],
                filename=url.rstrip("/").rsplit("/", 1)[-1] or None,
            )
        return {
            "udp_view3d": {
                "kind": logic.kind(resource),
                "url": url,
                "size": size,
                "ask": bool(size and size > ASK_BYTES),
            }
        }


class UdpGridViewPlugin(_View):
    p.implements(p.IBlueprint)
    p.implements(p.IConfigDeclaration)

    view_type = logic.GRID
    title = "Grid image"
    icon = "th"
    template = "udp_grid/grid.html"
    form = "udp_grid/no_form.html"
    templates = "grid_templates"
    assets = "grid_assets"
    domain = "ckanext-udp-grid"

    # IConfigDeclaration: its own options (the blanket would read udp_view3d's file)
    def declare_config_options(self, declaration: Any, key: Any) -> None:
        with open(os.path.join(HERE, "grid_config_declaration.yaml"), encoding="utf-8") as f:
            declaration.load_dict(yaml.safe_load(f))

    # IBlueprint
    def get_blueprint(self) -> list[Any]:
        return [views.blueprint]

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        return logic.is_grid(data_dict.get("resource") or {})

    def setup_template_variables(self, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        """The variables and the chosen slice's statistics, read when the page
        is drawn (the image itself comes from ``grid.png``)."""
        resource = data_dict.get("resource") or {}
        try:
            args: Any = tk.request.args
        except RuntimeError:  # outside a request (a view rendered by a command)
            args = {}
        info: dict[str, Any] = {"gradient": grid.legend_gradient(), "error": None}
        try:
            variables = views.grid_variables(resource)
            wanted = args.get("grid_variable") or variables[0].name
            part = views.grid_slice(resource, wanted, views._int(args.get("grid_time")))
        except grid.GridError as exc:
            info["error"] = exc.message
            return {"udp_grid": info}
        except Exception:  # noqa: BLE001 (the page is shown, the preview says it failed)
            info["error"] = tk._("The file cannot be shown as a grid image.")
            return {"udp_grid": info}
        info.update(variables=variables, variable=part.variable, time=part.time, stats=part.stats)
        return {"udp_grid": info}


__all__ = ["UdpGridViewPlugin", "UdpView3dPlugin"]
