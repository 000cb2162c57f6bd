"""The outbox hook and savepoints: a change rolled back with its savepoint
inside a published dataset's transaction never travels; the change committed
after it in the same transaction is noted and delivered once."""

from __future__ import annotations

import ckan.model as model
from conftest import drain, on_portal, published, queued

from ckanext.udp.transparency import sync
from ckanext.udp.transparency.portal import Portal


def test_a_rolled_back_savepoint_never_travels_and_the_committed_change_travels_once(hub, remote, client, monkeypatch):
    kept, dropped = published(hub), published(hub)
    drain(client)
    assert queued() == 0
    writes: list[tuple[str, str]] = []
    original = Portal.call

    def counting_call(self, action, **data):
        if action in ("package_create", "package_update", "package_delete"):
            writes.append((action, data.get("id")))
        return original(self, action, **data)

    monkeypatch.setattr(Portal, "call", counting_call)

    # one transaction: the first flush of both datasets happens inside a
    # savepoint that is rolled back (its outbox rows go with it); then one of
    # them is changed again outside it and the transaction commits
    savepoint = model.Session.begin_nested()
    for pid in (kept["id"], dropped["id"]):
        model.Package.get(pid).title = "Zurückgenommen"
    model.Session.flush()
    savepoint.rollback()
    model.Package.get(kept["id"]).title = "Übernommen"
    model.Session.commit()

    assert queued(kept["id"]) >= 1, "the committed change is noted although the rolled-back one was noted first"
    assert queued(dropped["id"]) == 0, "a change rolled back with its savepoint leaves no outbox row"
    stats = drain(client)
    assert stats.pushed == 1 and stats.failed == 0
    assert writes == [("package_update", kept["id"])], "delivered once, and only the committed change"
    assert on_portal(remote, kept["id"])["title"] == "Übernommen"
    assert on_portal(remote, dropped["id"])["title"] == dropped["title"]
    assert sync.mapping_row(kept["id"]).pushed["title"] == "Übernommen"
