"""The worker's loop (``sync.run_worker``) has no barrier between passes: a
change to one dataset is delivered while the push of another dataset is still
in flight (a slow portal answer holds back only its own dataset); per dataset
the order is kept (a dataset in flight is not pushed a second time at once)."""

from __future__ import annotations

import threading

import ckan.model as model
from conftest import drain, harvester_edit, on_portal, published, queued, wait_for

from ckanext.udp.transparency import sync


def test_a_change_is_delivered_while_another_datasets_push_is_in_flight(hub, remote, client, monkeypatch):
    slow, quick = published(hub, title="Langsam v0"), published(hub, title="Schnell v0")
    drain(client)
    held, entered = threading.Event(), threading.Event()
    pushes: list[str] = []
    original = sync._transfer

    def transfer(portal, job):
        pushes.append(job.package_id)
        if job.package_id == slow["id"]:
            entered.set()
            held.wait(120)  # the portal's answer for this dataset is slow
        return original(portal, job)

    monkeypatch.setattr(sync, "_transfer", transfer)
    stopping = threading.Event()
    wakeup = sync.Wakeup()

    def work() -> None:
        try:
            sync.run_worker(client, interval=0.1, stop=stopping.is_set, wakeup=wakeup)
        finally:
            model.Session.remove()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        harvester_edit(slow["id"], title="Langsam v1")
        assert entered.wait(60), "the slow push did not start"
        harvester_edit(quick["id"], title="Schnell v1")
        harvester_edit(slow["id"], title="Langsam v2")  # waits for its own push in flight
        wait_for(
            lambda: (on_portal(remote, quick["id"]) or {}).get("title") == "Schnell v1",
            60,
            "the quick dataset's change while the slow push is in flight",
        )
        assert not held.is_set()
        assert pushes.count(slow["id"]) == 1, "a dataset in flight is not pushed again at once"
        held.set()
        wait_for(
            lambda: (on_portal(remote, slow["id"]) or {}).get("title") == "Langsam v2",
            60,
            "the slow dataset's last change after its push in flight",
        )
    finally:
        held.set()
        stopping.set()
        wakeup.interrupt()
        worker.join(60)
    assert not worker.is_alive()
    assert queued() == 0
    assert on_portal(remote, quick["id"])["title"] == "Schnell v1"
