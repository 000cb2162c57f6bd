"""Cross-origin form POSTs with a forged session cookie (a browser on another
site, or a script): once they answered 500 on the follow/unfollow views of
datasets and harvest sources, the new-resource forms of both dataset types and
the datatables endpoint (NotFound for an unknown view). Each must answer a
clean 4xx (or the login redirect) and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from govworld import World, act

EVIL = {"Origin": "http://evil.invalid", "Referer": "http://evil.invalid/page"}
FORGED = "eyJfZnJlc2giOmZhbHNlfQ.forged.signature"


@pytest.fixture
def targets(world: World) -> dict[str, Any]:
    pkg = world.published()
    source = act(
        world.admin,
        "harvest_source_create",
        name="gefaelschte-quelle",
        title="Quelle",
        url="http://127.0.0.1:9/catalog.ttl",
        source_type="dcat_rdf",
        owner_org=world.org["id"],
    )
    return {"pkg": pkg, "source": source}


URLS = [
    ("/dataset/follow/{pkg}", {}),
    ("/dataset/unfollow/{pkg}", {}),
    ("/harvest/follow/{source}", {}),
    ("/harvest/unfollow/{source}", {}),
    ("/datatables/ajax/{unknown}", {"draw": "1", "start": "0", "length": "10"}),
    ("/datatables/ajax/{unknown}", {}),
]


def test_forged_cross_origin_posts_answer_4xx_and_change_nothing(make_app, world: World, targets: dict[str, Any]):
    for cookie in ("ckan", "remember_token"):
        app = make_app()
        for url, form in URLS:
            app.client.set_cookie(cookie, FORGED, domain="test.ckan.net")
            filled = url.format(pkg=targets["pkg"]["name"], source=targets["source"]["name"], unknown="no-such-view")
            res = app.post(filled, data=form, headers=EVIL, follow_redirects=False)
            where = f"{cookie} {filled}: {res.status_code} {res.get_data(as_text=True)[:300]}"
            assert res.status_code < 500, where
            assert res.status_code >= 400 or "/user/login" in res.headers.get("Location", ""), where
    after = act(world.sysadmin, "package_show", id=targets["pkg"]["id"])
    assert len(after["resources"]) == len(targets["pkg"]["resources"])
    assert act(world.sysadmin, "dataset_follower_count", id=targets["pkg"]["id"]) == 0


RESOURCE_FORMS = ["/dataset/{pkg}/resource/new", "/harvest/{source}/resource/new"]
FORMS = [
    {"name": "x", "url": "http://x.invalid/a.csv", "save": "go-metadata"},  # no "id": CKAN's view popped it
    {"name": "x", "url": "http://x.invalid/a.csv", "id": ""},  # no "save": CKAN's view deleted it
    {"name": "x", "url": "http://x.invalid/a.csv", "id": "", "save": "go-metadata"},  # complete: refused
]


def test_forged_posts_to_the_new_resource_forms_answer_4xx(make_app, world: World, targets: dict[str, Any]):
    """CKAN's new-resource view read ``save`` and ``id`` from the form unchecked (KeyError: a 500) before it
    asked who was posting; udp_security's ``forms.guard`` answers 400 first, and a complete form is refused."""
    app = make_app()
    app.client.set_cookie("ckan", FORGED, domain="test.ckan.net")
    for url in RESOURCE_FORMS:
        filled = url.format(pkg=targets["pkg"]["name"], source=targets["source"]["name"])
        for form in FORMS:
            res = app.post(filled, data=form, headers=EVIL, follow_redirects=False)
            where = f"{filled} {sorted(form)}: {res.status_code}"
            assert 400 <= res.status_code < 500 or "/user/login" in res.headers.get("Location", ""), where
            assert "Traceback" not in res.get_data(as_text=True)
    after = act(world.sysadmin, "package_show", id=targets["pkg"]["id"])
    assert len(after["resources"]) == len(targets["pkg"]["resources"])


def test_the_history_of_a_resource_at_a_view_activity_answers_404(app, world: World):
    """CKAN's resource history page read any activity as a dataset version: the activity of a new resource
    view (no "package" in its data) raised KeyError, a 500 for everybody (found by the channel matrix)."""
    pkg = world.dataset(resources=[{"url": "http://example.invalid/a.csv", "name": "Daten"}])
    resource_id = pkg["resources"][0]["id"]
    act(world.editor, "resource_view_create", resource_id=resource_id, view_type="image_view", title="Bild")
    act(world.editor, "udp_submit", id=pkg["id"])
    act(world.reviewer, "udp_approve", id=pkg["id"])
    activities = act(world.sysadmin, "package_activity_list", id=pkg["id"], include_hidden_activity=True)
    views = [a["id"] for a in activities if not a["activity_type"].endswith("package")]
    assert views, [a["activity_type"] for a in activities]
    res = app.get(f"/dataset/{pkg['name']}/resources/{resource_id}/history/{views[0]}")
    assert res.status_code == 404, res.status_code
