"""Shared helpers of the udp_governance tests: one organization with every
role, a second organization, and a helper that calls actions as a given user;
the ``world`` and ``call`` fixtures, which conftest modules import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories


def act(as_user: dict[str, Any] | None, action: str, /, **data: Any) -> Any:
    """Call an action as ``as_user`` (None: anonymous), with auth checks."""
    context = {"user": as_user["name"] if as_user else ""}
    return tk.get_action(action)(context, data)


class World:
    """An organization with admin, two editors, a designated reviewer and a
    plain member; a second organization with its own member; a sysadmin."""

    def __init__(self) -> None:
        self.sysadmin = factories.Sysadmin()
        self.admin = factories.User(email="admin@example.org")
        self.editor = factories.User(email="editor@example.org")
        self.editor2 = factories.User(email="editor2@example.org")
        self.reviewer = factories.User(email="reviewer@example.org")
        self.member = factories.User(email="member@example.org")
        self.outsider = factories.User(email="outsider@example.org")
        self.org = factories.Organization(
            users=[
                {"name": self.admin["name"], "capacity": "admin"},
                {"name": self.editor["name"], "capacity": "editor"},
                {"name": self.editor2["name"], "capacity": "editor"},
                {"name": self.reviewer["name"], "capacity": "editor"},
                {"name": self.member["name"], "capacity": "member"},
            ]
        )
        self.other_org = factories.Organization(users=[{"name": self.outsider["name"], "capacity": "editor"}])
        act(self.admin, "udp_reviewer_add", organization_id=self.org["id"], user=self.reviewer["name"])

    def dataset(self, by: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return factories.Dataset(owner_org=self.org["id"], user=by or self.editor, **kw)

    def state(self, pkg: dict[str, Any]) -> str:
        return act(self.sysadmin, "udp_governance_show", id=pkg["id"])["state"]

    def published(self, access_class: str = "open", **kw: Any) -> dict[str, Any]:
        pkg = self.dataset(**kw)
        if access_class != "open":
            act(self.editor, "udp_set_access_class", id=pkg["id"], access_class=access_class)
        act(self.editor, "udp_submit", id=pkg["id"])
        act(self.reviewer, "udp_approve", id=pkg["id"])
        return pkg


@pytest.fixture
def world(with_plugins: None, clean_db: None, clean_index: None) -> World:
    return World()


@pytest.fixture
def call() -> Callable[..., Any]:
    return act
