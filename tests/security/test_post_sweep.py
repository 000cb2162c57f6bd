"""Every URL rule that takes a POST, enumerated from the running app's URL map, asked by three people who may
change nothing there: an anonymous visitor, a forged session cookie from another site, and a logged-in user
of another organization (API token, so the request reaches the view past the CSRF guard). Each is asked with
an empty form and with a plausible one (the fields CKAN's forms post). None may answer 5xx, and nothing may
change. A rule that may answer them 2xx/3xx (the login form, registration, following a public dataset ...)
is named in ``MAY_ANSWER`` with the reason; any other answer must be 4xx or the redirect to the login page,
so a new form that lets them through fails here until someone classifies it."""

from __future__ import annotations

import collections
import re
from typing import Any

from ckan.tests import factories
from govworld import World, act

EVIL = {"Origin": "http://evil.invalid", "Referer": "http://evil.invalid/page"}
FORGED = "eyJfZnJlc2giOmZhbHNlfQ.forged.signature"
VIEWERS = ("anonymous", "forged", "outsider")

# rules (and who) that may answer 2xx/3xx: the reason why that changes nothing of the organization
_ANYONE = set(VIEWERS)
_LOGGED_IN = {"outsider"}
MAY_ANSWER: dict[str, tuple[set[str], str]] = {
    "/user/login": (_ANYONE, "the login form (re-rendered with an error, or logged in: nothing changes)"),
    "/user/register": (_ANYONE, "registration is open to the public (re-rendered with errors for these forms)"),
    "/user/reset": (_ANYONE, "asking for a password reset mail (re-rendered / redirected; no account changes)"),
    "/user/_logout": (_ANYONE, "logging out"),
    "/dataset/follow/<id>": (_LOGGED_IN, "any logged-in user may follow a public dataset"),
    "/dataset/unfollow/<id>": (_LOGGED_IN, "any logged-in user may unfollow a dataset"),
    "/group/follow/<id>": (_LOGGED_IN, "any logged-in user may follow a group"),
    "/group/unfollow/<id>": (_LOGGED_IN, "any logged-in user may unfollow a group"),
    "/organization/follow/<id>": (_LOGGED_IN, "any logged-in user may follow an organization"),
    "/organization/unfollow/<id>": (_LOGGED_IN, "any logged-in user may unfollow an organization"),
    "/user/follow/<id>": (_LOGGED_IN, "any logged-in user may follow another user"),
    "/user/unfollow/<id>": (_LOGGED_IN, "any logged-in user may unfollow another user"),
    "/user/edit": (_LOGGED_IN, "the logged-in user's own profile (re-rendered with errors for these forms)"),
    "/user/sysadmin": (_ANYONE, "refuses with a message and redirects to /ckan-admin/ (checked: nobody promoted)"),
    "/user/<id>/api-tokens": (
        _LOGGED_IN,
        "the empty form is re-rendered (CKAN validates before it checks "
        "access); a named token is refused (checked: the user's tokens are unchanged)",
    ),
    "/user/<id>/api-tokens/revoke": (
        _ANYONE,
        "answers an empty fragment; api_token_revoke's auth refuses "
        "(checked: the user's token, posted as jti, survives)",
    ),
    "/group/admins/<id>": (_ANYONE, "the read-only list of a group's admins, rendered for POST too"),
    "/organization/admins/<id>": (_ANYONE, "the read-only list of an organization's admins, rendered for POST too"),
    "/dataset/groups/<id>": (
        _ANYONE,
        "without a group it may change, redirects back to the page (checked: the dataset's groups are unchanged)",
    ),
    "/dataset/new": (
        _LOGGED_IN,
        "an editor of another organization may create datasets there: the form is "
        "re-rendered with errors (checked: nothing created in this organization)",
    ),
    "/harvest/new": (
        _LOGGED_IN,
        "an editor of another organization may create sources there: the form is re-rendered with errors",
    ),
    "/dashboard/harvest/new": (
        _LOGGED_IN,
        "an editor of another organization may create sources there: the form is re-rendered with errors",
    ),
}
# values for a rule's variables: by rule prefix for ``id``, else by name; an unknown variable gets a
# placeholder (the view must then answer 404 or 400, not 500)
ID_BY_PREFIX = (
    ("/dataset/", "pkg"),
    ("/harvest/", "source"),
    ("/organization/", "org"),
    ("/group/", "group"),
    ("/user/", "user"),
    ("/dashboard/harvest/", "source"),
    ("/ckan-admin/", "pkg"),
)
VARIABLE = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def post_rules(app: Any) -> list[str]:
    return sorted({r.rule for r in app.flask_app.url_map.iter_rules() if "POST" in (r.methods or ())})


def fill(rule: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        converter, args, name = m.group(1), m.group(2), m.group(3)
        if converter == "int":
            found = re.search(r"min=(\d+)", args or "")
            return found.group(1) if found else "3"
        if name == "id":
            for prefix, key in ID_BY_PREFIX:
                if rule.startswith(prefix):
                    return values[key]
            return values["pkg"]
        if name == "logic_function":
            return "package_patch"
        return values.get(name, "no-such-thing")

    return VARIABLE.sub(one, rule)


def test_every_post_rule_refuses_anonymous_forged_and_outsiders_without_a_500(make_app, world: World):
    pkg = world.published(resources=[{"url": "http://example.invalid/a.csv", "name": "Daten"}])
    source = act(
        world.admin,
        "harvest_source_create",
        name="sweep-quelle",
        title="Quelle",
        url="http://127.0.0.1:9/catalog.ttl",
        source_type="dcat_rdf",
        owner_org=world.org["id"],
    )
    group = factories.Group(user=world.sysadmin)
    values = {
        "pkg": pkg["name"],
        "source": source["name"],
        "org": world.org["name"],
        "group": group["name"],
        "user": world.editor["name"],
        "resource_id": pkg["resources"][0]["id"],
        "package_id": pkg["id"],
        "dataset_id": pkg["id"],
        "source_id": source["id"],
        "logic_function": "package_patch",
    }
    token = factories.APIToken(user=world.outsider["name"])["token"]
    editors_token = act(world.sysadmin, "api_token_list", user_id=world.editor["id"])
    victim = factories.APIToken(user=world.editor["name"])
    tokens_before = {t["id"] for t in act(world.sysadmin, "api_token_list", user_id=world.editor["id"])}
    assert len(tokens_before) == len(editors_token) + 1 and victim
    forms: list[dict[str, str]] = [
        {},
        {
            "save": "1",
            "id": "",
            "name": "x",
            "title": "Gefälscht",
            "url": "http://x.invalid/a.csv",
            "notes": "x",
            "owner_org": world.org["id"],
            "package_id": pkg["id"],
            "jti": next(iter(tokens_before)),
            "group": group["id"],
        },
    ]
    before = act(world.sysadmin, "package_show", id=pkg["id"])
    source_before = act(world.sysadmin, "harvest_source_show", id=source["id"])
    rules = post_rules(make_app())
    assert len(rules) > 50, rules  # the URL map, not a hand-picked list
    problems: list[str] = []
    answered = collections.Counter()
    for viewer in VIEWERS:
        app = make_app()  # one client per viewer: cookies of one never reach another
        headers = dict(EVIL)
        if viewer == "forged":
            app.client.set_cookie("ckan", FORGED, domain="test.ckan.net")
            app.client.set_cookie("remember_token", FORGED, domain="test.ckan.net")
        if viewer == "outsider":
            headers = {"Authorization": token}
        for rule in rules:
            url = fill(rule, values)
            for form in forms:
                try:
                    res = app.post(url, data=form, headers=headers, follow_redirects=False)
                except Exception as err:  # the test app lets exceptions through: a 500 in production
                    problems.append(f"500 {viewer} {url} {sorted(form)}: {type(err).__name__}: {err}")
                    continue
                status, where = res.status_code, res.headers.get("Location", "")
                answered[status // 100] += 1
                said = f"{status} {viewer} {url} {sorted(form)}: {where or res.get_data(as_text=True)[:200]!r}"
                if status >= 500:
                    problems.append(said)
                elif status < 400 and "/user/login" not in where:
                    allowed, _reason = MAY_ANSWER.get(rule, (set(), ""))
                    if viewer not in allowed:
                        problems.append("not refused: " + said)
    print(f"{len(rules)} POST rules x {len(VIEWERS)} viewers x {len(forms)} forms: {dict(answered)}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    after = act(world.sysadmin, "package_show", id=pkg["id"])
    for key in ("title", "notes", "state", "udp_workflow_state", "private", "owner_org"):
        assert after.get(key) == before.get(key), key
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]
    source_after = act(world.sysadmin, "harvest_source_show", id=source["id"])
    assert (source_after["title"], source_after["url"]) == (source_before["title"], source_before["url"])
    assert act(world.sysadmin, "organization_show", id=world.org["id"])["title"] == world.org["title"]
    assert after["groups"] == before["groups"]
    assert {t["id"] for t in act(world.sysadmin, "api_token_list", user_id=world.editor["id"])} == tokens_before
    assert act(world.sysadmin, "package_search", fq=f"owner_org:{world.org['id']}", include_private=True)["count"] == 1
    everyone = act(world.sysadmin, "user_list", all_fields=True)
    assert [u["name"] for u in everyone if u["sysadmin"]] == [world.sysadmin["name"]]
    # the editor may delete datasets, but not a published one: a clear 409 (the workflow's rule), not a 500
    app = make_app()
    editor_token = factories.APIToken(user=world.editor["name"])["token"]
    res = app.post(f"/dataset/delete/{pkg['name']}", headers={"Authorization": editor_token}, follow_redirects=False)
    assert res.status_code == 409, res.status_code
    assert act(world.sysadmin, "package_show", id=pkg["id"])["state"] == "active"
