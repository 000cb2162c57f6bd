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

from ckanext.udp import compat

from .visibility import system

# CKAN's own label filter covers these
LABELLED_SUFFIX = "package"


class _Seer:
    """Whether the caller may see the datasets a stream's activities name, decided as ``package_show``'s auth
    decides it (a sysadmin sees all; else any of the dataset's permission labels among the user's), with the
    user's labels computed once per stream and the datasets read in one query: the page header asks the
    dashboard stream on every page a logged-in user opens."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._user_labels: set[str] | None = None
        user = context.get("auth_user_obj")
        if not isinstance(user, model.User):
            name = context.get("user")
            user = model.User.get(name) if name else None
        self.user = user

    def user_labels(self) -> set[str]:
        if self._user_labels is None:
            self._user_labels = set(compat.user_labels(self.user))
        return self._user_labels

    def visible(self, object_ids: set[str]) -> dict[str, bool]:
        if not object_ids:
            return {}
        if self.user is not None and self.user.sysadmin and self.user.state == "active":
            return dict.fromkeys(object_ids, True)
        packages = model.Session.query(model.Package).filter(model.Package.id.in_(sorted(object_ids))).all()
        out = dict.fromkeys(object_ids, True)  # not a dataset: not this filter's business
        for pkg in packages:
            out[pkg.id] = bool(self.user_labels() & set(compat.dataset_permission_labels(pkg)))
        return out


def _needs_check(activity: dict[str, Any]) -> bool:
    kind = activity.get("activity_type") or ""
    return bool(activity.get("object_id")) and not kind.endswith(LABELLED_SUFFIX)


def filter_activities(context: Context, activities: list[Any]) -> list[Any]:
    asked = {a["object_id"] for a in activities if isinstance(a, dict) and _needs_check(a)}
    seen = _Seer(context).visible(asked)
    return [a for a in activities if not (isinstance(a, dict) and _needs_check(a)) or seen[a["object_id"]]]


def _stream(name: str) -> Any:
    @tk.chained_action
    @tk.side_effect_free
    def stream(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        activities = up(context, data_dict)
        if system(context) or not isinstance(activities, list):
            return activities
        return filter_activities(context, activities)

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
