"""A sysadmin reads the comparison of the data hub with the transparency portal
(``/ckan-admin/transparenz``): a title changed by hand on the portal shows up,
field by field, beside what was transferred; "bring in step" puts the hub's
version back; "transfer everything again" queues every dataset. Nobody else
gets the page or its buttons, and a button without CKAN's CSRF token does
nothing. axe finds nothing, at desktop width and at 375 px.

The portal is the second stock CKAN (``scripts/second_ckan.sh``); the served
hub finds it through ``UDP_TRANSPARENCY_URL``/``_TOKEN`` in its environment,
set here before the module's live server starts. The deliveries of the
publications are done by the test process (``sync.deliver``), as the worker
would."""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Iterator

import ckan.model as model
import pytest
from browserlib import assert_fits
from playwright.sync_api import expect

from ckanext.udp.transparency import sync
from ckanext.udp.transparency.model import mapping, outbox
from ckanext.udp.transparency.portal import TOKEN_ENV, URL_ENV, Portal

TESTS = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "governance"))
from govworld import World  # noqa: E402
from localsources import second_ckan  # noqa: E402

PAGE = "/ckan-admin/transparenz"


@pytest.fixture(scope="module", autouse=True)
def remote() -> Iterator[second_ckan.SecondCkan]:
    """The transparency portal; autouse so the environment is set before the live server starts."""
    portal = second_ckan.start()
    saved = {key: os.environ.get(key) for key in (URL_ENV, TOKEN_ENV)}
    os.environ[URL_ENV] = portal.url
    os.environ[TOKEN_ENV] = portal.token
    yield portal
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _deliver_all(portal: Portal) -> None:
    for _ in range(20):
        sync.deliver(portal)
        if not model.Session.execute(outbox.select().limit(1)).first():
            return
    raise AssertionError("the outbox did not empty")


def test_a_sysadmin_sees_a_hand_edit_and_brings_the_copy_in_step(
    remote, live_server, ckan_config, monkeypatch, new_page, make_user, axe_check, steps
):
    # the copies name the hub as the served hub does (its own site URL)
    monkeypatch.setitem(ckan_config, "ckan.site_url", live_server.url)
    remote.reset()
    model.Session.execute(mapping.delete())
    model.Session.commit()
    hub = World()
    baeume = hub.published(title="Baumkataster", notes="Alle Straßenbäume der Stadt.")
    luft = hub.published(title="Luftmessstationen", notes="Stündliche Messwerte.")
    portal = Portal.from_config()
    assert portal is not None
    _deliver_all(portal)
    # someone edits the copy by hand on the portal
    remote.action("package_patch", id=baeume["id"], title="Baumkataster (im Portal geändert)")

    admin = make_user(sysadmin=True, fullname="Ada Admin")
    page = new_page(admin)
    page.goto(PAGE)
    assert page.locator("[role=main] h1").inner_text() == "Transparenzportal: Abgleich"
    edited = page.locator("section.udp-tp-edited")
    expect(edited.locator("h2")).to_have_text("Im Transparenzportal von Hand geändert (1)")
    expect(edited.get_by_role("link", name="Baumkataster")).to_be_visible()
    row = edited.locator("tbody tr")
    expect(row).to_have_count(1)
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells == ["title", "Baumkataster", "Baumkataster (im Portal geändert)"]
    assert "Luftmessstationen" not in page.locator("[role=main]").inner_text()
    facts = page.locator("dl.udp-tp-facts").inner_text()
    assert remote.url in facts and "bleiben erhalten und werden hier gemeldet" in facts
    axe_check(page, "the drift page with a hand edit")
    steps.shot(page, "abgleich-handaenderung")

    phone = new_page(admin, mobile=True)
    phone.goto(PAGE)
    expect(phone.locator("section.udp-tp-edited")).to_be_visible()
    assert_fits(phone)
    axe_check(phone, "the drift page at 375 px")
    steps.shot(phone, "abgleich-375px")

    # nobody else: logged-in non-sysadmins and anonymous visitors get 403, the buttons too
    other = new_page(make_user())
    anonymous = new_page()
    for visitor in (other, anonymous):
        assert visitor.goto(PAGE).status == 403
        for path in ("/push", "/reconcile"):
            answer = visitor.request.post(PAGE + path, form={"id": baeume["id"]}, max_redirects=0)
            assert answer.status in (400, 403), (path, answer.status)
    # a sysadmin's button without the CSRF token is refused and changes nothing
    answer = page.request.post(PAGE + "/reconcile", form={"id": baeume["id"]}, max_redirects=0)
    assert answer.status in (400, 403), answer.status
    assert remote.action("package_show", id=baeume["id"])["title"] == "Baumkataster (im Portal geändert)"

    edited.get_by_role("button", name="Jetzt abgleichen (Stand der Datenplattform übernehmen)").click()
    expect(page.get_by_text("Der Stand der Datenplattform wurde übertragen.")).to_be_visible()
    expect(
        page.get_by_text("Keine Abweichungen: Das Transparenzportal stimmt mit der Datenplattform überein.")
    ).to_be_visible()
    assert remote.action("package_show", id=baeume["id"])["title"] == "Baumkataster"
    axe_check(page, "the drift page without differences")
    steps.shot(page, "abgleich-ohne-abweichung")

    page.get_by_role("button", name="Alles erneut übertragen").click()
    expect(page.get_by_text("2 Datensätze sind zur Übertragung vorgemerkt.")).to_be_visible()
    queued = {r.package_id for r in model.Session.execute(outbox.select())}
    model.Session.commit()
    assert queued == {baeume["id"], luft["id"]}
