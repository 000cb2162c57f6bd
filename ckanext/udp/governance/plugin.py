"""The ``udp_governance`` plugin: publishing workflow (draft -> in review ->
published -> archived/withdrawn) with the four-eyes principle, access classes
through CKAN's permission labels, pending edits of published datasets, audit
trail, notifications and the steward dashboard. Logic lives in ``logic/``,
``workflow.py`` and ``model.py``; this class only wires CKAN's interfaces."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.dcat.interfaces import IDCATRDFHarvester
from ckanext.udp import compat
from ckanext.udp.governance import cli, harvest, helpers, trail, views
from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.logic import action, auth
from ckanext.udp.governance.model import (
    PUBLISHED,
    DatasetGovernance,
    PendingEdit,
    utcnow,
)
from ckanext.udp.harvest.interfaces import IUdpHarvest


@tk.blanket.config_declarations
@tk.blanket.cli(cli.get_commands)
@tk.blanket.actions(action.get_actions)
@tk.blanket.auth_functions(auth.get_auth_functions)
@tk.blanket.helpers(helpers)
@tk.blanket.blueprints(views)
class GovernancePlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IPermissionLabels)
    p.implements(p.IPackageController, inherit=True)
    p.implements(IDCATRDFHarvester, inherit=True)
    p.implements(IUdpHarvest, inherit=True)

    # IDCATRDFHarvester: harvested datasets start in their source's configured state
    def before_create(self, harvest_object: Any, dataset_dict: dict, temp_dict: dict) -> None:
        if dataset_dict:
            harvest.apply_source_state(harvest_object, dataset_dict)

    # IUdpHarvest: the same for ckanext-udp's harvesters
    def udp_harvest_validate_source_config(self, config: dict[str, Any]) -> dict[str, str]:
        return harvest.validate_config(config)

    def udp_harvest_before_create(
        self, source_config: dict[str, Any], dataset_dict: dict[str, Any], source: Any = None
    ) -> None:
        harvest.apply_settings(source, harvest.settings_of(source_config), dataset_dict)

    def udp_harvest_new_dataset_state(self, source_config: dict[str, Any]) -> str | None:
        return harvest.settings_of(source_config)[0]

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")

    # IPermissionLabels: the one visibility mechanism for every channel
    def get_dataset_labels(self, dataset_obj: model.Package) -> list[str]:
        return wf.dataset_labels(dataset_obj)

    def get_user_dataset_labels(self, user_obj: model.User) -> list[str]:
        return wf.user_labels(compat.default_user_labels(user_obj), user_obj)

    # IPackageController
    def after_dataset_create(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        if "udp_governance_new" not in context:
            return  # not a governed dataset type
        state, access, approval = context.pop("udp_governance_new")
        if not pkg_dict.get("id") or DatasetGovernance.get(pkg_dict["id"]) is not None:
            return
        state = state or wf.DRAFT
        access = access or wf.default_access_class()
        user = wf.user_obj_of(context)
        now = utcnow()
        model.Session.add(
            DatasetGovernance(
                package_id=pkg_dict["id"],
                state=state,
                access_class=access,
                last_editor=user.id if user else None,
                created=now,
                modified=now,
                published_at=now if state == PUBLISHED else None,
            )
        )
        details: dict[str, Any] = {"access_class": access}
        if approval:  # published by a harvest source a reviewer configured
            details["harvest"] = approval
        trail.record(pkg_dict["id"], user, "create", None, state, None, details)
        model.Session.flush()

    def after_dataset_update(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        if not pkg_dict.get("id"):
            return
        if context.get(wf.INTERNAL_CALL):
            return
        row = DatasetGovernance.get(pkg_dict["id"])
        user = wf.user_obj_of(context)
        if row is not None and user is not None and not context.get("ignore_auth"):
            row.last_editor = user.id
            row.modified = utcnow()

    def after_dataset_delete(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        pkg = model.Package.get(pkg_dict.get("id") or "")
        row = DatasetGovernance.get(pkg.id) if pkg is not None else None
        if row is not None and not context.get(wf.INTERNAL_CALL):
            trail.record(row.package_id, wf.user_obj_of(context), "delete", row.state, row.state)

    def after_dataset_show(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        pkg = model.Package.get(pkg_dict.get("id") or "")
        if pkg is None or not wf.governed(pkg.type):
            return
        status = wf.status_of(pkg)
        pkg_dict[wf.STATE_KEY] = status.state
        pkg_dict[wf.ACCESS_KEY] = status.access_class
        pkg_dict[wf.PENDING_KEY] = PendingEdit.get(pkg.id) is not None

    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        pkg = model.Package.get(pkg_dict.get("id") or "")
        if pkg is not None and wf.governed(pkg.type):
            status = wf.status_of(pkg)
            pkg_dict[wf.STATE_KEY] = status.state
            pkg_dict[wf.ACCESS_KEY] = status.access_class
        return pkg_dict


__all__ = ["GovernancePlugin"]
