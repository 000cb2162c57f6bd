"""Helpers of the udp_api tests: an organization with an editor and a
designated reviewer, datasets taken through the governance workflow the way
stewards do it (actions as those users)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.tests import factories


def act(as_user: dict[str, Any] | None, action: str, /, **data: Any) -> Any:
    """Call an action as ``as_user`` (None: anonymous), with auth checks."""
    return tk.get_action(action)({"user": as_user["name"] if as_user else ""}, data)


class Stewards:
    def __init__(self) -> None:
        self.sysadmin = factories.Sysadmin()
        self.admin = factories.User()
        self.editor = factories.User()
        self.reviewer = factories.User()
        self.org = factories.Organization(
            users=[
                {"name": self.admin["name"], "capacity": "admin"},
                {"name": self.editor["name"], "capacity": "editor"},
                {"name": self.reviewer["name"], "capacity": "editor"},
            ]
        )
        act(self.admin, "udp_reviewer_add", organization_id=self.org["id"], user=self.reviewer["name"])

    def draft(self, **kw: Any) -> dict[str, Any]:
        return factories.Dataset(owner_org=self.org["id"], user=self.editor, **kw)

    def publish(self, pkg: dict[str, Any], access_class: str = "open") -> dict[str, Any]:
        if access_class != "open":
            act(self.editor, "udp_set_access_class", id=pkg["id"], access_class=access_class)
        act(self.editor, "udp_submit", id=pkg["id"])
        act(self.reviewer, "udp_approve", id=pkg["id"])
        return pkg

    def published(self, access_class: str = "open", **kw: Any) -> dict[str, Any]:
        return self.publish(self.draft(**kw), access_class)

    def edit_live(self, pkg: dict[str, Any], **changes: Any) -> None:
        """An editor proposes a change to a live dataset, the reviewer approves it."""
        act(self.editor, "package_patch", id=pkg["id"], **changes)
        act(self.reviewer, "udp_approve", id=pkg["id"])
