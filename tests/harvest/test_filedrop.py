"""The tabular file-drop harvester (type ``udp_filedrop``): a folder and an HTTP
listing of CSV/XLSX files with German quirks (``;``, decimal comma, thousands
dots, ISO-8859-1, a byte-order mark, German dates, postcodes with leading
zeros) into datasets with DataStore tables, loaded by ckanext-xloader's loader."""

from __future__ import annotations

import datetime as dt
import io
import json

import ckan.plugins.toolkit as tk
import openpyxl
import pytest
from harvestlib import harvested, make_source, run_job, sysadmin_context

from ckanext.udp.harvesters.filedrop import FileDropHarvester

HARVESTER = FileDropHarvester()
EINWOHNER = (
    "Stadtteil;Nr;Einwohner;Fläche km²;Anteil in %;Stand\n"
    "Durlach;19;31.000;22,95;12,5;31.12.2024\n"
    "Innenstadt-Ost;01;6.500;1,2;2,6;31.12.2024\n"
).encode("iso-8859-1")
SIDECAR = {
    "title": "Einwohner nach Stadtteilen",
    "description": "Einwohnerzahlen (Demodaten).",
    "license": "dl-by-de/2.0",
    "license_attribution_by_text": "Stadt Karlsruhe, Amt für Stadtentwicklung",
    "keywords": ["Bevölkerung", "Stadtteile"],
    "schema": {
        "fields": [
            {"name": "Einwohner", "type": "integer", "title": "Einwohnerinnen und Einwohner"},
            {"name": "Fläche km²", "title": "Fläche", "description": "in Quadratkilometern"},
        ]
    },
}
BAEUME = "\ufeffBaum-Nr,Art,Höhe m,Gepflanzt\n1,Linde,12.5,2001-04-01\n2,Eiche,8,1999-10-15\n".encode("utf-8")
KAPUTT = b"Messstelle;Wert\nA;3\nB;drei\n"


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Messstelle", "PLZ", "Messwert", "Zeitpunkt"])
    sheet.append(["Friedrichsplatz", "76133", 18.25, dt.datetime(2026, 6, 15, 8, 0)])
    sheet.append(["Schlossgarten", "76131", 17, dt.datetime(2026, 6, 15, 9, 0)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table(resource_id: str) -> tuple[dict[str, str], list[dict]]:
    found = tk.get_action("datastore_search")(sysadmin_context(), {"resource_id": resource_id, "sort": "_id"})
    return {f["id"]: f["type"] for f in found["fields"] if f["id"] != "_id"}, found["records"]


@pytest.fixture
def drop(tmp_path, ckan_config, monkeypatch):
    folder = tmp_path / "ablage"
    folder.mkdir()
    monkeypatch.setitem(ckan_config, "ckanext.udp.filedrop.allowed_dirs", str(tmp_path))
    (folder / "einwohner.csv").write_bytes(EINWOHNER)
    (folder / "einwohner.csv.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    (folder / "baeume.csv").write_bytes(BAEUME)
    (folder / "messstellen.xlsx").write_bytes(xlsx())
    (folder / "kaputt.csv").write_bytes(KAPUTT)
    (folder / "kaputt.csv.json").write_text(json.dumps({"schema": {"fields": [{"name": "Wert", "type": "integer"}]}}))
    (folder / "liesmich.txt").write_text("keine Tabelle")
    return folder


def by_title(source: dict) -> dict[str, dict]:
    return {d["title"]: d for d in harvested(source)}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestFolder:
    def test_german_quirks_become_typed_tables(self, drop, org):
        source = make_source(f"file://{drop}", "udp_filedrop", org, {"udp_workflow_state": "published"})
        run = run_job(source, HARVESTER)
        assert run.stats["added"] == 3 and run.stats["errored"] == 1, run
        ((guid, message),) = run.object_errors
        assert guid.endswith("kaputt.csv") and "kaputt.csv" in message
        assert "3" in message and "Wert" in message and "drei" in message  # row 3, column, value
        datasets = by_title(source)
        assert set(datasets) == {"Einwohner nach Stadtteilen", "Baeume", "Messstellen"}
        einwohner = datasets["Einwohner nach Stadtteilen"]
        assert einwohner["license_id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        assert einwohner["license_attribution_by_text"] == "Stadt Karlsruhe, Amt für Stadtentwicklung"
        assert {t["name"] for t in einwohner["tags"]} == {"Bevölkerung", "Stadtteile"}
        (resource,) = einwohner["resources"]
        assert resource["datastore_active"] and resource["url"].endswith(f"/datastore/dump/{resource['id']}")
        types, rows = table(resource["id"])
        assert types == {
            "Stadtteil": "text",
            "Nr": "text",
            "Einwohner": "int8",
            "Fläche km²": "numeric",
            "Anteil in %": "numeric",
            "Stand": "date",
        }
        assert [(r["Stadtteil"], r["Nr"], r["Einwohner"], str(r["Fläche km²"]), r["Stand"][:10]) for r in rows] == [
            ("Durlach", "19", 31000, "22.95", "2024-12-31"),
            ("Innenstadt-Ost", "01", 6500, "1.2", "2024-12-31"),
        ]
        info = tk.get_action("datastore_info")(sysadmin_context(), {"id": resource["id"]})
        labels = {f["id"]: f.get("info", {}).get("label") for f in info["fields"]}
        assert labels["Einwohner"] == "Einwohnerinnen und Einwohner" and labels["Fläche km²"] == "Fläche"
        types, rows = table(datasets["Baeume"]["resources"][0]["id"])
        assert list(types) == ["Baum-Nr", "Art", "Höhe m", "Gepflanzt"]  # the BOM is not part of a heading
        assert (types["Höhe m"], rows[0]["Höhe m"]) == ("numeric", 12.5)
        types, rows = table(datasets["Messstellen"]["resources"][0]["id"])
        assert types == {"Messstelle": "text", "PLZ": "int8", "Messwert": "numeric", "Zeitpunkt": "timestamp"}
        assert rows[1]["Messwert"] == 17 and rows[0]["Zeitpunkt"].startswith("2026-06-15T08:00")

    def test_unchanged_files_are_skipped_changed_ones_reloaded_broken_ones_change_nothing(self, drop, org):
        source = make_source(f"file://{drop}", "udp_filedrop", org)
        run_job(source, HARVESTER)
        run = run_job(source, HARVESTER)
        assert run.stats["not modified"] == 3 and run.stats["errored"] == 1
        (drop / "einwohner.csv").write_bytes(EINWOHNER.replace(b"31.000", b"31.250"))
        # baeume.csv now has "acht" in a column its new sidecar says holds numbers
        (drop / "baeume.csv").write_bytes(BAEUME.replace(b"2,Eiche,8,", b"2,Eiche,acht,"))
        (drop / "baeume.csv.json").write_text(
            json.dumps({"schema": {"fields": [{"name": "Höhe m", "type": "number"}]}})
        )
        run = run_job(source, HARVESTER)
        assert run.stats["updated"] == 1 and run.stats["errored"] == 2
        datasets = by_title(source)
        _types, rows = table(datasets["Einwohner nach Stadtteilen"]["resources"][0]["id"])
        assert rows[0]["Einwohner"] == 31250
        # the broken new baeume.csv did not touch the table loaded before
        types, rows = table(datasets["Baeume"]["resources"][0]["id"])
        assert list(types) == ["Baum-Nr", "Art", "Höhe m", "Gepflanzt"] and [r["Art"] for r in rows] == [
            "Linde",
            "Eiche",
        ]

    def test_only_allowed_folders(self, tmp_path, org, ckan_config, monkeypatch):
        monkeypatch.setitem(ckan_config, "ckanext.udp.filedrop.allowed_dirs", str(tmp_path / "erlaubt"))
        (tmp_path / "erlaubt").mkdir()
        for url in ("file:///etc", f"file://{tmp_path}", f"file://{tmp_path}/erlaubt/../", "/etc/ssl"):
            with pytest.raises(tk.ValidationError) as err:
                make_source(url, "udp_filedrop", org)
            assert "url" in err.value.error_dict, url


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_an_http_listing(site, org):
    site.put(
        "/ablage/",
        '<html><body><h1>Index of /ablage</h1><a href="../">../</a>'
        '<a href="einwohner.csv">einwohner.csv</a> <a href="einwohner.csv.json">einwohner.csv.json</a>'
        '<a href="messstellen.xlsx">messstellen.xlsx</a><a href="http://127.0.0.2/fremd.csv">fremd</a>'
        "</body></html>",
        "text/html",
    )
    site.put("/ablage/einwohner.csv", EINWOHNER, "text/csv; charset=iso-8859-1")
    site.put("/ablage/einwohner.csv.json", json.dumps(SIDECAR), "application/json")
    site.put("/ablage/messstellen.xlsx", xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    source = make_source(site.url("/ablage/"), "udp_filedrop", org)
    run = run_job(source, HARVESTER)
    assert run.errors == [] and run.stats["added"] == 2
    datasets = by_title(source)
    einwohner = datasets["Einwohner nach Stadtteilen"]["resources"][0]
    assert einwohner["url"] == site.url("/ablage/einwohner.csv")  # the original stays the link
    assert table(einwohner["id"])[1][0]["Einwohner"] == 31000
    assert "/fremd.csv" not in " ".join(site.requests)
