"""Browser sessions for the security tests: log in through the form and
read the session's CSRF token, as a browser does."""

from __future__ import annotations

import re
from typing import Any

from ckan.tests import factories
from govworld import World, act

PASSWORD = "Correct-Horse-4711"


def csrf_token(body: str) -> str:
    match = re.search(r'name="_csrf_token" (?:value|content)="([^"]+)"', body)
    assert match, "no CSRF token on the page"
    return match.group(1)


def editor_with_password(world: World) -> dict[str, Any]:
    user = factories.User(password=PASSWORD)
    act(world.admin, "organization_member_create", id=world.org["id"], username=user["name"], role="editor")
    return user


def login(app: Any, user: dict[str, Any], remember: bool = False, **kw: Any) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = app.get("/user/login", **kw).get_data(as_text=True)
    form = {"login": user["name"], "password": PASSWORD, "_csrf_token": csrf_token(page)}
    if remember:
        form["remember"] = "86400000"
    res = app.post("/user/login", data=form, follow_redirects=False, **kw)
    assert res.status_code == 302, res.status_code
    return csrf_token(app.get("/dashboard/datasets", **kw).get_data(as_text=True))
