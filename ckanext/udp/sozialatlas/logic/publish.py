"""The publishing step: an internal DataStore table of counts (Stadtteil x
group [x year], long format) becomes a published, disclosure-protected table
in another dataset's DataStore. The source is only read; the derived table
replaces the target resource's rows; the method and threshold are stated in
the target dataset's description (German, between two markers, so a second run
replaces the statement instead of adding one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.sozialatlas import districts, sdc

RESOURCE_NAME = "Tabelle mit Geheimhaltung"
#: the published table's column listing the withheld values of the row
WITHHELD_COLUMN = "gesperrt"
CITY_NUMBER = "00"
CITY_NAME = "Stadt Karlsruhe insgesamt"
TOTAL_COLUMN = "insgesamt"
MARK_START = "<!-- udp-sozialatlas-geheimhaltung -->"
MARK_END = "<!-- /udp-sozialatlas-geheimhaltung -->"
PAGE = 10000


def _rows(context: Context, resource_id: str) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        found = tk.get_action("datastore_search")(
            dict(context), {"resource_id": resource_id, "limit": PAGE, "offset": offset, "sort": "_id"}
        )
        yield from found["records"]
        if len(found["records"]) < PAGE:
            return
        offset += PAGE


def _count(value: Any, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise tk.ValidationError({"count_column": [f"Keine Anzahl in {where}: {value!r}"]}) from None
    if number < 0 or not number.is_integer():
        raise tk.ValidationError({"count_column": [f"Anzahlen müssen ganze Zahlen ≥ 0 sein ({where}: {value!r})"]})
    return int(number)


def column_id(group: str) -> str:
    """A DataStore column name for a group label ("unter 18" -> "unter_18")."""
    out = "".join(c if c.isalnum() else "_" for c in group.strip().lower()).strip("_")
    out = out or "gruppe"
    return ("g_" + out) if out[0].isdigit() or out in {"jahr", "stadtteil", "stadtteil_nr", WITHHELD_COLUMN} else out


def derive(
    records: list[dict[str, Any]],
    district_column: str,
    group_column: str,
    count_column: str,
    year_column: str | None,
    minimum: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """(fields, records, counts) of the published wide table: one row per
    district and year (and one for the whole city), a column per group and the
    district total; withheld values are null and named in ``gesperrt``."""
    known = districts.all_districts()
    names = {d.number: d.name for d in known}
    cells: dict[Any, dict[tuple[str, str], int]] = {}
    groups: list[str] = []
    for n, rec in enumerate(records, 1):
        number = districts.number_of(rec.get(district_column))
        if number is None:
            raise tk.ValidationError({"district_column": [f"Zeile {n}: kein Stadtteil {rec.get(district_column)!r}"]})
        group = str(rec.get(group_column) or "").strip()
        if not group:
            raise tk.ValidationError({"group_column": [f"Zeile {n}: keine Gruppe"]})
        if group not in groups:
            groups.append(group)
        year = _year(rec.get(year_column), f"Zeile {n}") if year_column else None
        table = cells.setdefault(year, {})
        key = (number, group)
        table[key] = table.get(key, 0) + _count(rec.get(count_column), f"Zeile {n}")
    if not cells:
        raise tk.ValidationError({"resource_id": ["Die Quelltabelle ist leer."]})
    ids = [column_id(g) for g in groups]
    if len(set(ids)) != len(ids):
        raise tk.ValidationError({"group_column": ["Zwei Gruppen ergeben denselben Spaltennamen."]})
    fields: list[dict[str, Any]] = [
        {"id": "stadtteil_nr", "type": "text", "info": {"label": "Stadtteilnummer"}},
        {"id": "stadtteil", "type": "text", "info": {"label": "Stadtteil"}},
    ]
    if year_column:
        fields.append({"id": "jahr", "type": "int", "info": {"label": "Jahr"}})
    note = f"Anzahl; Werte unter {minimum} und zum Schutz weiterer Werte gesperrt (leer, siehe Spalte gesperrt)"
    fields += [{"id": i, "type": "int", "info": {"label": g, "notes": note}} for i, g in zip(ids, groups, strict=True)]
    fields.append({"id": TOTAL_COLUMN, "type": "int", "info": {"label": "Insgesamt", "notes": note}})
    fields.append({"id": WITHHELD_COLUMN, "type": "text", "info": {"label": "Gesperrte Spalten dieser Zeile"}})
    out: list[dict[str, Any]] = []
    totals = {sdc.PUBLISHED: 0, sdc.PRIMARY: 0, sdc.SECONDARY: 0}
    for year in sorted(cells, key=lambda y: (y is None, str(y))):
        table = cells[year]
        rows = [d.number for d in known if any((d.number, g) in table for g in groups)]
        matrix = [[table.get((r, g), 0) for g in groups] for r in rows]
        p = sdc.protect(matrix, minimum=minimum)
        for kind, number_of_values in p.counts().items():
            totals[kind] += number_of_values
        shown = p.published_cells()
        row_totals = p.published_row_totals()
        col_totals = p.published_column_totals()
        lines: list[tuple[str, str, list[int | None], int | None]] = [
            (r, names[r], shown[i], row_totals[i]) for i, r in enumerate(rows)
        ]
        lines.append((CITY_NUMBER, CITY_NAME, col_totals, p.published_grand_total()))
        for number, name, values, total in lines:
            line: dict[str, Any] = {"stadtteil_nr": number, "stadtteil": name}
            if year_column:
                line["jahr"] = int(year) if year is not None else None
            hidden = []
            for i, v in zip(ids, values, strict=True):
                line[i] = v
                if v is None:
                    hidden.append(i)
            line[TOTAL_COLUMN] = total
            if total is None:
                hidden.append(TOTAL_COLUMN)
            line[WITHHELD_COLUMN] = ",".join(hidden)
            out.append(line)
    return fields, out, totals


def _year(value: Any, where: str) -> int | None:
    """A year as the source writes it (2023, "2023", 2023.0); anything else is refused."""
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if number.is_integer() and 1000 <= number <= 9999:
        return int(number)
    raise tk.ValidationError({"year_column": [f"{where}: kein Jahr {value!r}"]})


def statement(minimum: int, counts: dict[str, int]) -> str:
    """The method as the published dataset states it; it never names the internal
    source (its title is not public)."""
    return (
        f"{MARK_START}\n"
        "**Geheimhaltung (statistische Geheimhaltung):** Diese Tabelle wurde aus einer internen Quelltabelle "
        f"abgeleitet; die Quelle selbst wird nicht veröffentlicht. Fallzahlen unter {minimum} "
        "sind gesperrt (primäre Sperrung; Nullen werden veröffentlicht). Weitere Werte sind gesperrt, damit sich "
        "kein gesperrter Wert aus den veröffentlichten Werten und den Zeilen- und Spaltensummen exakt "
        "zurückrechnen lässt (sekundäre Sperrung, geprüft als lineares Gleichungssystem). Gesperrte Werte sind "
        f"leer und in der Spalte „gesperrt“ genannt ({counts[sdc.PRIMARY]} primär, {counts[sdc.SECONDARY]} "
        f"sekundär gesperrt, {counts[sdc.PUBLISHED]} veröffentlicht). Nicht abgedeckt: Intervallschätzungen "
        "gesperrter Werte und Verknüpfungen mit anderen Tabellen.\n"
        f"{MARK_END}"
    )


def with_statement(notes: str, text: str) -> str:
    notes = notes or ""
    if MARK_START in notes and MARK_END in notes:
        head, rest = notes.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1]
        return f"{head}{text}{tail}"
    return f"{notes.rstrip()}\n\n{text}".strip()


def _guess(fields: list[str], *candidates: str) -> str | None:
    for c in candidates:
        for f in fields:
            if f.lower() == c:
                return f
    return None


def publish(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Read the source table (as the caller), derive the protected table,
    write it into the target dataset's resource and state the method."""
    source_id = data_dict["resource_id"]
    head = tk.get_action("datastore_search")(dict(context), {"resource_id": source_id, "limit": 0})
    names = [f["id"] for f in head["fields"] if f["id"] != "_id"]
    district_column = data_dict.get("district_column") or _guess(names, "stadtteil_nr", "stadtteil", "stadtteilnummer")
    group_column = data_dict.get("group_column") or _guess(names, "gruppe", "altersgruppe", "merkmal")
    count_column = data_dict.get("count_column") or _guess(names, "anzahl", "count", "wert")
    year_column = data_dict.get("year_column") or _guess(names, "jahr", "year")
    missing = {
        key: ["Spalte nicht gefunden; bitte angeben."]
        for key, value in (
            ("district_column", district_column),
            ("group_column", group_column),
            ("count_column", count_column),
        )
        if not value or value not in names
    }
    if year_column and year_column not in names:
        missing["year_column"] = ["Spalte nicht gefunden."]
    if missing:
        raise tk.ValidationError(missing)
    assert district_column and group_column and count_column
    minimum = int(data_dict.get("minimum") or tk.config.get("ckanext.udp.sozialatlas.minimum") or sdc.DEFAULT_MINIMUM)
    source_res = tk.get_action("resource_show")(dict(context), {"id": source_id})
    target = tk.get_action("package_show")(dict(context), {"id": data_dict["dataset_id"]})
    if target["id"] == source_res["package_id"]:
        raise tk.ValidationError(
            {"dataset_id": ["Die Veröffentlichung muss ein anderer Datensatz als die Quelle sein."]}
        )
    tk.check_access("package_update", dict(context), {"id": target["id"]})
    tk.get_action("package_show")(dict(context), {"id": source_res["package_id"]})  # the caller may read it

    records = list(_rows(context, source_id))
    try:
        fields, rows, counts = derive(records, district_column, group_column, count_column, year_column, minimum)
    except districts.DistrictsMissing as err:
        raise tk.ValidationError({"districts": [f"Stadtteilliste nicht lesbar: {err}"]}) from err

    resource = next((r for r in target.get("resources", []) if r.get("name") == RESOURCE_NAME), None)
    if resource is not None and resource.get("datastore_active"):
        tk.get_action("datastore_delete")(dict(context), {"resource_id": resource["id"], "force": True})
    create: dict[str, Any] = {"fields": fields, "records": rows, "force": True}
    if resource is None:
        create["resource"] = {
            "package_id": target["id"],
            "name": RESOURCE_NAME,
            "description": "Abgeleitete Tabelle mit statistischer Geheimhaltung (gesperrte Werte sind leer).",
            "format": "CSV",
        }
    else:
        create["resource_id"] = resource["id"]
    created = tk.get_action("datastore_create")(dict(context), create)
    text = statement(minimum, counts)
    tk.get_action("package_patch")(
        dict(context), {"id": target["id"], "notes": with_statement(target.get("notes") or "", text)}
    )
    return {"resource_id": created["resource_id"], "rows": len(rows), "minimum": minimum, "counts": counts}
