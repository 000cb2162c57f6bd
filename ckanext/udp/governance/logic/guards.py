"""Changes outside ``package_update`` that would put unreviewed content live,
or take a live dataset out of the workflow. Each is a chained CKAN action:

- resource views: a view is content the public sees (title, description,
  the URL of an image). On a live dataset (published, archived) views change
  only through the workflow (withdraw, edit, submit); CKAN's own default views
  (created by the system) are not affected. On a dataset in review a view
  change makes its author the last editor, so the four-eyes rule keeps them
  from approving.
- relationships between datasets: as views, if either end is live.
- ``package_delete`` of a live dataset: withdraw it (with a reason) first; a
  deleted dataset a user revives comes back as a draft (chained.py).
- the organization's bulk actions: ``bulk_update_public``/``_private`` would
  set CKAN's ``private`` flag past the workflow; ``bulk_update_delete`` would
  delete live datasets.
- DataStore writes on a live dataset: only to tables declared live (see
  ``LIVE_TABLE_KEY``), every other table changes through the workflow.
- relationships inside dataset dicts (``strip_relationships``).
System calls (``ignore_auth``: harvesters, jobs, the plugins) are not affected.
"""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import LIVE_STATES, DatasetGovernance, utcnow

# resource field that declares a DataStore table live: writes through the
# DataStore API go straight to the published table (sensor series). Set by
# the system (sensor series) or through a reviewed edit, like any field.
LIVE_TABLE_KEY = "udp_live_table"


def _system(context: Context) -> bool:
    return bool(context.get("ignore_auth") or context.get(wf.INTERNAL_CALL))


def _governed(pkg: model.Package | None) -> bool:
    return pkg is not None and wf.governed(pkg.type) and pkg.state != "deleted"


def _package_of_resource(resource_id: str | None) -> model.Package | None:
    resource = model.Resource.get(resource_id or "")
    return model.Package.get(resource.package_id) if resource is not None else None


def _package_of_view(view_id: str | None) -> model.Package | None:
    view = model.ResourceView.get(view_id or "")
    return _package_of_resource(view.resource_id) if view is not None else None


def _live(pkg: model.Package | None) -> bool:
    return _governed(pkg) and wf.status_of(pkg).state in LIVE_STATES


def _touch(context: Context, pkg: model.Package | None) -> None:
    """A content change by a user to a dataset that is not live: they become
    its last editor (four-eyes)."""
    user = wf.user_obj_of(context)
    if not _governed(pkg) or user is None:
        return
    assert pkg is not None
    row = DatasetGovernance.get(pkg.id)
    if row is not None:
        row.last_editor = user.id
        row.modified = utcnow()


def _refuse(field: str, message: str) -> None:
    raise tk.ValidationError({field: [message]})


def _view_change(context: Context, pkg: model.Package | None) -> None:
    if _system(context):
        return
    if _live(pkg):
        _refuse(
            "view",
            tk._(
                "The views of a published dataset change through the workflow: withdraw the dataset, change "
                "its views and submit it for review again."
            ),
        )
    _touch(context, pkg)


def _view_guard(name: str, package_of: Any, key: str) -> Any:
    @tk.chained_action
    def guarded(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        _view_change(context, package_of(data_dict.get(key)))
        return up(context, data_dict)

    guarded.__name__ = name
    return guarded


VIEW_ACTIONS = {
    "resource_view_create": _view_guard("resource_view_create", _package_of_resource, "resource_id"),
    "resource_view_update": _view_guard("resource_view_update", _package_of_view, "id"),
    "resource_view_delete": _view_guard("resource_view_delete", _package_of_view, "id"),
    "resource_view_reorder": _view_guard("resource_view_reorder", _package_of_resource, "id"),
}


def _relationship_change(context: Context, data_dict: dict[str, Any]) -> None:
    if _system(context):
        return
    ends = [model.Package.get(data_dict.get(k) or "") for k in ("subject", "object")]
    if any(_live(pkg) for pkg in ends):
        _refuse(
            "relationship",
            tk._(
                "Relationships of a published dataset change through the workflow: withdraw the dataset, change "
                "the relationship and submit it for review again."
            ),
        )
    for pkg in ends:
        _touch(context, pkg)


def _relationship_guard(name: str) -> Any:
    @tk.chained_action
    def guarded(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        _relationship_change(context, data_dict)
        return up(context, data_dict)

    guarded.__name__ = name
    return guarded


def _refuse_live_delete(pkg: model.Package | None) -> None:
    if _live(pkg):
        _refuse(
            "state",
            tk._(
                "A published or archived dataset cannot be deleted directly: withdraw it first (with a reason), "
                "then delete it."
            ),
        )


@tk.chained_action
def package_delete(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not _system(context):
        # who may not delete it at all is told so first (403), not that it is published
        tk.check_access("package_delete", context, data_dict)
        _refuse_live_delete(model.Package.get(data_dict.get("id") or ""))
    return up(context, data_dict)


def _bulk_datasets(data_dict: dict[str, Any]) -> list[model.Package | None]:
    ids = data_dict.get("datasets") or []
    return [model.Package.get(i) for i in ids if isinstance(i, str)]


@tk.chained_action
def bulk_update_public(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not _system(context) and any(_governed(pkg) for pkg in _bulk_datasets(data_dict)):
        _refuse("datasets", tk._("Datasets are made public by the workflow (submit, approve), not by a bulk action."))
    return up(context, data_dict)


@tk.chained_action
def bulk_update_private(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not _system(context) and any(_governed(pkg) for pkg in _bulk_datasets(data_dict)):
        _refuse(
            "datasets",
            tk._(
                "Published datasets are taken offline by the workflow (withdraw, with a reason), not by a bulk action."
            ),
        )
    return up(context, data_dict)


@tk.chained_action
def bulk_update_delete(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    if not _system(context):
        for pkg in _bulk_datasets(data_dict):
            _refuse_live_delete(pkg)
    return up(context, data_dict)


def _table_change(context: Context, resource_id: str | None) -> None:
    """DataStore writes to a table of a live dataset: only to live tables."""
    if _system(context) or not resource_id:
        return
    pkg = _package_of_resource(resource_id)
    if not _live(pkg):
        _touch(context, pkg)
        return
    resource = model.Resource.get(resource_id)
    if resource is not None and tk.asbool((resource.extras or {}).get(LIVE_TABLE_KEY)):
        return
    _refuse(
        "resource_id",
        tk._(
            "The table of a published dataset changes through the workflow: withdraw the dataset, load the new "
            "data and submit it for review again. Only tables declared live (sensor series) take writes while "
            "published."
        ),
    )


def _datastore_write(name: str) -> Any:
    @tk.chained_action
    def write(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
        _table_change(context, data_dict.get("resource_id") or data_dict.get("id"))
        result = up(context, data_dict)
        model.repo.commit()  # the last editor (DataStore writes commit elsewhere)
        return result

    write.__name__ = name
    return write


DATASTORE_WRITES = ("datastore_upsert", "datastore_delete", "datastore_records_delete", "datastore_run_triggers")

ACTIONS = {
    **VIEW_ACTIONS,
    **{
        name: _relationship_guard(name)
        for name in ("package_relationship_create", "package_relationship_update", "package_relationship_delete")
    },
    "package_delete": package_delete,
    "bulk_update_public": bulk_update_public,
    "bulk_update_private": bulk_update_private,
    "bulk_update_delete": bulk_update_delete,
    **{name: _datastore_write(name) for name in DATASTORE_WRITES},
}

__all__ = ["ACTIONS", "LIVE_TABLE_KEY", "table_change", "strip_relationships"]


def table_change(context: Context, resource_id: str | None) -> None:
    """For ``datastore_create`` on an existing table (chained in chained.py)."""
    _table_change(context, resource_id)


RELATIONSHIP_KEYS = ("relationships_as_subject", "relationships_as_object")


def _relationship_set(value: Any, own: str, active_only: bool = False) -> set[tuple[str, str]]:
    """(other end's id, type) of each relationship in a dataset dict's list."""
    other = "object" if own == "subject" else "subject"
    out = set()
    for rel in value if isinstance(value, list) else []:
        if not isinstance(rel, dict) or (active_only and rel.get("state", "active") != "active"):
            continue
        rel_extras = rel.get("__extras")
        extras = rel_extras if isinstance(rel_extras, dict) else {}
        ref = rel.get(f"{other}_package_id") or extras.get(f"{other}_package_id") or rel.get(other) or ""
        pkg = model.Package.get(ref) if isinstance(ref, str) else None
        out.add((pkg.id if pkg is not None else str(ref), str(rel.get("type"))))
    return out


def strip_relationships(context: Context, data_dict: dict[str, Any], pkg: model.Package | None) -> None:
    """Relationships are written by the package_relationship_* actions only
    (guarded above). In a dataset dict CKAN would save them unguarded and then
    fail to index them (KeyError: object_package_id), so they are taken out;
    a caller who adds or drops relationships that way is told where to go. The
    round trip of package_show -> package_update passes."""
    given = {key: data_dict.pop(key) for key in RELATIONSHIP_KEYS if key in data_dict}
    if not given or _system(context):
        return
    for key, value in given.items():
        own = "subject" if key.endswith("subject") else "object"
        other = "object" if own == "subject" else "subject"
        stored = [
            {f"{other}_package_id": getattr(r, f"{other}_package_id"), "type": r.type, "state": r.state}
            for r in (getattr(pkg, key) if pkg is not None else [])
        ]
        sent = _relationship_set(value, own)
        added = sent - _relationship_set(stored, own)
        dropped = _relationship_set(stored, own, active_only=True) - sent
        if added or dropped:
            raise tk.ValidationError(
                {
                    key: [
                        tk._(
                            "Relationships are changed with package_relationship_create, package_relationship_update "
                            "and package_relationship_delete, not in the dataset."
                        )
                    ]
                }
            )
