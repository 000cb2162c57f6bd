"""``udp_changes``: the public catalog's change feed, read as a mirroring
client reads it (anonymous GETs on the Action API, page by page)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from apiworld import Stewards, act

# in these tests a change is handed out as soon as it is recorded
settled = pytest.mark.ckan_config("ckanext.udp.api.changes_settle_seconds", "0")

FEED = "/api/3/action/udp_changes"


class Mirror:
    """A client keeping a copy of the public catalog through the feed."""

    def __init__(self, app: Any, limit: int = 2) -> None:
        self.app, self.limit = app, limit
        self.cursor: str | None = None
        self.datasets: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, Any]] = []  # every change received

    def page(self) -> bool:
        params: dict[str, Any] = {"limit": self.limit}
        if self.cursor:
            params["since"] = self.cursor
        res = self.app.get(FEED, query_string=params)
        assert res.status_code == 200, res.body
        result = res.json["result"]
        for change in result["changes"]:
            self.seen.append(change)
            if change["type"] == "removed":
                self.datasets.pop(change["id"], None)
            else:
                assert change["type"] in ("created", "updated")
                self.datasets[change["id"]] = change["dataset"]
        self.cursor = result["next"]
        return result["more"]

    def catch_up(self) -> None:
        for _ in range(1000):
            if not self.page():
                return
        raise AssertionError("the feed never ends")


def public_search() -> dict[str, dict[str, Any]]:
    found = act(None, "package_search", rows=1000)
    assert found["count"] == len(found["results"])
    return {d["id"]: d for d in found["results"]}


@settled
def test_a_mirror_through_the_feed_equals_package_search(app, stewards: Stewards):
    s = stewards
    kept = s.published(title="Bleibt")
    edited = s.published(title="Wird bearbeitet")
    withdrawn = s.published(title="Wird zurückgezogen")
    made_internal = s.published(title="Wird intern")
    deleted = s.published(title="Wird gelöscht")
    never_draft = s.draft(title="Entwurf, nie öffentlich")
    never_internal = s.published("internal", title="Intern, nie öffentlich")

    mirror = Mirror(app, limit=2)
    mirror.page()  # the client starts while the stewards keep working

    steps = [
        lambda: s.edit_live(edited, title="Bearbeitet"),
        lambda: act(s.editor, "udp_withdraw", id=withdrawn["id"], reason="Fehlerhafte Daten"),
        lambda: act(s.reviewer, "udp_set_access_class", id=made_internal["id"], access_class="internal"),
        # a live dataset is withdrawn before it may be deleted
        lambda: act(s.editor, "udp_withdraw", id=deleted["id"], reason="Wird gelöscht"),
        lambda: act(s.sysadmin, "package_delete", id=deleted["id"]),
        lambda: act(s.editor, "package_patch", id=never_draft["id"], title="Entwurf, geändert"),
        lambda: act(s.sysadmin, "package_delete", id=never_draft["id"]),
        lambda: act(s.editor, "udp_withdraw", id=never_internal["id"], reason="Wird gelöscht"),
        lambda: act(s.sysadmin, "package_delete", id=never_internal["id"]),
        lambda: s.published(title="Neu während des Spiegelns"),
        lambda: s.edit_live(kept, notes="Neue Beschreibung"),
    ]
    for step in steps:
        step()
        mirror.page()
    mirror.catch_up()

    expected = public_search()
    assert len(expected) == 3
    assert mirror.datasets == expected
    assert mirror.datasets[edited["id"]]["title"] == "Bearbeitet"

    removed = {c["id"] for c in mirror.seen if c["type"] == "removed"}
    assert {withdrawn["id"], made_internal["id"], deleted["id"]} <= removed
    # nothing that was never public is ever named, not even as a tombstone
    everything = json.dumps(mirror.seen)
    for hidden in (never_draft, never_internal):
        assert hidden["id"] not in everything and hidden["name"] not in everything

    # a second client starting now gets the catalog, and no tombstones of
    # datasets it never saw are needed to get it right
    fresh = Mirror(app, limit=50)
    fresh.catch_up()
    assert fresh.datasets == expected
    assert {c["type"] for c in fresh.seen} <= {"created", "removed"}


@settled
def test_created_and_updated_relative_to_the_cursor(app, stewards: Stewards):
    first = stewards.published(title="Erster")
    mirror = Mirror(app, limit=10)
    mirror.catch_up()
    assert [(c["type"], c["id"]) for c in mirror.seen] == [("created", first["id"])]

    stewards.edit_live(first, title="Erster, geändert")
    second = stewards.published(title="Zweiter")
    mirror.seen.clear()
    mirror.catch_up()
    assert [(c["type"], c["id"]) for c in mirror.seen] == [("updated", first["id"]), ("created", second["id"])]
    mirror.seen.clear()
    mirror.catch_up()
    assert mirror.seen == []  # nothing new: an empty page, same cursor semantics


@settled
def test_a_dataset_back_in_public_view_is_created_again(app, stewards: Stewards):
    pkg = stewards.published(title="Hin und her")
    mirror = Mirror(app)
    mirror.catch_up()
    act(stewards.reviewer, "udp_set_access_class", id=pkg["id"], access_class="internal")
    mirror.catch_up()
    assert pkg["id"] not in mirror.datasets
    act(stewards.reviewer, "udp_set_access_class", id=pkg["id"], access_class="open")
    mirror.seen.clear()
    mirror.catch_up()
    assert [c["type"] for c in mirror.seen] == ["created"] and pkg["id"] in mirror.datasets


@pytest.mark.ckan_config("ckanext.udp.api.changes_settle_seconds", "3600")
def test_changes_are_handed_out_only_once_settled(app, stewards: Stewards):
    stewards.published(title="Frisch")
    res = app.get(FEED).json["result"]
    assert res["changes"] == [] and res["more"] is True
    # the cursor does not move past what is not handed out yet
    assert res["next"] == app.get(FEED).json["result"]["next"]


def _token(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


BAD_PARAMS = [
    {"since": "garbage"},
    {"since": "%%%"},
    {"since": "x" * 5000},
    {"since": _token({"v": 1, "s": -1})},
    {"since": _token({"v": 1, "s": "1"})},
    {"since": _token({"v": 2, "s": 1})},
    {"since": _token([1, 2])},
    {"since": _token({"v": 1, "s": True})},
    {"since": _token({"v": 1, "s": 10**30})},  # beyond PostgreSQL's bigint
    {"limit": "0"},
    {"limit": "-5"},
    {"limit": "abc"},
    {"limit": "1.5"},
    {"limit": "100000"},
    {"limit": "9" * 40},
]


def test_parameter_errors_are_400_json(app, with_plugins):
    for params in BAD_PARAMS:
        for res in (app.get(FEED, query_string=params), app.post(FEED, json=params)):
            assert res.status_code == 400, (params, res.status_code, res.body[:300])
            assert res.headers["Content-Type"].startswith("application/json")
            body = res.json
            assert body["success"] is False and body["error"]["message"], params
