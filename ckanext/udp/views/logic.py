"""Which preview a resource gets, and making the missing ones.

- A resource with a DataStore table gets CKAN's table preview
  (``datatables_view``), whoever filled the table: ckanext-xloader, the demo
  loader, the sensor series or an API client calling ``datastore_create``.
- GeoJSON, WMS and WFS resources get the map (``udp_map``).
- The hourly values of a sensor series (their URL is the stable download
  ``/dataset/<name>/sensors/hourly.<csv|json>``) get the chart (``udp_chart``).

Views are made as the system (``ignore_auth``): they follow the dataset's
visibility, because CKAN shows a view only to whoever may see its dataset.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)

TABLE_VIEW = "datatables_view"
MAP_VIEW = "udp_map"
CHART_VIEW = "udp_chart"

#: format labels and the last segment of EU file-type URIs that the map shows
MAP_FORMATS = frozenset({"GEOJSON", "WMS", "WFS", "WMS_SRVC", "WFS_SRVC"})
HOURLY_URL = re.compile(r"/dataset/[^/]+/sensors/hourly\.(?:csv|json)(?:$|\?)")

#: the views' titles are stored with the view (content, like a resource name), in the portal's language
TITLES = {
    TABLE_VIEW: "Tabelle",
    MAP_VIEW: "Karte",
    CHART_VIEW: "Diagramm",
}


def format_key(resource: dict[str, Any]) -> str:
    """``GEOJSON`` for "GeoJSON", ".../file-type/GEOJSON" and the like."""
    fmt = (resource.get("format") or "").strip().rstrip("/")
    return fmt.rsplit("/", 1)[-1].upper()


def is_map_resource(resource: dict[str, Any]) -> bool:
    return format_key(resource) in MAP_FORMATS


def is_hourly_series(resource: dict[str, Any]) -> bool:
    return bool(HOURLY_URL.search(resource.get("url") or ""))


def wanted_views(resource: dict[str, Any]) -> list[str]:
    """The view types a resource should have, in display order."""
    wanted = []
    if is_hourly_series(resource):
        wanted.append(CHART_VIEW)
    if is_map_resource(resource):
        wanted.append(MAP_VIEW)
    if resource.get("datastore_active"):
        wanted.append(TABLE_VIEW)
    return wanted


def site_context() -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"ignore_auth": True, "user": site_user["name"]}


def _view_plugin(view_type: str) -> bool:
    """CKAN's table view is a plugin of its own (its view type is its name);
    the map and the chart are this plugin's."""
    return view_type != TABLE_VIEW or p.plugin_loaded(TABLE_VIEW)


def ensure_views(
    resource_id: str,
    *,
    datastore_active: bool | None = None,
    resource: dict[str, Any] | None = None,
    defer_commit: bool = False,
    context: dict[str, Any] | None = None,
) -> list[str]:
    """Create the views ``resource_id`` lacks; return the view types created.
    ``resource``: the resource as just written (a new dataset's), which spares
    a ``resource_show`` (a whole ``package_show``) per resource. ``defer_commit``:
    the caller's transaction is still open (a harvest import writing a dataset and
    its harvest object together): the views join it instead of committing it early.
    ``context``: the site user's context (``site_context()``) when the caller holds one
    already (the resources of one dataset: one ``get_site_user`` for all)."""
    context = dict(context) if context is not None else site_context()
    if defer_commit:
        context["defer_commit"] = True
    if resource is None:
        try:
            resource = tk.get_action("resource_show")(dict(context), {"id": resource_id})
        except tk.ObjectNotFound:
            return []
    else:
        resource = dict(resource)
    if datastore_active is not None:
        resource["datastore_active"] = datastore_active
    wanted = [v for v in wanted_views(resource) if _view_plugin(v)]
    if not wanted:
        return []
    have = {v["view_type"] for v in tk.get_action("resource_view_list")(dict(context), {"id": resource_id})}
    created = []
    for view_type in wanted:
        if view_type in have:
            continue
        tk.get_action("resource_view_create")(
            dict(context),
            {"resource_id": resource_id, "view_type": view_type, "title": TITLES[view_type]},
        )
        created.append(view_type)
    if created:
        log.info("views %s created for resource %s", created, resource_id)
    return created


def all_resource_ids() -> Iterable[str]:
    """Ids of every active resource of every active dataset, private ones included."""
    import ckan.model as model  # the read of every resource id has no action

    query = (
        model.Session.query(model.Resource.id)
        .join(model.Package, model.Package.id == model.Resource.package_id)
        .filter(model.Resource.state == "active", model.Package.state == "active")
        .order_by(model.Resource.id)
    )
    return [row[0] for row in query]


def create_missing() -> dict[str, int]:
    """Give every existing resource the views it lacks. Returns counts."""
    counts = {"resources": 0, "created": 0}
    for resource_id in all_resource_ids():
        counts["resources"] += 1
        counts["created"] += len(ensure_views(resource_id))
    return counts
