"""udp_transparency against the second stock CKAN as the transparency portal:
round trips through the workflow, what the copy carries, the leak test over
every non-public state, races, a portal that is down, drift."""

from __future__ import annotations

import threading

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from conftest import LICENCE, act, as_site_user, drain, harvester_edit, on_portal, published, queued
from udp_testing import records_of

from ckanext.udp.transparency import sync
from ckanext.udp.transparency.outbox import enqueue
from ckanext.udp.transparency.portal import Portal, PortalError


def test_publish_carries_identity_source_licence_resources_and_dcat_fields(hub, remote, client):
    pkg = published(hub, resources=[{"url": "https://www.karlsruhe.de/luft.csv", "name": "Messwerte", "format": "CSV"}])
    assert queued(pkg["id"]) >= 1
    stats = drain(client)
    assert stats.pushed == 1
    copy = on_portal(remote, pkg["id"])
    assert copy is not None, "a published open dataset reaches the portal"
    assert copy["id"] == pkg["id"] and copy["name"] == pkg["name"] and copy["title"] == pkg["title"]
    extras = {e["key"]: e["value"] for e in copy["extras"]}
    assert extras["udp_source_uri"].endswith(pkg["id"]) or extras["udp_source_uri"] == pkg.get("uri")
    assert extras["udp_source_name"] == "Urbane Datenplattform Karlsruhe"
    assert extras["license_attribution_by_text"] == "Stadt Karlsruhe, Umwelt- und Arbeitsschutz"
    assert copy["license_id"] == LICENCE
    assert "Quelle: Urbane Datenplattform Karlsruhe" in copy["notes"]
    hub_url = tk.config["ckan.site_url"].rstrip("/")
    assert copy["url"] == f"{hub_url}/dataset/{pkg['name']}"
    assert not any(k.startswith("udp_workflow") or k.startswith("udp_access") for k in extras)
    res = copy["resources"]
    assert len(res) == 1
    assert res[0]["url"] == f"{hub_url}/dataset/{pkg['id']}/resource/{pkg['resources'][0]['id']}/download"
    assert res[0]["id"] == pkg["resources"][0]["id"], "the same resource id on both sides"
    assert copy["organization"]["name"] == hub.org["name"], "the organization was created on the portal"
    # the mapping and the hub page's link
    row = sync.mapping_row(pkg["id"])
    assert row.live and row.portal_name == pkg["name"] and row.pushed_hash
    # nothing left to do: a second pass changes nothing
    assert sync.sync_dataset(client, pkg["id"]) == "unchanged"


def test_a_resource_keeps_its_id_on_the_portal_through_updates(hub, remote, client):
    """Each push replaces the copy's resources; with the hub's resource ids they are
    updated in place, so a link to a resource page on the portal stays valid."""
    pkg = published(hub, resources=[{"url": "https://www.karlsruhe.de/a.csv", "name": "Teil A", "format": "CSV"}])
    drain(client)
    first = pkg["resources"][0]["id"]
    assert [r["id"] for r in on_portal(remote, pkg["id"])["resources"]] == [first]
    harvester_edit(pkg["id"], title="Neuer Titel")
    tk.get_action("resource_create")(
        as_site_user(),
        {"package_id": pkg["id"], "url": "https://www.karlsruhe.de/b.csv", "name": "Teil B", "format": "CSV"},
    )
    drain(client)
    hub_ids = [r["id"] for r in tk.get_action("package_show")({"ignore_auth": True}, {"id": pkg["id"]})["resources"]]
    copy = on_portal(remote, pkg["id"])
    assert copy["title"] == "Neuer Titel"
    assert [r["id"] for r in copy["resources"]] == hub_ids and hub_ids[0] == first
    res = remote.action("resource_show", id=first)
    assert res["package_id"] == pkg["id"] and res["name"] == "Teil A"


def test_round_trip_edit_pending_edit_withdraw_restore_archive_access_class_delete(hub, remote, client):
    pkg = published(hub)
    drain(client)
    assert on_portal(remote, pkg["id"])["title"] == pkg["title"]

    # an applied change travels
    harvester_edit(pkg["id"], title="Luftqualität 2026")
    drain(client)
    assert on_portal(remote, pkg["id"])["title"] == "Luftqualität 2026"

    # an editor's change of a live dataset waits as a pending edit: it does not travel
    act(hub.editor, "package_patch", id=pkg["id"], title="Entwurf: noch nicht geprüft")
    drain(client)
    assert on_portal(remote, pkg["id"])["title"] == "Luftqualität 2026"
    act(hub.reviewer, "udp_approve", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"])["title"] == "Entwurf: noch nicht geprüft"

    # withdrawn: gone from public view on the portal
    act(hub.editor, "udp_withdraw", id=pkg["id"], reason="Fehlerhafte Werte")
    assert drain(client).removed == 1
    assert on_portal(remote, pkg["id"]) is None
    assert remote.action("package_show", id=pkg["id"])["state"] == "deleted"

    # restored (draft), submitted, approved: back, the same copy (no second one)
    act(hub.editor, "udp_restore", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"]) is None, "a draft never appears"
    act(hub.editor, "udp_submit", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"]) is None, "in review never appears"
    act(hub.reviewer, "udp_approve", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"])["state"] == "active"
    assert remote.action("package_search", q="*:*", include_deleted=True, include_private=True)["count"] == 1

    # archived: out of public view
    act(hub.reviewer, "udp_archive", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"]) is None
    act(hub.reviewer, "udp_restore", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"]) is not None

    # access class no longer open: out
    act(hub.reviewer, "udp_set_access_class", id=pkg["id"], access_class="internal")
    drain(client)
    assert on_portal(remote, pkg["id"]) is None

    # deleted on the hub (after withdrawal, as the workflow asks): stays out
    act(hub.editor, "udp_withdraw", id=pkg["id"], reason="Wird gelöscht")
    act(hub.editor, "package_delete", id=pkg["id"])
    drain(client)
    assert on_portal(remote, pkg["id"]) is None


def test_deleting_a_public_dataset_without_governance_rules_removes_the_copy(hub, remote, client):
    """A sysadmin may delete; whatever path a dataset leaves by, the copy goes."""
    pkg = published(hub)
    drain(client)
    assert on_portal(remote, pkg["id"]) is not None
    tk.get_action("package_delete")({"user": hub.sysadmin["name"], "ignore_auth": True}, {"id": pkg["id"]})
    drain(client)
    assert on_portal(remote, pkg["id"]) is None


@pytest.mark.parametrize(
    "state",
    [
        "draft",
        "in_review",
        "internal",
        "restricted",
        "archived",
        "withdrawn",
        "deleted_draft",
        "private_outside_workflow",
    ],
)
def test_leak_nothing_that_is_not_published_and_open_ever_appears(hub, remote, client, state):
    if state == "draft":
        pkg = hub.dataset()
    elif state == "in_review":
        pkg = hub.dataset()
        act(hub.editor, "udp_submit", id=pkg["id"])
    elif state in ("internal", "restricted"):
        pkg = published(hub, access_class=state)
    elif state == "archived":
        pkg = published(hub)
        act(hub.reviewer, "udp_archive", id=pkg["id"])
    elif state == "withdrawn":
        pkg = published(hub)
        act(hub.editor, "udp_withdraw", id=pkg["id"], reason="Zurückgezogen")
    elif state == "deleted_draft":
        pkg = hub.dataset()
        act(hub.editor, "package_delete", id=pkg["id"])
    else:  # a type outside the workflow that CKAN holds private
        pkg = factories.Dataset(owner_org=hub.org["id"], private=True)
    # the outbox hook noted the dataset only if it was public at some moment
    # (archived, withdrawn: published first); never-public ones cost no row ...
    assert (queued(pkg["id"]) >= 1) == (state in ("archived", "withdrawn"))
    # ... and the worker looks at each all the same (as ``sync --all`` makes it)
    enqueue([pkg["id"]])
    model.Session.commit()
    drain(client)
    # ... and the portal holds nothing at all, for anyone (its sysadmin included)
    assert (
        remote.action("package_search", q="*:*", include_private=True, include_drafts=True, include_deleted=True)[
            "count"
        ]
        == 0
    )
    assert remote.action("organization_list") == []


def test_withdrawn_while_its_push_is_in_flight_ends_without_it(hub, remote, client, monkeypatch):
    pkg = published(hub)
    original = Portal.call
    fired = []

    def racing_call(self, action, **data):
        if action in ("package_create", "package_update") and not fired:
            fired.append(action)
            # the withdrawal commits (in another session) while the push is on its way
            thread = threading.Thread(
                target=lambda: (
                    act(hub.editor, "udp_withdraw", id=pkg["id"], reason="Fehler entdeckt"),
                    model.Session.remove(),
                )
            )
            thread.start()
            thread.join()
        return original(self, action, **data)

    monkeypatch.setattr(Portal, "call", racing_call)
    drain(client)
    assert fired, "the push was in flight when the withdrawal committed"
    assert on_portal(remote, pkg["id"]) is None
    assert not sync.mapping_row(pkg["id"]).live


def test_portal_down_during_100_changes_then_up_all_arrive_in_order(hub, remote, client, portal_server):
    pkgs = [published(hub, name=f"messreihe-{i:02d}", title=f"Messreihe {i} v0") for i in range(20)]
    drain(client)
    from localsources import second_ckan as second

    second.stop()
    try:
        for version in range(1, 6):
            for i, pkg in enumerate(pkgs):
                harvester_edit(pkg["id"], title=f"Messreihe {i} v{version}")
        assert queued() >= 100
        stats = sync.deliver(client)
        assert stats.failed >= 1 and stats.pushed == 0
        assert queued() >= 100, "nothing is lost while the portal is down"
    finally:
        second.start()
    drain(client, timeout=120)
    for i, pkg in enumerate(pkgs):
        copy = on_portal(remote, pkg["id"])
        assert copy["title"] == f"Messreihe {i} v5"
        # in order: the copy's history never goes back to an older version
        titles = [
            a["data"]["package"]["title"]
            for a in reversed(remote.action("package_activity_list", id=pkg["id"], limit=100))
        ]
        versions = [int(t.rsplit("v", 1)[1]) for t in titles]
        assert versions == sorted(versions), titles


def test_backoff_grows_exponentially_and_a_change_is_retried(hub, remote, client, ckan_config, monkeypatch):
    pkg = published(hub)
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.retry_base", "10")
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.retry_max", "1000")
    down = Portal("http://127.0.0.1:9", "x", timeout=2)  # discard port: nobody answers
    from ckanext.udp.transparency.model import outbox

    delays = []
    for _ in range(4):
        model.Session.execute(outbox.update().values(next_attempt=sync.utcnow()))
        model.Session.commit()
        assert sync.deliver(down).failed == 1
        row = model.Session.execute(outbox.select()).first()
        model.Session.commit()
        delays.append(round((row.next_attempt - sync.utcnow()).total_seconds()))
    assert delays == pytest.approx([10, 20, 40, 80], abs=2)
    model.Session.execute(outbox.update().values(next_attempt=sync.utcnow()))
    model.Session.commit()
    drain(client)
    assert on_portal(remote, pkg["id"]) is not None


def test_the_token_is_never_logged(hub, remote):
    published(hub)
    secret = "geheimes-token-0123456789"
    with records_of("ckanext.udp.transparency.sync") as records:
        assert sync.deliver(Portal("http://127.0.0.1:9", secret, timeout=2)).failed == 1
    bad = Portal(remote.url, secret, timeout=5)
    with pytest.raises(PortalError) as err:
        bad.call("organization_create", name="x")
    assert records, "the failure was logged"
    logged = " ".join(r.getMessage() for r in records)
    assert secret not in logged and secret not in str(err.value) and secret not in repr(bad)
    from ckanext.udp.transparency.model import outbox

    row = model.Session.execute(outbox.select()).first()
    assert row.last_error and secret not in row.last_error


def test_manual_edit_on_the_portal_is_reported_and_not_overwritten(hub, remote, client, ckan_config, monkeypatch):
    pkg = published(hub)
    drain(client)
    remote.action("package_patch", id=pkg["id"], title="Von Hand im Portal geändert")
    found = sync.report(client)
    assert [f["field"] for f in found if f["kind"] == "edited"] == ["title"]
    assert "title im Portal manuell geändert" in found[0]["text"]
    harvester_edit(pkg["id"], notes="Neue Beschreibung auf dem Hub.")
    stats = sync.deliver(client)
    assert stats.failed == 1
    assert on_portal(remote, pkg["id"])["title"] == "Von Hand im Portal geändert"
    kinds = {(f["kind"], f.get("field")) for f in sync.report(client)}
    assert ("unpushed", "notes") in kinds
    # configured so: the hub wins
    monkeypatch.setitem(ckan_config, "ckanext.udp.transparency.hub_wins", "true")
    drain(client)
    copy = on_portal(remote, pkg["id"])
    assert copy["title"] == pkg["title"] and copy["notes"].startswith("Neue Beschreibung auf dem Hub.")
    assert sync.report(client) == []


def test_report_lists_missing_and_extra(hub, remote, client):
    pkg = published(hub)
    drain(client)
    other = published(hub)
    # a copy that was pushed and then deleted by hand on the portal, and one that should not be there
    remote.action("package_delete", id=pkg["id"])
    model.Session.execute(sync.mapping.update().values(live=True))
    model.Session.commit()
    found = {(f["dataset"], f["kind"]) for f in sync.report(client)}
    assert (pkg["name"], "missing") in found and (other["name"], "missing") in found


def test_cli_sync_all_reports_in_german_and_requeues(hub, remote, client, cli, ckan_config):
    from ckanext.udp.transparency.cli import transparency

    pkg = published(hub)
    drain(client)
    gone = published(hub)
    drain(client)
    remote.action("package_patch", id=pkg["id"], title="Von Hand geändert")
    # a copy that should not be there: withdrawn on the hub, the removal not yet delivered
    act(hub.editor, "udp_withdraw", id=gone["id"], reason="Zurückgezogen")
    result = cli.invoke(transparency, ["sync", "--all", "--report-only"])
    assert result.exit_code == 1, result.output
    assert f"{pkg['name']}: title im Portal manuell geändert" in result.output
    assert f"{gone['name']}: im Transparenzportal, aber nicht öffentlich im Hub" in result.output
    drain(client)
    result = cli.invoke(transparency, ["sync", "--all"])
    assert "Datensätze zur Übertragung vorgemerkt" in result.output
    assert queued(pkg["id"]) == 1


def test_an_organization_purged_on_the_portal_is_created_again_not_cached_stale(hub, remote, client):
    first = published(hub, title="Erster Datensatz")
    drain(client)  # the worker's portal client now caches the organization
    org = on_portal(remote, first["id"])["organization"]["name"]
    remote.action("dataset_purge", id=first["id"])  # gone on the portal, with its only copy
    remote.action("organization_purge", id=org)
    second = published(hub, title="Zweiter Datensatz")
    stats = drain(client, timeout=20)
    assert stats.failed == 0 and stats.pushed >= 1
    copy = on_portal(remote, second["id"])
    assert copy is not None and copy["organization"]["name"] == org, "the organization was created again"


def test_an_organization_deleted_on_the_portal_while_cached_is_made_active_again(hub, remote, client):
    first = published(hub, title="Erster Datensatz")
    drain(client)  # the worker's portal client now caches the organization
    org = on_portal(remote, first["id"])["organization"]["name"]
    remote.action("package_delete", id=first["id"])  # CKAN deletes an organization only without active datasets
    remote.action("organization_delete", id=org)  # deleted, not purged: CKAN still accepts it as an owner
    second = published(hub, title="Zweiter Datensatz")
    stats = drain(client, timeout=20)
    assert stats.failed == 0 and stats.pushed >= 1
    copy = on_portal(remote, second["id"])
    assert copy is not None and copy["organization"] is not None, "the copy must not land in a deleted organization"
    assert copy["organization"]["name"] == org
    assert remote.action("organization_show", id=org)["state"] == "active"


def test_report_and_delivery_read_the_portal_in_bulk_not_once_per_dataset(hub, remote, client, monkeypatch):
    pkgs = [published(hub) for _ in range(3)]
    drain(client)
    remote.action("package_patch", id=pkgs[0]["id"], title="Von Hand im Portal geändert")
    calls: list[str] = []
    real = client.call

    def counted(action, **data):
        calls.append(action)
        return real(action, **data)

    monkeypatch.setattr(client, "call", counted)
    found = sync.report(client)
    assert [(f["dataset"], f["field"]) for f in found if f["kind"] == "edited"] == [(pkgs[0]["name"], "title")]
    assert calls == ["package_search"], "one search for the whole portal, no package_show per dataset"
    calls.clear()
    for pkg in pkgs[1:]:
        harvester_edit(pkg["id"], notes="Neu auf dem Hub.")
    assert sync.deliver(client).pushed == 2
    assert sorted(calls) == ["package_search", "package_update", "package_update"]
    assert all(on_portal(remote, p["id"])["notes"].startswith("Neu auf dem Hub.") for p in pkgs[1:])
