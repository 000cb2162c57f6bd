"""Cross-site request forgery: state changes authenticated by a cookie need
the session's CSRF token, on the action API and on every form, whatever CKAN
exempted before; API tokens need none; the cookies stay on this site."""

from __future__ import annotations

from typing import Any

import pytest
from ckan.tests import factories
from govworld import World, act
from sessions import PASSWORD, csrf_token
from sessions import editor_with_password as _editor
from sessions import login as _login

EVIL = {"Origin": "http://evil.invalid", "Referer": "http://evil.invalid/page"}


class TestActionApiWithCookies:
    @pytest.fixture(autouse=True)
    def _a_program_used_the_api(self, app, world: World) -> None:
        """CKAN exempts a view from Flask-WTF's CSRF check, for the rest of the
        process, once a request with an API token reaches it: the state of every
        production worker. Without this the result depended on test order."""
        token = factories.APIToken(user=world.sysadmin["name"])["token"]
        assert app.post("/api/3/action/status_show", json={}, headers={"Authorization": token}).status_code == 200

    def test_json_write_without_token_is_refused(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        _login(app, editor)
        res = app.post("/api/3/action/udp_submit", json={"id": pkg["id"]}, headers=EVIL)
        assert res.status_code == 403
        assert res.json["success"] is False
        assert world.state(pkg) == "draft"

    def test_form_encoded_write_without_token_is_refused(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        _login(app, editor)
        res = app.post("/api/3/action/package_patch", data={"id": pkg["id"], "title": "Gefälscht"})
        assert res.status_code == 403
        assert act(world.sysadmin, "package_show", id=pkg["id"])["title"] == pkg["title"]

    def test_write_with_the_session_token_passes(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        token = _login(app, editor)
        res = app.post("/api/3/action/udp_submit", json={"id": pkg["id"]}, headers={"X-CSRFToken": token})
        assert res.status_code == 200, res.get_data(as_text=True)
        assert world.state(pkg) == "in_review"

    def test_a_wrong_token_is_refused(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        _login(app, editor)
        res = app.post("/api/3/action/udp_submit", json={"id": pkg["id"]}, headers={"X-CSRFToken": "forged"})
        assert res.status_code == 403
        assert world.state(pkg) == "draft"

    def test_reads_need_no_token(self, app, world: World):
        editor = _editor(world)
        _login(app, editor)
        assert app.post("/api/3/action/package_search", json={"q": "*:*"}).status_code == 200

    def test_writes_that_ckan_marks_as_reads_are_refused_on_get(self, app, world: World):
        """activity_delete is side-effect-free in CKAN (a GET deletes); with a cookie it is refused."""
        admin = factories.Sysadmin(password=PASSWORD)
        pkg = world.dataset()
        before = len(act(world.sysadmin, "package_activity_list", id=pkg["id"]))
        _login(app, admin)
        res = app.get("/api/3/action/activity_delete", query_string={"offset_days": "0"})
        assert res.status_code == 403
        assert len(act(world.sysadmin, "package_activity_list", id=pkg["id"])) == before


class TestApiTokens:
    def test_an_api_token_needs_no_csrf_token(self, app, world: World):
        pkg = world.dataset()
        token = factories.APIToken(user=world.editor["name"])["token"]
        res = app.post("/api/3/action/udp_submit", json={"id": pkg["id"]}, headers={"Authorization": token, **EVIL})
        assert res.status_code == 200
        assert world.state(pkg) == "in_review"


class TestForms:
    def test_the_exemption_ckan_grants_after_a_sessionless_post_does_not_open_our_view(self, app, world: World):
        """CKAN exempts a view from CSRF checks for the life of the process once
        a request without a session reaches it; a forged post must still fail."""
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        app.post(f"/dataset/{pkg['name']}/governance/submit", data={})  # anonymous: exempts the view
        _login(app, editor)
        res = app.post(f"/dataset/{pkg['name']}/governance/submit", data={}, headers=EVIL, follow_redirects=False)
        assert res.status_code == 403
        assert world.state(pkg) == "draft"

    def test_the_exemption_does_not_open_ckans_forms_either(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        app.post(f"/dataset/edit/{pkg['name']}", data={})  # anonymous: exempts dataset.edit
        _login(app, editor)
        res = app.post(f"/dataset/edit/{pkg['name']}", data={"title": "Gefälscht", "save": "1"}, follow_redirects=False)
        assert res.status_code == 403
        assert act(world.sysadmin, "package_show", id=pkg["id"])["title"] == pkg["title"]

    def test_a_post_carrying_only_the_remember_cookie_is_refused(self, make_app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        app = make_app()
        _login(app, editor, remember=True)
        remember = app.client.get_cookie("remember_token", domain="test.ckan.net")
        other = make_app()  # a browser holding only the long-lived "remember me" cookie
        other.post(f"/dataset/{pkg['name']}/governance/submit", data={})  # exempts the view
        other.client.set_cookie("remember_token", remember.value, domain="test.ckan.net")
        assert other.get("/dashboard/datasets", follow_redirects=False).status_code == 200  # logged in by it
        res = other.post(f"/dataset/{pkg['name']}/governance/submit", data={}, follow_redirects=False)
        assert res.status_code == 403
        assert world.state(pkg) == "draft"

    def test_the_form_with_its_token_works(self, app, world: World):
        editor = _editor(world)
        pkg = world.dataset(by=editor)
        token = _login(app, editor)
        res = app.post(f"/dataset/{pkg['name']}/governance/submit", data={"_csrf_token": token}, follow_redirects=False)
        assert res.status_code == 302
        assert world.state(pkg) == "in_review"


def _set_cookies(res: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in res.headers.getlist("Set-Cookie")}


class TestCookies:
    def test_login_cookies_are_same_site_lax(self, app, world: World):
        user = factories.User(password=PASSWORD)
        page = app.get("/user/login").get_data(as_text=True)
        res = app.post(
            "/user/login",
            data={"login": user["name"], "password": PASSWORD, "_csrf_token": csrf_token(page), "remember": "86400000"},
            follow_redirects=False,
        )
        cookies = _set_cookies(res)
        assert "remember_token" in cookies
        for header in cookies.values():
            assert "SameSite=Lax" in header, header
            assert "Secure" not in header  # the test site is http

    @pytest.mark.ckan_config("ckan.site_url", "https://daten.karlsruhe.invalid")
    def test_cookies_are_secure_when_the_site_is_https(self, app, world: World):
        user = factories.User(password=PASSWORD)
        page = app.get("/user/login", base_url="https://daten.karlsruhe.invalid").get_data(as_text=True)
        res = app.post(
            "/user/login",
            base_url="https://daten.karlsruhe.invalid",
            follow_redirects=False,
            data={"login": user["name"], "password": PASSWORD, "_csrf_token": csrf_token(page), "remember": "86400000"},
        )
        cookies = _set_cookies(res)
        assert "remember_token" in cookies
        for header in cookies.values():
            assert "Secure" in header and "SameSite=Lax" in header, header
