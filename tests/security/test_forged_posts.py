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
    ("/dataset/{pkg}/resource/new", {"name": "x", "url": "http://x.invalid/a.csv", "save": "go-metadata"}),
    ("/harvest/{source}/resource/new", {"name": "x", "url": "http://x.invalid/a.csv", "save": "go-metadata"}),
    ("/datatables/ajax/{unknown}", {"draw": "1", "start": "0", "length": "10"}),
    ("/datatables/ajax/{unknown}", {}),
]


@pytest.mark.parametrize(("url", "form"), URLS)
@pytest.mark.parametrize("cookie", ["ckan", "remember_token"])
def test_forged_cross_origin_posts_answer_4xx_and_change_nothing(
    make_app, world: World, targets: dict[str, Any], url: str, form: dict[str, str], cookie: str
):
    app = make_app()
    app.client.set_cookie(cookie, FORGED, domain="test.ckan.net")
    filled = url.format(pkg=targets["pkg"]["name"], source=targets["source"]["name"], unknown="no-such-view")
    before = act(world.sysadmin, "package_show", id=targets["pkg"]["id"])
    res = app.post(filled, data=form, headers=EVIL, follow_redirects=False)
    assert res.status_code < 500, res.get_data(as_text=True)[:500]
    assert res.status_code >= 400 or "/user/login" in res.headers.get("Location", ""), res.status_code
    after = act(world.sysadmin, "package_show", id=targets["pkg"]["id"])
    assert len(after["resources"]) == len(before["resources"])
    assert act(world.sysadmin, "dataset_follower_count", id=targets["pkg"]["id"]) == 0
