"""Cross-site request forgery, probed the way an attacker's page does it: a
logged-in editor opens a page of another origin, which submits forms and
sends credentialed ``fetch`` requests to the portal's state-changing
endpoints. None may change anything.

Two attacker origins: ``127.0.0.1`` on another port (same *site* as the
portal, so the browser sends its SameSite=Lax cookies: the CSRF guard has to
refuse) and ``localhost`` (another site: the cookies stay home)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

ATTACK = """<!doctype html>
<html lang="en"><head><title>Gewinnspiel</title></head><body>
<h1>Gewinnspiel</h1>
<iframe name="sink-workflow" title="a"></iframe><iframe name="sink-edit" title="b"></iframe>
<iframe name="sink-api-form" title="c"></iframe><iframe name="sink-api-plain" title="d"></iframe>
<form id="workflow" target="sink-workflow" method="post" action="{portal}/dataset/{name}/governance/submit">
  <input name="reason" value="forged"></form>
<form id="edit" target="sink-edit" method="post" action="{portal}/dataset/edit/{name}">
  <input name="title" value="Gefälscht per Formular"><input name="save" value="1"></form>
<form id="api-form" target="sink-api-form" method="post" action="{portal}/api/3/action/package_patch">
  <input name="id" value="{id}"><input name="title" value="Gefälscht per API-Formular"></form>
<form id="api-plain" target="sink-api-plain" method="post" action="{portal}/api/3/action/udp_submit" enctype="text/plain">
  <input name='{{"id": "{id}", "x": "' value='"}}'></form>
<script>
async function attack() {{
  const results = {{}};
  const send = async (label, url, init) => {{
    try {{ const r = await fetch(url, Object.assign({{credentials: "include"}}, init));
           results[label] = "status " + r.status; }}
    catch (e) {{ results[label] = "blocked: " + e.name; }}
  }};
  await send("fetch-json", "{portal}/api/3/action/package_patch", {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{id: "{id}", title: "Gefälscht per fetch"}})}});
  await send("fetch-text", "{portal}/api/3/action/udp_submit", {{method: "POST",
    headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{id: "{id}"}})}});
  await send("fetch-no-cors", "{portal}/api/3/action/package_patch", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "application/x-www-form-urlencoded"}},
    body: "id={id}&title=Gefälscht%20no-cors"}});
  await send("fetch-form-view", "{portal}/dataset/{name}/governance/submit", {{method: "POST", mode: "no-cors",
    body: new URLSearchParams({{reason: "forged"}})}});
  for (const id of ["workflow", "edit", "api-form", "api-plain"]) {{
    const frame = document.querySelector(`iframe[name="sink-${{id}}"]`);
    const loaded = new Promise(done => frame.addEventListener("load", done, {{once: true}}));
    document.getElementById(id).submit();
    await Promise.race([loaded, new Promise(done => setTimeout(done, 10000))]);
    results[id] = "submitted";
  }}
  document.title = "done";
  return results;
}}
</script></body></html>"""


@pytest.fixture
def attacker(http_server: Any) -> Any:
    """An HTTP server of another origin (tests/conftest.py) that serves the attacking page."""
    http_server.page = ""
    http_server.responder = lambda path: (200, "text/html; charset=utf-8", http_server.page.encode())
    http_server.port = int(http_server.url.rsplit(":", 1)[1])
    return http_server


def _draft(editor: dict[str, Any]) -> dict[str, Any]:
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    return factories.Dataset(owner_org=org["id"], user=editor, name="ziel-des-angriffs", title="Unveränderter Titel")


def _prime_ckans_exemption(portal: str, pkg: dict[str, Any]) -> None:
    """CKAN exempts a view from its CSRF check, for the life of the worker,
    once a request without a session reaches it: anonymous posts first, as
    any visitor or API client might have sent (each worker of several)."""
    paths = [
        f"/dataset/{pkg['name']}/governance/submit",
        f"/dataset/edit/{pkg['name']}",
        "/api/3/action/package_patch",
        "/api/3/action/udp_submit",
    ]
    for _ in range(4):
        for path in paths:
            request = urllib.request.Request(portal + path, data=b"x=1", method="POST")
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except urllib.error.HTTPError:
                pass


def _answers(live_server: Any, since: int, pkg: dict[str, Any]) -> list[int]:
    """Status codes the portal logged for the attacked endpoints since ``since``."""
    name = pkg["name"]
    pattern = re.compile(
        rf"\]\s+(\d{{3}}) (?:/dataset/{name}/governance/submit|/dataset/edit/{name}|"
        r"/api/3/action/(?:package_patch|udp_submit)) render"
    )
    deadline = time.monotonic() + 10
    found: list[int] = []
    while time.monotonic() < deadline:
        found = [int(m.group(1)) for m in pattern.finditer(live_server.log_text()[since:])]
        if len([a for a in found if a != 200]) >= 7:
            break
        time.sleep(0.2)
    return found


def _state(pkg: dict[str, Any]) -> tuple[str, str]:
    shown = tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})
    return shown["udp_workflow_state"], shown["title"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["same-site-other-port", "cross-site"])
def test_a_page_of_another_origin_changes_nothing(host, live_server, new_page, make_user, attacker, steps):
    editor = make_user()
    pkg = _draft(editor)
    page = new_page(editor)  # the editor is logged in to the portal in this browser
    page.goto(f"/dataset/{pkg['name']}")
    assert page.locator("form[action$='/governance/submit']").count() == 1  # the real button is there
    steps.shot(page, "logged-in")
    attacker.page = ATTACK.format(portal=live_server.url, name=pkg["name"], id=pkg["id"])
    _prime_ckans_exemption(live_server.url, pkg)
    log_before = len(live_server.log_text())
    evil = page.context.new_page()
    evil.goto(f"http://{host}:{attacker.port}/")
    results = evil.evaluate("attack()")
    evil.wait_for_function("document.title === 'done'")
    steps.shot(evil, "attacked")
    assert _state(pkg) == ("draft", "Unveränderter Titel"), results
    answers = _answers(live_server, log_before, pkg)
    # nothing was done: refusals (400, 403), the anonymous redirect of the workflow
    # view (302, cross-site), CKAN refusing a text/plain body (415), and at most
    # one 200: the CORS preflight of the JSON fetch, which grants nothing
    assert answers.count(200) <= 1 and set(answers) <= {200, 302, 400, 403, 415}, answers
    if host == "127.0.0.1":
        # same site: the browser sent the cookies along; all seven forged requests
        # that could reach the portal were refused, by the CSRF guard (403) or, in
        # a worker that had not exempted the view yet, by CKAN's own check (400)
        assert answers.count(403) + answers.count(400) == 7, (answers, json.dumps(results))
        assert "CSRF guard refused" in live_server.log_text()[log_before:]
    # the editor's own session still works: the real button submits
    page.goto(f"/dataset/{pkg['name']}")
    with page.expect_navigation():
        page.locator("form[action$='/governance/submit'] button[type=submit]").first.click()
    assert _state(pkg)[0] == "in_review"
