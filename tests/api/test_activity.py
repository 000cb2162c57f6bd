"""The public's activity streams, enumerated over every activity channel.

Channels: every registered action whose name contains "activity" and every
URL rule of the activity pages (``/dataset/activity``, ``/organization/activity``,
``/group/activity``, ``/user/activity``, ``/dashboard…``, the changes and
history pages), asked as an anonymous visitor and as a logged-in user outside
the organization, with a published+open dataset and hidden ones (draft, in
review, withdrawn, internal, deleted) present. The public dataset's activity
appears (with the neutral actor); nothing of a hidden dataset, no draft-time
content of the public one, no member of staff's or the site user's name.
"""

from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from apiworld import Stewards, act
from ckan.tests import factories

from ckanext.udp.api import activity

SECRET = "Vorab-9c1e"  # in every hidden dataset's title and in the public dataset's draft title
ACTOR = "Urbane Datenplattform"
# actions that write, or that only count: asked, and must not answer what they must not
WRITES = {"activity_create", "activity_delete", "activity_delete_all", "dashboard_mark_activities_old"}
COUNTS = {"activity_delete_counts", "dashboard_new_activities_count"}
PAGE_PARTS = ("activity", "changes", "dashboard", "history")


def registered_actions() -> list[str]:
    """CKAN's logic registry (no public listing: ``ckan.logic._actions`` after the
    first ``get_action``; read-only use in a test)."""
    import ckan.logic as logic

    tk.get_action("status_show")
    return sorted(logic._actions)  # noqa: SLF001


@pytest.fixture
def world(stewards: Stewards) -> dict[str, Any]:
    s = stewards
    group = factories.Group(users=[{"name": s.editor["name"], "capacity": "member"}])
    groups = [{"name": group["name"]}]
    res = [{"url": "http://example.org/daten.csv", "format": "CSV", "name": "Daten"}]
    public = s.draft(title=f"Entwurf {SECRET}", groups=groups, resources=res)
    act(s.editor, "package_patch", id=public["id"], title="Baumkataster offen")
    s.publish(public)
    s.edit_live(public, title="Baumkataster offen 2025")
    hidden = {
        "draft": s.draft(title=f"Entwurf {SECRET} a", groups=groups, resources=res),
        "in_review": s.draft(title=f"Entwurf {SECRET} b", groups=groups, resources=res),
        "withdrawn": s.draft(title=f"Entwurf {SECRET} c", groups=groups, resources=res),
        "internal": s.draft(title=f"Entwurf {SECRET} d", groups=groups, resources=res),
        "deleted": s.draft(title=f"Entwurf {SECRET} e", groups=groups, resources=res),
    }
    act(s.editor, "udp_submit", id=hidden["in_review"]["id"])
    s.publish(hidden["withdrawn"])
    act(s.editor, "package_patch", id=hidden["withdrawn"]["id"], notes="live edit")
    act(s.reviewer, "udp_approve", id=hidden["withdrawn"]["id"])
    act(s.editor, "udp_withdraw", id=hidden["withdrawn"]["id"], reason="Fehler")
    # the organization's staff may see an internal dataset, not its draft history
    act(s.editor, "package_patch", id=hidden["internal"]["id"], title="Intern freigegeben")
    s.publish(hidden["internal"], "internal")
    s.publish(hidden["deleted"])
    act(s.editor, "udp_withdraw", id=hidden["deleted"]["id"], reason="Veraltet")
    act(s.admin, "package_delete", id=hidden["deleted"]["id"])
    outsider = factories.User()
    for pkg in (public,):
        act(outsider, "follow_dataset", id=pkg["id"])
    act(outsider, "follow_group", id=group["id"])
    act(outsider, "follow_group", id=s.org["id"])
    act(outsider, "follow_user", id=s.editor["id"])
    act(outsider, "follow_user", id=s.reviewer["id"])
    every = [public, *hidden.values()]
    activities = {
        pkg["id"]: tk.get_action("package_activity_list")(
            {"user": s.sysadmin["name"]}, {"id": pkg["id"], "include_hidden_activity": True, "limit": 100}
        )
        for pkg in every
    }
    group_activities = [
        a["id"]
        for action, object_id in (("organization_activity_list", s.org["id"]), ("group_activity_list", group["id"]))
        for a in tk.get_action(action)(
            {"user": s.sysadmin["name"]}, {"id": object_id, "include_hidden_activity": True, "limit": 100}
        )
    ]
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {
        "s": s,
        "group": group,
        "public": public,
        "hidden": hidden,
        "activities": activities,
        "group_activities": group_activities,
        "outsider": outsider,
        "token": factories.APIToken(user=outsider["name"])["token"],
        "staff": [s.editor, s.reviewer, s.admin, s.sysadmin, site_user],
    }


def _ask(app, world, viewer: str, url: str, **params: Any) -> tuple[int, str]:
    headers = {"Authorization": world["token"]} if viewer == "outsider" else {}
    res = app.get(url, query_string=params or None, headers=headers, follow_redirects=False)
    return res.status_code, res.get_data(as_text=True)


def _action_params(world: dict[str, Any], action: str) -> list[dict[str, Any]]:
    s, public = world["s"], world["public"]
    every = [public, *world["hidden"].values()]
    activity_ids = [a["id"] for acts in world["activities"].values() for a in acts]
    if action.startswith("package_"):
        return [{"id": p["id"]} for p in every]
    if action.startswith("organization_"):
        return [{"id": s.org["id"]}]
    if action.startswith("group_"):
        return [{"id": world["group"]["id"]}]
    if action.startswith("user_"):
        return [{"id": u["name"]} for u in (s.editor, s.reviewer, s.admin)]
    if action in ("activity_show", "activity_data_show"):
        return [{"id": i} for i in activity_ids]
    if action == "activity_diff":
        return [{"id": i, "object_type": "package"} for i in activity_ids]
    return [{}]


def _page_urls(app, world: dict[str, Any]) -> list[str]:
    """Every URL rule of the activity pages, filled with every object it names."""
    s, public = world["s"], world["public"]
    every = [public, *world["hidden"].values()]
    activity_ids = [a["id"] for acts in world["activities"].values() for a in acts]
    urls: list[str] = []
    rules = sorted(
        {
            r.rule
            for r in app.flask_app.url_map.iter_rules()
            if "GET" in (r.methods or ()) and any(part in r.rule for part in PAGE_PARTS)
        }
    )
    assert rules, "no activity pages registered"
    for rule in rules:
        names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule)
        if "resource_id" in names:  # a past version of a resource
            values = [
                {"id": pkg["id"], "resource_id": r["id"], "activity_id": a["id"]}
                for pkg in every
                for r in pkg["resources"]
                for a in world["activities"][pkg["id"]]
            ]
        elif "activity_id" in names and "id" in names:  # a past version of a dataset
            values = [
                {"id": pkg_id, "activity_id": a["id"]} for pkg_id, acts in world["activities"].items() for a in acts
            ]
        elif names == ["id"] and ("/changes" in rule):  # an activity's changes
            values = [{"id": i} for i in activity_ids + world["group_activities"]]
        elif names == ["id"] and rule.startswith(("/dataset", "/harvest")):
            values = [{"id": p["name"]} for p in every]
        elif names == ["id"] and rule.startswith("/organization"):
            values = [{"id": s.org["name"]}]
        elif names == ["id"] and rule.startswith("/group"):
            values = [{"id": world["group"]["name"]}]
        elif names == ["id"] and rule.startswith("/user"):
            values = [{"id": u["name"]} for u in (s.editor, s.reviewer, s.admin)]
        elif rule.endswith("/changes_multiple"):  # two activities as parameters
            pairs = [acts[:2] for acts in world["activities"].values() if len(acts) >= 2]
            values = [{"?": f"?new_id={a['id']}&old_id={b['id']}"} for a, b in pairs] + [{}]
        elif not names:
            values = [{}]
        else:
            # a new kind of activity page: fill every parameter with every id we have
            values = [{n: i for n in names} for i in [p["id"] for p in every] + activity_ids]
        for v in values:
            url = rule
            for name in names:
                url = re.sub(rf"<(?:[^:>]+:)?{name}>", str(v[name]), url)
            urls.append(url + v.get("?", ""))
    if "/dashboard/" not in rules:
        raise AssertionError("the dashboard is not among the activity pages")
    return urls


def _forbidden(world: dict[str, Any], viewer: str) -> list[str]:
    """Strings no answer to the viewer may contain (a logged-in user may see an
    internal dataset as it is now, not its history before)."""
    out = [SECRET]
    for state, pkg in world["hidden"].items():
        if not (state == "internal" and viewer == "outsider"):
            out += [pkg["id"], pkg["name"]]
    site_user = world["staff"][-1]
    out += [site_user["id"]]
    for person in world["staff"]:  # nobody's name: not as actor, not in the activity's data
        out += [f'"{person["name"]}"', f"/user/{person['name']}"]
    for pkg_id, acts in world["activities"].items():
        if pkg_id != world["public"]["id"]:
            out += [a["id"] for a in acts]  # all made before publication, for the internal one too
    return out


def test_the_public_sees_public_activity_and_nothing_hidden(app, world):
    public = world["public"]
    actions = [a for a in registered_actions() if "activity" in a]
    assert {"package_activity_list", "activity_show", "recently_changed_packages_activity_list"} <= set(actions)
    problems: list[str] = []
    shown: dict[tuple[str, str], int] = {}
    for viewer in ("anonymous", "outsider"):
        forbidden = _forbidden(world, viewer)
        for action in actions:
            if action in WRITES:
                status, _ = _post(app, world, viewer, action)
                if status < 400 and not (viewer == "outsider" and action == "dashboard_mark_activities_old"):
                    problems.append(f"WRITE {viewer} {action} answered {status}")
                continue
            for params in _action_params(world, action):
                status, body = _ask(app, world, viewer, f"/api/3/action/{action}", **params)
                if status >= 500:
                    problems.append(f"{status} {viewer} {action} {params} {body[:2000]}")
                asked = json.dumps(params)  # an error may repeat what was asked
                problems += [f"LEAK {viewer} {action} {params}: {f}" for f in forbidden if f in body and f not in asked]
                if status == 200 and action not in COUNTS:
                    shown[(viewer, action)] = shown.get((viewer, action), 0) + body.count(public["id"])
                    result = json.loads(body)["result"]
                    for a in result if isinstance(result, list) else [result]:
                        if isinstance(a, dict) and a.get("object_id") == public["id"] and "user_id" in a:
                            if a["user_id"] != ACTOR:
                                problems.append(f"ACTOR {viewer} {action}: {a['user_id']}")
        for url in _page_urls(app, world):
            status, body = _ask(app, world, viewer, url)
            if status >= 500:
                problems.append(f"{status} {viewer} {url}")
            # a user's own activity page (asked for by name) may name that user
            problems += [
                f"LEAK {viewer} {url}: {f}"
                for f in forbidden
                if f in body and f not in url and f.replace("/user/", "/user/activity/") not in url
            ]
            if status == 200:
                shown[(viewer, url)] = body.count("Baumkataster offen")
    # the public dataset's activity appears where the public may look
    must_show = [
        ("anonymous", "package_activity_list"),
        ("anonymous", "organization_activity_list"),
        ("anonymous", "group_activity_list"),
        ("anonymous", "recently_changed_packages_activity_list"),
        ("anonymous", "activity_show"),
        ("outsider", "package_activity_list"),
        ("outsider", "organization_activity_list"),
        ("outsider", "group_activity_list"),
        ("outsider", "recently_changed_packages_activity_list"),
        ("outsider", "activity_show"),
        ("outsider", "dashboard_activity_list"),
        ("anonymous", f"/dataset/activity/{public['name']}"),
        ("anonymous", f"/organization/activity/{world['s'].org['name']}"),
        ("anonymous", f"/group/activity/{world['group']['name']}"),
        ("outsider", f"/dataset/activity/{public['name']}"),
        ("outsider", "/dashboard/"),
    ]
    problems += [f"BLIND {v} {ch}" for v, ch in must_show if not shown.get((v, ch))]
    assert not problems, "\n".join(problems)
    _the_organization_sees_its_history_with_names(world)


def _post(app, world, viewer: str, action: str) -> tuple[int, str]:
    headers = {"Authorization": world["token"]} if viewer == "outsider" else {}
    some_activity = next(a["id"] for acts in world["activities"].values() for a in acts)
    public_id = world["public"]["id"]
    data = {
        "activity_create": {"user_id": world["outsider"]["id"], "object_id": public_id, "activity_type": "y"},
        "activity_delete": {"id": some_activity},
        "activity_delete_all": {},
        "dashboard_mark_activities_old": {},
    }[action]
    res = app.post(f"/api/3/action/{action}", json=data, headers=headers)
    return res.status_code, res.get_data(as_text=True)


def _the_organization_sees_its_history_with_names(world):
    """Members keep CKAN's streams: the draft history and the real actors."""
    s, public = world["s"], world["public"]
    listed = act(s.editor, "package_activity_list", id=public["id"])
    assert {a["user_id"] for a in listed} >= {s.editor["id"], activity.actor()}
    assert any(SECRET in json.dumps(a) for a in listed)  # the draft title, for the organization only
    shown = act(None, "package_activity_list", id=public["id"])
    assert shown and {a["user_id"] for a in shown} == {activity.actor()}
    assert [a["activity_type"] for a in shown][-1] == "new package"  # its publication, first


def test_activity_show_with_a_bad_include_data_is_a_client_error(app):
    """CKAN's asbool raises ValueError on a word it does not know: a 500 without the guard."""
    resp = app.get("/api/3/action/activity_show", query_string={"id": "x", "include_data": "vielleicht"})
    assert resp.status_code == 400, resp.body
    assert "include_data" in resp.json["error"]
