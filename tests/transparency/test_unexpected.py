"""An exception the worker does not expect (neither ``PortalError`` nor ``Drift``)
from one dataset's planning or push: that dataset fails with backoff, logged
without the token; the other datasets of the pass are delivered."""

from __future__ import annotations

import ckan.model as model
import pytest
from conftest import drain, on_portal, published
from udp_testing import records_of

from ckanext.udp.transparency import payload, sync
from ckanext.udp.transparency.model import outbox


@pytest.mark.parametrize("workers", ["1", "4"])
def test_an_unexpected_exception_fails_one_dataset_and_the_others_go_on(
    hub, remote, client, ckan_config, monkeypatch, workers
):
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.concurrency", workers)
    push_breaks, plan_breaks, fine = (published(hub) for _ in range(3))
    original_transfer, original_to_portal = sync._transfer, payload.to_portal

    def broken_transfer(portal, job):
        if job.package_id == push_breaks["id"]:
            # e.g. http.client.IncompleteRead, which the client does not wrap; the token in it
            raise RuntimeError(f"kaputte Antwort (Authorization: {remote.token})")
        return original_transfer(portal, job)

    def broken_to_portal(pkg):
        if pkg["id"] == plan_breaks["id"]:
            raise KeyError(f"unerwartetes Feld {remote.token}")
        return original_to_portal(pkg)

    monkeypatch.setattr(sync, "_transfer", broken_transfer)
    monkeypatch.setattr(payload, "to_portal", broken_to_portal)
    with records_of("ckanext.udp.transparency.sync") as records:
        stats = sync.deliver(client)
    assert (stats.pushed, stats.failed) == (1, 2)
    assert on_portal(remote, fine["id"]) is not None
    assert on_portal(remote, push_breaks["id"]) is None and on_portal(remote, plan_breaks["id"]) is None
    rows = {r.package_id: r for r in model.Session.execute(outbox.select())}
    model.Session.commit()
    assert set(rows) == {push_breaks["id"], plan_breaks["id"]}
    for row in rows.values():
        assert row.attempts == 1 and row.next_attempt > sync.utcnow()
        assert row.last_error and remote.token not in row.last_error
    assert "RuntimeError" in rows[push_breaks["id"]].last_error
    logged = "\n".join(r.getMessage() for r in records)
    assert push_breaks["id"] in logged and plan_breaks["id"] in logged
    assert "kaputte Antwort" in logged and remote.token not in logged
    # mended: both arrive on the next attempts
    monkeypatch.setattr(sync, "_transfer", original_transfer)
    monkeypatch.setattr(payload, "to_portal", original_to_portal)
    drain(client)
    assert on_portal(remote, push_breaks["id"]) is not None and on_portal(remote, plan_breaks["id"]) is not None
