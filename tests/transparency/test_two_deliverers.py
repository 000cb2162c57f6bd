"""Two deliverers at once (a second worker process, ``worker --once`` beside the
running worker, the drift page's button): each dataset is worked on by one of
them at a time (``sync.Claims``), so nothing leaks and nothing is pushed twice."""

from __future__ import annotations

import threading

import ckan.model as model
import sqlalchemy as sa
from conftest import act, drain, on_portal, published, queued

from ckanext.udp.transparency import sync
from ckanext.udp.transparency.portal import Portal, PortalError


def advisory_locks() -> int:
    count = model.Session.execute(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one()
    model.Session.commit()
    return count


def test_a_withdrawal_delivered_by_a_second_deliverer_while_a_push_is_in_flight_leaves_no_copy(
    hub, remote, client, monkeypatch
):
    """The first deliverer's push is on its way when the dataset is withdrawn
    and a second deliverer runs a whole pass. Without claims the second one
    removed the (not yet existing) copy and deleted every outbox row, then the
    first push landed: a withdrawn dataset public on the portal, nothing left
    to correct it."""
    pkg = published(hub)
    original = Portal.call
    fired: list[str] = []
    second: list[sync.Stats | BaseException] = []

    def withdraw_and_deliver() -> None:
        try:
            act(hub.editor, "udp_withdraw", id=pkg["id"], reason="Fehler entdeckt")
            second.append(sync.deliver(Portal(remote.url, remote.token)))
        except BaseException as err:  # noqa: BLE001 (reported below)
            second.append(err)
        finally:
            model.Session.remove()

    def racing_call(self, action, **data):
        if action in ("package_create", "package_update") and not fired:
            fired.append(action)
            thread = threading.Thread(target=withdraw_and_deliver)
            thread.start()
            thread.join(120)
        return original(self, action, **data)

    monkeypatch.setattr(Portal, "call", racing_call)
    drain(client, timeout=120)
    assert fired, "the push was in flight when the second deliverer ran"
    assert len(second) == 1 and isinstance(second[0], sync.Stats), second
    assert on_portal(remote, pkg["id"]) is None, "the withdrawn dataset is not public on the portal"
    assert not sync.mapping_row(pkg["id"]).live
    assert queued() == 0
    assert advisory_locks() == 0, "every claim is given up"


def test_two_deliverers_at_once_push_each_dataset_once(hub, remote, client, monkeypatch):
    """Both have read the same outbox before either plans (a barrier at each
    one's first plan): each dataset is pushed by one of them, once."""
    pkgs = [published(hub, name=f"haushalt-{i}", title=f"Haushalt {i}") for i in range(6)]
    barrier = threading.Barrier(2, timeout=60)
    original_plan = sync.plan
    planned_once: set[int] = set()

    def plan_together(package_id, force=False, site_user=None):
        if threading.get_ident() not in planned_once:
            planned_once.add(threading.get_ident())
            barrier.wait()
        return original_plan(package_id, force, site_user)

    monkeypatch.setattr(sync, "plan", plan_together)
    results: dict[str, sync.Stats | BaseException] = {}

    def run(name: str) -> None:
        try:
            results[name] = sync.deliver(Portal(remote.url, remote.token))
        except BaseException as err:  # noqa: BLE001 (reported below)
            results[name] = err
        finally:
            model.Session.remove()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert all(isinstance(r, sync.Stats) for r in results.values()) and len(results) == 2, results
    a, b = results["a"], results["b"]
    assert (a.failed, b.failed) == (0, 0), results
    assert a.pushed + b.pushed == len(pkgs), results
    assert queued() == 0
    for pkg in pkgs:
        kinds = [act_["activity_type"] for act_ in remote.action("package_activity_list", id=pkg["id"], limit=100)]
        assert kinds == ["new package"], (pkg["name"], kinds)
    assert advisory_locks() == 0, "every claim is given up"


def test_a_pass_plans_in_chunks_that_start_small_and_cover_every_dataset_once():
    """The first pushes of a pass start after ``concurrency`` datasets are planned
    (latency); later chunks grow to ``PLAN_CHUNK`` (few portal searches)."""
    assert sync._chunks(20, 4) == [(0, 4), (4, 12), (12, 20)]
    for n in (0, 1, 7, 200, 10000):
        slices = sync._chunks(n, 4)
        assert [i for a, b in slices for i in range(a, b)] == list(range(n))
        assert all(b - a <= sync.PLAN_CHUNK for a, b in slices)
    assert len(sync._chunks(10000, 4)) <= 10000 // sync.PLAN_CHUNK + 4


def test_an_organization_created_at_once_by_another_deliverer_is_taken(remote, client, monkeypatch):
    """Two deliverers both miss the organization and create it at once: the
    portal refuses the second insert with a 500 (its database's unique name, seen
    in the portal's log); the loser takes the winner's organization."""
    original = Portal.call

    def racing(self, action, **data):
        if action == "organization_create":
            original(self, action, **data)  # the other deliverer's insert, committed first
            raise PortalError(action, 500, {"message": "Internal Server Error"})
        return original(self, action, **data)

    monkeypatch.setattr(Portal, "call", racing)
    assert client.organization("stadtkaemmerei", "Stadtkämmerei") == "stadtkaemmerei"
    assert remote.action("organization_show", id="stadtkaemmerei")["title"] == "Stadtkämmerei"
