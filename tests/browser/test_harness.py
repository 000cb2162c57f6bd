"""The browser harness itself: axe catches what it should, the portal is served
by gunicorn, logins and the 375 px viewport work, failures leave screenshots."""

from __future__ import annotations

import pathlib
import urllib.request

import pytest
from browserlib import Steps, assert_fits, axe_results

BAD_PAGE = """<!doctype html>
<html lang="de"><head><title>Kaputte Seite</title></head>
<body><main>
  <h1>Suche</h1>
  <p style="color:#bbbbbb;background:#ffffff">Hellgrauer Text auf Weiß ist kaum lesbar.</p>
  <input type="text" name="q">
</main></body></html>"""

GOOD_PAGE = """<!doctype html>
<html lang="de"><head><title>Gute Seite</title></head>
<body><main>
  <h1>Suche</h1>
  <p style="color:#333333;background:#ffffff">Dunkler Text auf Weiß.</p>
  <label for="q">Suchbegriff</label> <input id="q" type="text" name="q">
</main></body></html>"""


def test_axe_catches_unlabeled_input_and_low_contrast(page, axe_check):
    page.set_content(BAD_PAGE)
    found = {v["id"] for v in axe_results(page)["violations"]}
    assert {"label", "color-contrast"} <= found, found
    with pytest.raises(AssertionError) as failure:
        axe_check(page, "the known-bad page")
    message = str(failure.value)
    assert "label" in message and "color-contrast" in message
    assert "input" in message  # names the element


def test_axe_passes_a_good_page(page, axe_check):
    page.set_content(GOOD_PAGE)
    axe_check(page)


def test_portal_is_served_by_gunicorn(live_server):
    with urllib.request.urlopen(f"{live_server.url}/api/3/action/status_show") as answer:
        assert answer.headers["Server"].startswith("gunicorn")
    assert "Werkzeug" not in live_server.log_text()


def test_narrow_viewport_and_overflow_check(mobile_page):
    mobile_page.set_content(GOOD_PAGE.replace("<head>", '<head><meta name="viewport" content="width=device-width">'))
    assert mobile_page.evaluate("window.innerWidth") == 375
    assert_fits(mobile_page)
    mobile_page.set_content(
        GOOD_PAGE.replace("</main>", '<div style="width:600px">breit</div></main>').replace(
            "<head>", '<head><meta name="viewport" content="width=device-width">'
        )
    )
    with pytest.raises(AssertionError, match="wider than the screen"):
        assert_fits(mobile_page)


def test_login_through_the_form(new_page, make_user):
    user = make_user(fullname="Erika Mustermann")
    page = new_page(user)
    page.goto("/dashboard/datasets")
    assert "/user/login" not in page.url
    assert "Erika Mustermann" in page.content()


def test_failed_steps_are_kept_as_artifacts(page, tmp_path: pathlib.Path):
    recorder = Steps()
    page.set_content(GOOD_PAGE)
    recorder.pages.append(("anonym-desktop", page))
    recorder.shot(page, "Startseite geöffnet")
    recorder.dump(tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names[0] == "01-Startseite-ge-ffnet.png"
    assert {"last-anonym-desktop.png", "last-anonym-desktop.html", "last-anonym-desktop.url"} <= set(names)
    assert (tmp_path / "run" / names[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
