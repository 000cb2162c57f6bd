"""udp_dcatde's uses of CKAN internals (``ckanext.udp.compat``, block ``dcatde``):
each test fails loudly when a CKAN upgrade changes what the plugin relies on."""

from __future__ import annotations

import inspect

import pytest

from ckanext.udp import compat


def test_munge_title_to_name_is_ckans_slug_rule():
    from ckan.lib import munge

    assert list(inspect.signature(munge.munge_title_to_name).parameters) == ["name"]
    assert compat.munge_title_to_name("Bäume in Grünwinkel 2024") == "baume-in-grunwinkel-2024"
    assert compat.munge_title_to_name("Luft: Messwerte/Stunde") == "luft-messwerte-stunde"
    # long titles are cut below CKAN's maximum name length, keeping a trailing year
    long = compat.munge_title_to_name("Sehr langer Titel " * 10 + "2024")
    assert len(long) <= 100 and long.endswith("-2024")


def test_resource_create_view_is_ckans_resource_form():
    # (compared by name: CKAN's test fixtures may import ckan.views modules afresh)
    view = compat.resource_create_view()
    assert (view.__module__, view.__name__) == ("ckan.views.resource", "CreateView")
    # udp_dcatde's subclass calls these with these arguments
    assert list(inspect.signature(view.post).parameters) == ["self", "package_type", "id"]
    get = inspect.signature(view.get).parameters
    assert list(get)[:3] == ["self", "package_type", "id"]
    assert {"data", "errors", "error_summary"} <= set(get)


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_resource_form_route_is_udp_dcatde_subclass(app):
    # the guarded "finish" replaces CKAN's resource form at the same URL
    rules = [r for r in app.flask_app.url_map.iter_rules() if r.rule == "/dataset/<id>/resource/new"]
    endpoints = [r.endpoint for r in rules]
    assert "udp_dcatde.resource_new" in endpoints
    view = app.flask_app.view_functions["udp_dcatde.resource_new"]
    assert ("ckan.views.resource", "CreateView") in {(c.__module__, c.__name__) for c in view.view_class.__mro__}
