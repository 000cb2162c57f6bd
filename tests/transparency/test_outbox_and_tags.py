"""Review findings of udp_transparency mended: the outbox hook skips changes
that cannot concern the portal (drafts), but never a dataset leaving public
view; hub tags the portal's stock validator refuses travel mapped or are left
out, with a note in the drift report, instead of failing the push."""

from __future__ import annotations

import ckan.model as model
import pytest
from conftest import act, drain, on_portal, queued

from ckanext.udp.transparency import payload, sync
from ckanext.udp.transparency.model import outbox


def _clear_outbox() -> None:
    model.Session.execute(outbox.delete())
    model.Session.commit()


def test_drafts_leave_no_outbox_rows_but_publishing_and_leaving_view_do(hub, remote, client):
    draft = hub.dataset(title="Entwurf Radwege", notes="Noch nicht fertig.")
    act(hub.editor, "package_patch", id=draft["id"], notes="Immer noch nicht fertig.")
    act(
        hub.editor,
        "resource_create",
        package_id=draft["id"],
        url="https://www.karlsruhe.de/radwege.csv",
        name="Radwege",
    )
    assert queued(draft["id"]) == 0, "a draft's changes cannot concern the portal"
    act(hub.editor, "udp_submit", id=draft["id"])
    assert queued(draft["id"]) == 0, "nor can a submission"
    act(hub.reviewer, "udp_approve", id=draft["id"])
    assert queued(draft["id"]) >= 1, "publishing is noted"
    # the worker has read the publication and is pushing it (the mapping is
    # not live yet) when the dataset is withdrawn: the withdrawal is noted all
    # the same, because the dataset leaves public view in that transaction
    _clear_outbox()
    act(hub.editor, "udp_withdraw", id=draft["id"], reason="Fehlerhafte Daten")
    assert queued(draft["id"]) >= 1, "leaving public view is always noted"
    drain(client)
    assert on_portal(remote, draft["id"]) is None


@pytest.mark.parametrize(
    ("tag", "sent"),
    [
        ("Bäume", "Bäume"),
        ("Bus & Bahn", "Bus Bahn"),
        ("CO2/NOx", "CO2 NOx"),
        ("Straßen-Verkehr.", "Straßen-Verkehr."),
        ("«»", None),
        ("x" * 120, "x" * 100),
        ("  Öffnungs zeiten!! ", "Öffnungs zeiten"),
    ],
)
def test_portal_tag_follows_the_stock_rule(tag, sent):
    assert payload.portal_tag(tag) == sent


def test_tags_the_portal_refuses_travel_mapped_or_are_left_out_and_are_reported(hub, remote, client):
    pkg = hub.published(title="Verkehrszählung", notes="Zählstellen.", tags=[{"name": "Verkehr"}])
    # tags as a harvester with a looser schema or migrated data can leave them
    # (CKAN's own validator would refuse them on the hub as on the portal)
    hub_pkg = model.Package.get(pkg["id"])
    for name in ("Bus & Bahn", "Öffnungszeiten/Ämter", "«»", "Grünflächen"):
        tag = model.Tag.by_name(name) or model.Tag(name=name)
        model.Session.add(tag)
        model.Session.add(model.PackageTag(package=hub_pkg, tag=tag, state="active"))
    model.Session.commit()
    stats = drain(client)
    assert stats.failed == 0 and stats.pushed >= 1
    copy = on_portal(remote, pkg["id"])
    assert copy is not None
    assert sorted(t["name"] for t in copy["tags"]) == ["Bus Bahn", "Grünflächen", "Verkehr", "Öffnungszeiten Ämter"]
    notes = {(f["hub"], f["portal"]) for f in sync.report(client) if f["kind"] == "tag"}
    assert notes == {("Bus & Bahn", "Bus Bahn"), ("Öffnungszeiten/Ämter", "Öffnungszeiten Ämter"), ("«»", None)}
    texts = [f["text"] for f in sync.report(client)]
    assert f"{pkg['name']}: Schlagwort '«»' weggelassen (vom Portal nicht angenommen)" in texts
    # the mapped tags are what was pushed: no drift, nothing unpushed
    assert {f["kind"] for f in sync.report(client)} == {"tag"}
