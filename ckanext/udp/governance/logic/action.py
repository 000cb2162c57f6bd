"""The actions of udp_governance, gathered from the modules of ``logic/``:

- ``transitions``: the workflow transitions (generated from
  ``workflow.TRANSITIONS``), the access class, the governance status;
- ``pending``: pending edits of live datasets (``diff``: their field-level diff);
- ``chained``: CKAN's package/resource/DataStore/member actions, chained;
- ``guards``: further chained channels that could bypass review;
- ``reviewers``: reviewers and organization settings;
- ``audit``: the audit trail (list, CSV export);
- ``queues``: the steward dashboard's queues."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ckanext.udp.governance.logic import audit, chained, guards, pending, queues, reviewers, transitions

_MODULES: tuple[ModuleType, ...] = (transitions, pending, chained, reviewers, audit, queues)


def get_actions() -> dict[str, Any]:
    """``IActions``: every action of the plugin by name (each module's
    ``__all__`` names its actions and nothing else)."""
    actions: dict[str, Any] = dict(transitions.TRANSITION_ACTIONS)
    for module in _MODULES:
        actions.update({name: getattr(module, name) for name in module.__all__ if name.islower()})
    actions.update(guards.ACTIONS)
    return actions


__all__ = ["get_actions"]
