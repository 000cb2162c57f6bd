"""The drift page's failures: whatever goes wrong while "Jetzt abgleichen"
brings a dataset in step (or while the page compares both sides), the sysadmin
gets a German message, never a 500; the change stays queued; the traceback is
in the log only, the portal's token blanked out."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator

import ckan.model as model
import pytest
from ckan.tests import factories
from conftest import drain, published, queued
from udp_testing import records_of

from ckanext.udp.transparency import sync
from ckanext.udp.transparency.portal import Portal

PASSWORD = "Correct-Horse-4711"


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """What the transparency plugin logs."""
    with records_of("ckanext.udp.transparency") as found:
        yield found


def _sysadmin_page(app) -> str:
    """Logged in as a sysadmin (login form), the drift page's HTML."""
    admin = factories.Sysadmin(password=PASSWORD)
    app.post("/user/login", data={"login": admin["name"], "password": PASSWORD})
    res = app.get("/ckan-admin/transparenz")
    assert res.status_code == 200
    return res.body


def _csrf(body: str) -> str:
    return body.split('name="_csrf_token" value="')[1].split('"')[0]


def test_an_unexpected_error_of_the_button_is_a_german_message_and_the_change_stays_queued(
    hub, remote, client, app, monkeypatch, records
):
    pkg = published(hub)
    drain(client)
    remote.action("package_patch", id=pkg["id"], title="Von Hand geändert")
    body = _sysadmin_page(app)

    def garbled(self, action, **data):
        # a garbled answer: http.client raises what the client does not wrap (not an OSError), the request echoed
        raise http.client.BadStatusLine(f"Authorization: {remote.token}")

    monkeypatch.setattr(Portal, "call", garbled)
    res = app.post(
        "/ckan-admin/transparenz/reconcile",
        data={"id": pkg["id"], "_csrf_token": _csrf(body)},
        follow_redirects=True,
    )
    assert res.status_code == 200
    assert "Die Übertragung ist unerwartet gescheitert; die Änderung bleibt vorgemerkt." in res.body
    assert remote.token not in res.body and "BadStatusLine" not in res.body
    assert queued(pkg["id"]) == 1
    logged = "\n".join(r.getMessage() for r in records)
    assert "BadStatusLine" in logged and "Traceback" in logged and pkg["id"] in logged
    assert remote.token not in logged and "***" in logged
    # the portal's copy keeps the hand edit until the button works again
    monkeypatch.undo()
    assert remote.action("package_show", id=pkg["id"])["title"] == "Von Hand geändert"


def test_an_unexpected_error_of_the_comparison_is_a_german_message_on_the_page(
    hub, remote, client, app, monkeypatch, records
):
    published(hub)
    drain(client)

    def broken_report(portal):
        raise KeyError(f"result {remote.token}")

    monkeypatch.setattr(sync, "report", broken_report)
    body = _sysadmin_page(app)
    assert "Der Vergleich mit dem Transparenzportal ist unerwartet gescheitert" in body
    assert remote.token not in body
    logged = "\n".join(r.getMessage() for r in records)
    assert "KeyError" in logged and remote.token not in logged
    # the page still works: the session is usable after the failure
    model.Session.execute(model.package_table.select().limit(1))
