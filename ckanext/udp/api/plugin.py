"""``udp_api``: what app builders need beyond the stock Action API.

- CORS for GET/HEAD/OPTIONS on every public read channel, never for writes
  (``cors.py``).
- ``udp_changes``: the public catalog's change feed with tombstones and an
  opaque keyset cursor (``changes.py``, ``logic/action.py``).
- Bulk downloads at ``/api/udp/dumps/…``, rebuilt by a debounced job after
  changes and by ``ckan udp api dumps build`` (``dumps.py``, ``cli.py``).
- The developer page ``/entwickler`` with examples the tests run (``devpage.py``).
- Correct paging links in CKAN's Atom feeds (``compat.fix_feed_paging``), and
  their parameter errors as plain-text 400s (``feedguard.py``).

Usable alone: visibility comes from CKAN's permission labels (which the
governance plugin provides, when enabled), the same ones an anonymous
``package_search`` filters on.
"""

from __future__ import annotations

import logging
from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig
from ckan.types import Context

from ckanext.udp import compat, datastore_sql

from . import activity, changes, cli, cors, dumps, feedguard
from .logic import action

log = logging.getLogger(__name__)


def get_actions() -> dict[str, Any]:
    actions: dict[str, Any] = {"udp_changes": action.udp_changes}
    if p.plugin_loaded("activity"):  # the neutral actor in CKAN's activity streams
        actions.update(activity.ACTIONS)
    return actions


@tk.blanket.config_declarations
@tk.blanket.actions(get_actions)
@tk.blanket.auth_functions
@tk.blanket.blueprints
@tk.blanket.cli(cli.get_commands)
class UdpApiPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IConfigurable)
    p.implements(p.IMiddleware, inherit=True)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.ISignal)

    # IConfigurer
    def update_config(self, config: CKANConfig) -> None:
        tk.add_template_directory(config, "templates")

    # IConfigurable
    def configure(self, config: CKANConfig) -> None:
        changes.listen()
        if tk.asbool(config.get("ckan.cors.origin_allow_all")):
            log.warning(
                "ckan.cors.origin_allow_all is on: CKAN then allows every method on every URL; "
                "udp_api's CORS for read channels needs it off"
            )

    # IMiddleware: the Flask app's after_request
    def make_middleware(self, app: Any, config: CKANConfig) -> Any:
        if hasattr(app, "after_request"):
            app.after_request(cors.add_headers)
        if hasattr(app, "view_functions"):
            compat.fix_feed_paging(app)
            feedguard.guard(app)
            activity.guard_history(app)
        return app

    # ISignal: DataStore rows changed (actions, and rows written past them)
    def get_signal_subscriptions(self) -> Any:
        return {
            tk.signals.action_succeeded: [
                {"sender": name, "receiver": dumps.table_changed} for name in dumps.DATASTORE_WRITES
            ],
            datastore_sql.ROWS_WRITTEN: [dumps.table_changed],
        }

    # IPackageController: every (re)index and every deletion is a change
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        pkg = model.Package.get(pkg_dict.get("id") or "")
        if pkg is not None:
            public = compat.is_public(pkg)
            was_public = changes.public_now(pkg.id)
            changes.record(pkg.id, public)
            if public and not was_public:
                activity.published(pkg)
            dumps.schedule(urgent=was_public and not public)
        return pkg_dict

    def after_dataset_delete(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        pkg = model.Package.get(pkg_dict.get("id") or "")
        if pkg is not None:
            # still as it was: if it was public until now, the feed may name it
            was_public = compat.is_public(pkg)
            changes.record(pkg.id, False, was_public=was_public)
            dumps.schedule(urgent=was_public)


__all__ = ["UdpApiPlugin"]
