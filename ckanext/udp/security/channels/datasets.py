"""Per-dataset channels that CKAN answers without asking whether the caller
may see the dataset: follower counts and lists, "am I following", following
itself (whose answer confirms the dataset), the lists of followed datasets,
task statuses of resources, and the collaborator list (an AssertionError for
anonymous callers)."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from .visibility import caller, deny, may_see_dataset, system


def _logged_in(context: Context) -> bool:
    user = model.User.get(context.get("user") or "")
    return user is not None and user.state == "active"


def _dataset_auth(name: str) -> Any:
    """Chained auth: the caller must also be able to see the dataset ``id``."""

    @tk.chained_auth_function
    @tk.auth_allow_anonymous_access
    def auth(next_auth: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        if not may_see_dataset(context, (data_dict or {}).get("id")):
            return deny(tk._("Dataset not found"))
        return next_auth(context, data_dict)

    auth.__name__ = name
    return auth


def _user_auth(name: str) -> Any:
    """Chained auth for CKAN auth functions that assume a logged-in user."""

    @tk.chained_auth_function
    @tk.auth_allow_anonymous_access
    def auth(next_auth: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        if not _logged_in(context):
            return deny(tk._("You must be logged in."))
        return next_auth(context, data_dict)

    auth.__name__ = name
    return auth


def _followed_dataset(item: dict[str, Any]) -> str | None:
    """The dataset id of an entry of dataset_followee_list or followee_list."""
    if "dict" in item:  # followee_list: {"type", "display_name", "dict"}
        return (item.get("dict") or {}).get("id") if item.get("type") == "dataset" else None
    return item.get("id")  # dataset_followee_list: dataset dicts


def _followees(name: str) -> Any:
    """A followee list without datasets the caller may no longer see."""

    @tk.chained_action
    @tk.side_effect_free
    def followees(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        found = up(context, data_dict)
        if system(context):
            return found
        return [f for f in found if _followed_dataset(f) is None or may_see_dataset(context, _followed_dataset(f))]

    followees.__name__ = name
    return followees


def _count_of(name: str, list_action: str) -> Any:
    """The matching count: the length of the filtered list."""

    @tk.chained_action
    @tk.side_effect_free
    def count(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        if system(context):
            return up(context, data_dict)
        tk.check_access(name, context, data_dict)
        return len(tk.get_action(list_action)(caller(context), data_dict))

    count.__name__ = name
    return count


@tk.chained_action
@tk.side_effect_free
def task_status_show(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    """Task statuses belong to a resource or dataset: shown to who may see it."""
    status = up(context, data_dict)
    if system(context):
        return status
    entity = status.get("entity_id")
    resource = model.Resource.get(entity) if entity else None
    if not may_see_dataset(context, resource.package_id if resource is not None else entity):
        raise tk.ObjectNotFound(tk._("Task status not found"))
    return status


ACTIONS = {
    "dataset_followee_list": _followees("dataset_followee_list"),
    "followee_list": _followees("followee_list"),
    "dataset_followee_count": _count_of("dataset_followee_count", "dataset_followee_list"),
    "followee_count": _count_of("followee_count", "followee_list"),
    "task_status_show": task_status_show,
}
AUTH = {
    **{
        name: _dataset_auth(name)
        for name in (
            "dataset_follower_count",
            "dataset_follower_list",
            "am_following_dataset",
            "follow_dataset",
            "unfollow_dataset",
        )
    },
    **{
        name: _user_auth(name)
        for name in (
            "package_collaborator_list",
            "package_collaborator_list_for_user",
            "package_collaborator_create",
            "package_collaborator_delete",
        )
    },
}
