"""The publishing step and ``/sozialatlas``, against the real DataStore and Solr.

One world for the module's main test (the demo: an internal source table and
its published derivation, plus a draft dataset with a district table that must
never be selectable)."""

from __future__ import annotations

import re
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from ckanext.udp.sozialatlas import demo, sdc
from ckanext.udp.sozialatlas.logic import publish

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


def system() -> dict[str, Any]:
    return {"ignore_auth": True, "user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]}


def anonymous() -> dict[str, Any]:
    return {"user": "", "ignore_auth": False}


def rows(resource_id: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    return tk.get_action("datastore_search")(context, {"resource_id": resource_id, "limit": 5000})["records"]


def test_demo_publishes_a_protected_table_and_the_atlas_shows_only_it(app, monkeypatch):
    factories.Organization(name=demo.ORG, title="Amt für Stadtentwicklung")
    result = demo.load()
    source = tk.get_action("package_show")(system(), {"id": demo.SOURCE})
    target = tk.get_action("package_show")(system(), {"id": demo.PUBLISHED})
    source_res = source["resources"][0]["id"]
    # the source stays internal: anonymous visitors neither find nor read it
    assert source["private"] is True
    with pytest.raises((tk.NotAuthorized, tk.ObjectNotFound)):
        rows(source_res, anonymous())
    # the published table is what disclosure control derives from the source, year by year
    published = rows(result["resource_id"], anonymous())
    counts = {}
    for rec in rows(source_res, system()):
        counts[(rec["jahr"], rec["stadtteil_nr"], rec["altersgruppe"])] = rec["anzahl"]
    groups = list(demo.GROUPS)
    ids = [publish.column_id(g) for g in groups]
    assert any(r[ids[-1]] is None for r in published), "the demo has small cells"
    for year in demo.YEARS:
        numbers = sorted({k[1] for k in counts if k[0] == year})
        expected = sdc.protect([[counts[(year, n, g)] for g in groups] for n in numbers])
        shown = {r["stadtteil_nr"]: r for r in published if r["jahr"] == year}
        assert len(shown) == 28  # 27 districts and the city
        for i, n in enumerate(numbers):
            assert [shown[n][c] for c in ids] == expected.published_cells()[i]
            assert shown[n]["insgesamt"] == expected.published_row_totals()[i]
            hidden = [c for c in ids if shown[n][c] is None]
            assert shown[n]["gesperrt"] == ",".join(hidden)
        assert [shown["00"][c] for c in ids] == expected.published_column_totals()
        # nothing below the threshold leaves the house
        for r in shown.values():
            assert all(r[c] is None or r[c] == 0 or r[c] >= 3 for c in [*ids, "insgesamt"])
    assert "Fallzahlen unter 3" in target["notes"] and "Demodaten" in target["notes"]
    # the statement never names the internal source (its title is not public)
    assert source["title"] not in target["notes"] and source["name"] not in target["notes"]
    # a second run replaces the statement instead of adding one
    demo.load()
    notes = tk.get_action("package_show")(system(), {"id": demo.PUBLISHED})["notes"]
    assert notes.count(publish.MARK_START) == 1

    # a draft dataset with a district table: never selectable
    org = factories.Organization()
    draft = factories.Dataset(owner_org=org["id"], title="Entwurf Stadtteile", private=True)
    tk.get_action("datastore_create")(
        system(),
        {
            "resource": {"package_id": draft["id"], "name": "Entwurfstabelle"},
            "fields": [{"id": "stadtteil", "type": "text"}, {"id": "jahr", "type": "int"}, {"id": "x", "type": "int"}],
            "records": [{"stadtteil": "Durlach", "jahr": 2024, "x": 5}],
            "force": True,
        },
    )
    draft_res = tk.get_action("package_show")(system(), {"id": draft["id"]})["resources"][0]["id"]

    page = app.get("/sozialatlas", status=200).body
    assert result["resource_id"] in page
    assert source_res not in page and draft_res not in page
    assert "Entwurf" not in page and "intern, Quelle" not in page
    assert "Schematische Karte" in page
    assert len(re.findall(r'<a href="#stt-\d\d" data-stadtteil="\d\d"', page)) == 27
    # the ranking shows the DataStore values of the latest year ("gesperrt" for withheld ones)
    latest = {r["stadtteil_nr"]: r for r in published if r["jahr"] == max(demo.YEARS)}
    column = ids[-1]
    page = app.get("/sozialatlas", query_string={"merkmal": column}).body
    for number, rec in latest.items():
        if number == "00":
            continue
        cell = re.search(rf'<tr id="stt-{number}" data-stadtteil="{number}">.*?<td class="num">(.*?)</td>', page, re.S)
        assert cell, number
        want = "gesperrt" if rec[column] is None else f"{rec[column]:,}".replace(",", ".")
        assert cell.group(1).strip() == want, (number, cell.group(1))
    assert "Vergleich zweier Jahre" in page

    # hidden or unknown tables and bad values: clear German answers, never a 500
    for query, status, text in (
        ({"tabelle": source_res}, 404, "nicht verfügbar"),
        ({"tabelle": draft_res}, 404, "nicht verfügbar"),
        ({"merkmal": "nichts"}, 400, "Unbekanntes Merkmal"),
        ({"jahr": "abc"}, 400, "Unbekanntes Jahr"),
        ({"vergleich": "1900"}, 400, "Unbekanntes Jahr"),
    ):
        answer = app.get("/sozialatlas", query_string=query, status=status)
        assert text in answer.body, query

    # the DataStore's read URL on one host (a replica without the primary as fallback) and
    # that server down: the German 503 of datastore_search, not a 500
    import socket

    import sqlalchemy as sa
    from ckanext.datastore.backend import DatastoreBackend

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = sa.engine.make_url(tk.config["ckan.datastore.read_url"]).set(host="127.0.0.1", port=closed)
    with monkeypatch.context() as mp:
        mp.setattr(DatastoreBackend.get_active_backend(), "read_url", down.render_as_string(hide_password=False))
        mp.setitem(tk.config, "ckan.datastore.read_url", down.render_as_string(hide_password=False))
        answer = app.get("/sozialatlas", query_string={"merkmal": column})
        assert answer.status_code == 503, answer.body[:500]
        assert "Die Daten können gerade nicht gelesen werden" in answer.body
    app.get("/sozialatlas", query_string={"merkmal": column}, status=200)

    # the table list is kept while no dataset or resource changes, but visibility is checked
    # on every request: with the cache's stamp frozen (as if nothing had changed), a
    # withdrawn table leaves the list at once
    from ckanext.udp.sozialatlas import atlas

    monkeypatch.setattr(atlas, "_catalogue_stamp", lambda: ("unverändert",))
    assert result["resource_id"] in app.get("/sozialatlas", status=200).body  # the list cached now
    tk.get_action("udp_withdraw")(system(), {"id": target["id"], "reason": "Fehlerhafte Daten"})
    page = app.get("/sozialatlas", status=200).body
    assert result["resource_id"] not in page and target["title"] not in page
    app.get("/sozialatlas", query_string={"tabelle": result["resource_id"]}, status=404)
    monkeypatch.undo()

    # publishing needs the right to update the target dataset
    with pytest.raises(tk.NotAuthorized):
        tk.get_action("udp_sozialatlas_publish")(anonymous(), {"resource_id": source_res, "dataset_id": target["id"]})
    # and never into the source's own dataset
    with pytest.raises(tk.ValidationError):
        tk.get_action("udp_sozialatlas_publish")(system(), {"resource_id": source_res, "dataset_id": source["id"]})


def test_bad_source_tables_are_refused_with_a_message(app):
    org = factories.Organization()
    pkg = factories.Dataset(owner_org=org["id"])
    target = factories.Dataset(owner_org=org["id"])
    created = tk.get_action("datastore_create")(
        system(),
        {
            "resource": {"package_id": pkg["id"], "name": "Quelle"},
            "fields": [
                {"id": "stadtteil", "type": "text"},
                {"id": "gruppe", "type": "text"},
                {"id": "anzahl", "type": "numeric"},
            ],
            "records": [{"stadtteil": "Atlantis", "gruppe": "a", "anzahl": 4}],
            "force": True,
        },
    )
    call = tk.get_action("udp_sozialatlas_publish")
    with pytest.raises(tk.ValidationError, match="kein Stadtteil"):
        call(system(), {"resource_id": created["resource_id"], "dataset_id": target["id"]})
    tk.get_action("datastore_upsert")(
        system(),
        {
            "resource_id": created["resource_id"],
            "method": "insert",
            "records": [{"stadtteil": "Durlach", "gruppe": "a", "anzahl": 2.5}],
            "force": True,
        },
    )
    tk.get_action("datastore_delete")(
        system(), {"resource_id": created["resource_id"], "filters": {"stadtteil": "Atlantis"}, "force": True}
    )
    with pytest.raises(tk.ValidationError, match="ganze Zahlen"):
        call(system(), {"resource_id": created["resource_id"], "dataset_id": target["id"]})
    with pytest.raises(tk.ValidationError):
        call(system(), {"resource_id": created["resource_id"], "dataset_id": target["id"], "minimum": "0"})
    # a year the source writes as a school year: refused with a message, not a 500
    years = tk.get_action("datastore_create")(
        system(),
        {
            "resource": {"package_id": pkg["id"], "name": "Quelle mit Jahren"},
            "fields": [
                {"id": "stadtteil", "type": "text"},
                {"id": "gruppe", "type": "text"},
                {"id": "anzahl", "type": "int"},
                {"id": "jahr", "type": "text"},
            ],
            "records": [{"stadtteil": "Durlach", "gruppe": "a", "anzahl": 4, "jahr": "2023/24"}],
            "force": True,
        },
    )
    with pytest.raises(tk.ValidationError, match="kein Jahr"):
        call(system(), {"resource_id": years["resource_id"], "dataset_id": target["id"]})
