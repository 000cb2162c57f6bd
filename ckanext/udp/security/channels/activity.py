"""Activities of hidden datasets. CKAN's activity streams filter by the
permission labels stored with each activity, but only for activity types
ending in "package": "new resource view" and the other view activities of a
draft reach every stream that lists them (user, dashboard, organization,
group), with the dataset's id, the resource's id and the view's title. Here
an activity about a dataset stays in a stream only if the caller may see the
dataset."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import may_see_dataset, system

# CKAN's own label filter covers these
LABELLED_SUFFIX = "package"


def _visible(context: Context, activity: dict[str, Any], cache: dict[str, bool]) -> bool:
    kind = activity.get("activity_type") or ""
    object_id = activity.get("object_id")
    if kind.endswith(LABELLED_SUFFIX) or not object_id:
        return True
    if object_id not in cache:
        is_dataset = model.Session.query(model.Package.id).filter(model.Package.id == object_id).first()
        cache[object_id] = not is_dataset or may_see_dataset(context, object_id)
    return cache[object_id]


def _stream(name: str) -> Any:
    @tk.chained_action
    @tk.side_effect_free
    def stream(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        activities = up(context, data_dict)
        if system(context) or not isinstance(activities, list):
            return activities
        cache: dict[str, bool] = {}
        return [a for a in activities if _visible(context, a, cache)]

    stream.__name__ = name
    stream.__doc__ = f"CKAN's {name}, without activities of datasets the caller may not see."
    return stream


STREAMS = (
    "user_activity_list",
    "dashboard_activity_list",
    "package_activity_list",
    "organization_activity_list",
    "group_activity_list",
    "recently_changed_packages_activity_list",
)
ACTIONS = {name: _stream(name) for name in STREAMS}
