"""The public's activity streams: what an anonymous visitor (and a logged-in
user outside the dataset's organization) sees of the portal's changes.

The decision, for a German city portal:

- The public sees activities of datasets that are public now
  (published+open), and of those only the ones made while the dataset was
  public. That is CKAN's own rule once the labels are right: an activity keeps
  the permission labels of the moment it was made (``public`` only while the
  dataset was in public view), and the governance plugin relabels every
  activity of a dataset that leaves public view (withdrawn, internal, deleted,
  back to draft), so nothing of a dataset that is not public now is listed, and
  the draft and review history of a published dataset is never public.
- When a dataset enters public view (the reviewer's approval; a harvested or a
  non-governed dataset becoming public), a "new package" activity is written
  with the dataset as the public sees it (``published``). Without it the public
  would see no activity at all: the steps before it were made while the dataset
  was a draft, and CKAN hides the site user's activities.
- The actor is neutral for the public: outside the dataset's organization the
  ``user_id`` of an activity names ``ckanext.udp.api.activity_actor``
  ("Urbane Datenplattform"), never a member of staff or the site user. Members
  of the organization, the actor themselves and sysadmins see the user.
- Details (``activity_data_show``, ``activity_diff``, a past version, the
  "changes" pages) stay with the dataset's editors
  (``ckan.auth.public_activity_stream_detail = false``).
"""

from __future__ import annotations

import logging
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat

log = logging.getLogger(__name__)


def actor() -> str:
    return str(tk.config.get("ckanext.udp.api.activity_actor") or "Urbane Datenplattform")


def published(pkg: model.Package) -> None:
    """``pkg`` entered public view: a public "new package" activity with the
    dataset as an anonymous visitor sees it."""
    try:
        shown = tk.get_action("package_show")({"user": "", "ignore_auth": False}, {"id": pkg.id})
        compat.add_public_activity(pkg.id, actor(), {"package": shown, "actor": actor()})
    except Exception:  # an activity is never worth a failed publication
        log.exception("could not write the publication activity of %s", pkg.id)


# --- the neutral actor ----------------------------------------------------------


class _Viewer:
    def __init__(self, context: Context) -> None:
        user = context.get("auth_user_obj") or model.User.get(context.get("user") or "")
        self.user: model.User | None = user if isinstance(user, model.User) else None
        self.sysadmin = bool(self.user and self.user.sysadmin)
        self._orgs: dict[str, bool] = {}
        self._packages: dict[str, str | None] = {}

    def sees_names_of(self, activity: dict[str, Any]) -> bool:
        if self.sysadmin or _by_actor(activity):
            return True
        if self.user is None:
            return False
        if activity.get("user_id") == self.user.id:
            return True
        org = self._owner_org(activity)
        if org is None:
            return False
        if org not in self._orgs:
            self._orgs[org] = org in {
                g.id for g in self.user.get_groups("organization") if g is not None and g.is_organization
            }
        return self._orgs[org]

    def _owner_org(self, activity: dict[str, Any]) -> str | None:
        object_id = activity.get("object_id") or ""
        if "package" in (activity.get("activity_type") or ""):
            if object_id not in self._packages:
                pkg = model.Package.get(object_id)
                self._packages[object_id] = pkg.owner_org if pkg else None
            return self._packages[object_id]
        if "organization" in (activity.get("activity_type") or ""):
            return object_id
        return None


def _by_actor(activity: dict[str, Any]) -> bool:
    """An activity written with the neutral actor already."""
    return activity.get("user_id") == actor()


def neutral(context: Context, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if context.get("ignore_auth"):
        return activities
    viewer = _Viewer(context)
    out = []
    for a in activities:
        if isinstance(a, dict) and not viewer.sees_names_of(a):
            a = dict(a, user_id=actor())
            # CKAN also keeps the acting user's name in the activity's data
            if isinstance(a.get("data"), dict) and "actor" in a["data"]:
                a["data"] = dict(a["data"], actor=actor())
        out.append(a)
    return out


def _stream(name: str) -> Any:
    @tk.chained_action
    @tk.side_effect_free
    def stream(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        result = up(context, data_dict)
        if isinstance(result, list):
            return neutral(context, result)
        return result

    stream.__name__ = name
    stream.__doc__ = f"CKAN's {name}; outside the dataset's organization the actor is the portal."
    return stream


@tk.chained_action
@tk.side_effect_free
def activity_show(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """CKAN's activity_show; outside the dataset's organization the actor is the portal."""
    # CKAN's auth function reads data_dict["include_data"]: without it, a 500
    try:
        include_data = tk.asbool(data_dict.get("include_data", False))
    except ValueError:
        raise tk.ValidationError(
            {"include_data": [tk._("{field} must be true or false").format(field="include_data")]}
        ) from None
    data_dict = dict(data_dict, include_data=include_data)
    result = up(context, data_dict)
    return neutral(context, [result])[0] if isinstance(result, dict) else result


STREAMS = (
    "user_activity_list",
    "dashboard_activity_list",
    "package_activity_list",
    "organization_activity_list",
    "group_activity_list",
    "recently_changed_packages_activity_list",
)
ACTIONS: dict[str, Any] = {name: _stream(name) for name in STREAMS}
ACTIONS["activity_show"] = activity_show


# --- CKAN's resource history page ----------------------------------------------

HISTORY_ENDPOINT = "activity.resource_history"


def guard_history(app: Any) -> None:
    """CKAN's ``/dataset/<id>/resources/<resource_id>/history/<activity_id>``
    shows the resource as an activity recorded it, checking only that the
    caller may see the dataset now: a draft-time version of a published
    dataset reached everyone. Here it asks what ``activity_data_show`` asks
    (the activity's labels, and the detail setting) and answers 404 otherwise."""
    view = app.view_functions.get(HISTORY_ENDPOINT)
    if view is None or getattr(view, "udp_guarded", False):
        return

    def guarded(id: str, resource_id: str, activity_id: str) -> Any:
        try:
            user = getattr(tk.current_user, "name", "") or ""
            tk.check_access("activity_data_show", {"user": user}, {"id": activity_id})
        except (tk.NotAuthorized, tk.ObjectNotFound):
            return tk.abort(404, tk._("Activity not found"))
        return view(id=id, resource_id=resource_id, activity_id=activity_id)

    guarded.udp_guarded = True  # type: ignore[attr-defined]
    app.view_functions[HISTORY_ENDPOINT] = guarded
