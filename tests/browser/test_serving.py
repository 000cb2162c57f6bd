"""Serving: a request that fails in the middle of a database flush leaves no
broken session behind, and error pages are German, carry the request id that
is also in the log, and show nothing of the internals.

The failure is provoked for real: a trigger in the test database refuses to
insert a resource named ``vergiftet`` (as a constraint, a full disk or a
deadlock would), so the flush inside ``resource_create`` fails in PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories

POISON = "vergiftet"
# SQL as SQLAlchemy writes it (upper case: a case-blind "select " would match
# every <select> element of the page), the rest in any case
LEAKS = re.compile(
    r"(?-i:SELECT |INSERT INTO|UPDATE \w+ SET|DELETE FROM)|\bselect\b[^<>]*\bfrom\b"
    r"|Traceback|psycopg2|sqlalchemy|RaiseException"
    r"|File \"|\.py\b|/work/|/usr/|site-packages|udp_test_poison",
    re.IGNORECASE,
)


@pytest.fixture
def poisoned_resource_insert() -> Iterator[None]:
    with model.meta.engine.begin() as conn:
        conn.execute(
            sa.text("""
            CREATE OR REPLACE FUNCTION udp_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'poisoned resource % refused', NEW.name; END $$;
            DROP TRIGGER IF EXISTS udp_test_poison ON resource;
            CREATE TRIGGER udp_test_poison BEFORE INSERT ON resource FOR EACH ROW
                WHEN (NEW.name = 'vergiftet') EXECUTE FUNCTION udp_test_poison();
        """)
        )
    yield
    with model.meta.engine.begin() as conn:
        conn.execute(
            sa.text("DROP TRIGGER IF EXISTS udp_test_poison ON resource; DROP FUNCTION IF EXISTS udp_test_poison();")
        )


@pytest.fixture
def editor_with_dataset(make_user) -> tuple[dict[str, Any], dict[str, Any], str]:
    editor = make_user()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    dataset = factories.Dataset(owner_org=org["id"], user=editor)
    token = tk.get_action("api_token_create")(
        {"user": editor["name"], "ignore_auth": True}, {"user": editor["name"], "name": "browser"}
    )["token"]
    return editor, dataset, token


def http(url: str, data: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, dict[str, str], str]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = token
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def assert_others_are_served(live_server, dataset: dict[str, Any], token: str) -> None:
    """50 requests from other clients right after, spread over every worker:
    anonymous pages and API calls, and an editor's own form."""
    urls = [
        ("/api/3/action/status_show", None),
        (f"/api/3/action/package_show?id={dataset['id']}", token),
        ("/dataset/", None),
        ("/dataset/new", token),
        ("/api/3/action/package_search?q=*:*", None),
    ] * 10

    def fetch(item: tuple[str, str | None]) -> tuple[str, int, str]:
        path, auth = item
        code, _headers, text = http(live_server.url + path, token=auth)
        return path, code, text[:300]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fetch, urls))
    failed = [(path, code, text) for path, code, text in results if code != 200]
    assert not failed, failed


def test_failed_form_save_shows_a_german_page_and_leaves_no_broken_session(
    new_page, live_server, editor_with_dataset, poisoned_resource_insert, axe_check, steps
):
    editor, dataset, token = editor_with_dataset
    page = new_page(editor)
    page.goto(f"/dataset/{dataset['name']}/resource/new")
    page.click("#resource-link-button")
    page.fill("#field-resource-url", "https://example.org/daten.csv")
    page.fill("#field-name", POISON)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("form#resource-edit button.btn-primary[type=submit]").click()
    response = posted.value
    steps.shot(page, "500 page")
    assert response.status == 500
    html = page.content()
    text = page.locator("body").inner_text()
    assert "Das hat leider nicht geklappt" in text, text
    rid = response.headers["x-request-id"]
    assert rid in text
    leak = LEAKS.search(html)
    assert not leak, html[max(0, leak.start() - 200) : leak.end() + 200]
    log = live_server.log_text()
    assert f"[request {rid}] failed: POST" in log and "Traceback" in log  # the details are in the log only
    axe_check(page, "500 page")

    assert_others_are_served(live_server, dataset, token)


def test_failed_api_call_answers_json_with_request_id_and_leaves_no_broken_session(
    live_server, editor_with_dataset, poisoned_resource_insert
):
    editor, dataset, token = editor_with_dataset
    status, headers, body = http(
        f"{live_server.url}/api/3/action/resource_create",
        {"package_id": dataset["id"], "name": POISON, "url": "https://example.org/a.csv"},
        token,
    )
    assert status == 500, body
    answer = json.loads(body)
    assert answer["success"] is False
    rid = headers["X-Request-ID"]
    assert rid in answer["error"]["message"] and answer["error"]["request_id"] == rid
    assert "Interner Fehler" in answer["error"]["message"] or "interner Fehler" in answer["error"]["message"]
    assert not LEAKS.search(body), body
    assert f"[request {rid}]" in live_server.log_text()

    assert_others_are_served(live_server, dataset, token)


def test_not_found_page_is_german(page, axe_check):
    response = page.goto("/gibt-es-nicht")
    assert response.status == 404
    text = page.locator("#content").inner_text()
    assert "Seite nicht gefunden" in text
    assert "The requested URL" not in text
    assert response.headers["x-request-id"] in text
    axe_check(page, "404 page")
