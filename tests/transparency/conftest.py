"""Fixtures of the transparency sync tests: the hub's governance world and the
transparency portal, played by the second stock CKAN (``scripts/second_ckan.sh``)."""

from __future__ import annotations

import pathlib
import sys
import time
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa

TESTS = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "governance"))

from govworld import World, act  # noqa: E402
from localsources import second_ckan as second  # noqa: E402

from ckanext.udp.transparency import sync  # noqa: E402
from ckanext.udp.transparency.model import outbox  # noqa: E402
from ckanext.udp.transparency.portal import Portal  # noqa: E402


@pytest.fixture(scope="session")
def portal_server() -> second.SecondCkan:
    """The transparency portal: a second stock CKAN 2.12 (started once per session)."""
    return second.start()


@pytest.fixture
def remote(portal_server: second.SecondCkan, monkeypatch: pytest.MonkeyPatch, ckan_config: Any) -> second.SecondCkan:
    """The portal, emptied, configured as the hub's transparency portal."""
    portal_server.reset()
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.url", portal_server.url)
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.token", portal_server.token)
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.retry_base", "0.2")
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.retry_max", "1")
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.timeout", "10")
    return portal_server


@pytest.fixture
def hub(with_plugins: None, clean_db: None, clean_index: None, remote: second.SecondCkan) -> World:
    return World()


@pytest.fixture
def client(remote: second.SecondCkan) -> Portal:
    portal = Portal.from_config()
    assert portal is not None
    return portal


LICENCE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"


def published(hub: World, **kw: Any) -> dict[str, Any]:
    """A published open dataset of the hub with licence, attribution and a description."""
    kw.setdefault("license_id", LICENCE)
    kw.setdefault("license_attribution_by_text", "Stadt Karlsruhe, Umwelt- und Arbeitsschutz")
    kw.setdefault("notes", "Messwerte der Stadt Karlsruhe.")
    return hub.published(**kw)


def as_site_user() -> dict[str, Any]:
    """The context of a change that applies at once, as a harvest run's does."""
    return {"user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"], "ignore_auth": True}


def harvester_edit(pkg_id: str, **changes: Any) -> dict[str, Any]:
    """A change to a live dataset that applies at once (as a harvest run's does)."""
    return tk.get_action("package_patch")(as_site_user(), {"id": pkg_id, **changes})


def queued(package_id: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(outbox)
    if package_id:
        query = query.where(outbox.c.package_id == package_id)
    count = model.Session.execute(query).scalar_one()
    model.Session.commit()
    return count


def drain(portal: Portal, timeout: float = 60) -> sync.Stats:
    """Deliver until the outbox is empty (waiting out backoffs)."""
    total = sync.Stats()
    deadline = time.monotonic() + timeout
    while queued():
        stats = sync.deliver(portal)
        for field in ("pushed", "removed", "unchanged", "absent", "failed"):
            setattr(total, field, getattr(total, field) + getattr(stats, field))
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox not empty after {timeout} s")
        time.sleep(0.05)
    return total


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Until ``predicate()`` holds, at most ``timeout`` seconds (then fails naming ``what``)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def on_portal(remote: second.SecondCkan, package_id: str) -> dict[str, Any] | None:
    """The portal's copy as the public sees it (None: not visible)."""
    try:
        return remote.action("package_show", _anonymous=True, id=package_id)
    except second.RemoteError as err:
        if err.status in (403, 404):
            return None
        raise


__all__ = ["LICENCE", "World", "act", "drain", "on_portal", "published", "queued", "wait_for"]
