"""The audit trail's writer: one ``AuditEntry`` per workflow event, added to
the caller's transaction (it commits with the change it records).

Below ``logic/`` and ``harvest.py``, which both record events."""

from __future__ import annotations

import json
from typing import Any

import ckan.model as model

from ckanext.udp.governance.model import AuditEntry, utcnow

__all__ = ["record"]


def record(
    pkg_id: str,
    actor: model.User | None,
    action: str,
    from_state: str | None,
    to_state: str | None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry for the dataset (or harvest source) ``pkg_id``."""
    model.Session.add(
        AuditEntry(
            package_id=pkg_id,
            created=utcnow(),
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else None,
            action=action,
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            details=json.dumps(details, sort_keys=True, default=str) if details else None,
        )
    )
