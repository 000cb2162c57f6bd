"""The ``udp_views`` plugins: previews for citizens.

- ``udp_views``: every DataStore table gets CKAN's table preview, whoever
  calls ``datastore_create`` (ckanext-xloader, the demo, the sensor series, API
  clients); GeoJSON/WMS/WFS resources get the map and hourly sensor values the
  chart; ``ckan udp views create-missing`` does the same for existing
  resources. It also carries the assets (Leaflet, uPlot) and templates.
- ``udp_map``: the map (Leaflet, bundled; the city's districts drawn from
  the reference data, a tile server only when configured).
- ``udp_chart``: the chart of a sensor series' hourly values (uPlot,
  bundled as its own webasset ``udp_views/uplot`` for reuse).

CKAN gives a plugin one view type, hence three plugin names; the map and chart
need ``udp_views`` (their templates and assets).
"""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig
from ckan.types import Context

from ckanext.udp.views import logic, mapdata


@tk.chained_action
def datastore_create(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    result = up(context, data_dict)
    resource_id = result.get("resource_id") if isinstance(result, dict) else None
    if resource_id:
        logic.ensure_views(resource_id, datastore_active=True)
    return result


@tk.chained_action
def resource_create_default_resource_views(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """CKAN asks for a resource's default views when it is created or changed
    and when xloader has loaded it: the map and the chart are added here."""
    result = up(context, data_dict)
    resource = data_dict.get("resource") or {}
    if resource.get("id"):
        logic.ensure_views(resource["id"], defer_commit=bool(context.get("defer_commit")))
    return result


@tk.chained_action
def package_create_default_resource_views(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """The same for every resource of a new dataset (CKAN calls it from
    ``package_create`` only, with the dataset as written: its resources are
    new, so they are read from it, not shown once more each)."""
    result = up(context, data_dict)
    own = None
    for resource in (data_dict.get("package") or {}).get("resources") or []:
        if resource.get("id"):
            own = own or logic.site_context()
            logic.ensure_views(
                resource["id"], resource=resource, defer_commit=bool(context.get("defer_commit")), context=own
            )
    return result


@tk.blanket.config_declarations
class UdpViewsPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IActions)
    p.implements(p.IClick)
    p.implements(p.ITemplateHelpers)

    # IConfigurer
    def update_config(self, config: CKANConfig) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "udp_views")

    # IActions
    def get_actions(self) -> dict[str, Any]:
        return {
            "datastore_create": datastore_create,
            "resource_create_default_resource_views": resource_create_default_resource_views,
            "package_create_default_resource_views": package_create_default_resource_views,
        }

    # ITemplateHelpers
    def get_helpers(self) -> dict[str, Any]:
        return {"udp_views_coverage_map": mapdata.coverage_config}

    # IClick: ``ckan udp views ...``
    def get_commands(self) -> list[Any]:
        from ckanext.udp.commands import register
        from ckanext.udp.views.cli import views

        return register(views)


class _View(p.SingletonPlugin):
    p.implements(p.IResourceView, inherit=True)

    view_type = ""
    title = ""
    icon = ""
    template = ""

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
        return "udp_views/no_form.html"


class UdpMapViewPlugin(_View):
    view_type = logic.MAP_VIEW
    title = "Map"
    icon = "map"
    template = "udp_views/map.html"

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        return logic.is_map_resource(data_dict.get("resource") or {})

    def setup_template_variables(self, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        return {"udp_map": mapdata.map_config(data_dict.get("resource") or {})}


class UdpChartViewPlugin(_View):
    view_type = logic.CHART_VIEW
    title = "Chart"
    icon = "line-chart"
    template = "udp_views/chart.html"

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        return logic.is_hourly_series(data_dict.get("resource") or {})

    def setup_template_variables(self, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        return {"udp_chart": mapdata.chart_config(data_dict.get("resource") or {})}


__all__ = ["UdpChartViewPlugin", "UdpMapViewPlugin", "UdpViewsPlugin"]
