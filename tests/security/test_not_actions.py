"""ckanext-harvest's auth-only names that leak into the action registry
(``harvest_sources_clear``, ``auth_allow_anonymous_access``) are not callable
through the action API: 404 for everybody, never a 500 or an auth verdict."""

from __future__ import annotations

import ckan.authz as authz
import ckan.logic as logic
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from govworld import World


@pytest.fixture
def registered(app, world: World) -> None:
    """Build the registry the way a process does that checked access before its first action:
    then ckanext-harvest hands CKAN both names as actions."""
    authz.auth_functions_list()
    logic.clear_actions_cache()
    tk.get_action("status_show")
    assert {"harvest_sources_clear", "auth_allow_anonymous_access"} <= set(logic._actions)  # noqa: SLF001


@pytest.mark.usefixtures("registered")
def test_harvest_auth_names_are_not_api_actions(app, world: World):
    for user in (None, factories.User(), world.sysadmin):
        headers = {"Authorization": factories.APIToken(user=user["name"])["token"]} if user else {}
        for name in ("harvest_sources_clear", "auth_allow_anonymous_access"):
            for res in (
                app.post(f"/api/3/action/{name}", json={"id": "x"}, headers=headers),
                app.get(f"/api/action/{name}", headers=headers),
            ):
                assert res.status_code == 404, (name, res.status_code, res.get_data(as_text=True)[:300])
                assert res.json["success"] is False
