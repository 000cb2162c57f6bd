"""What the atlas shows: the selectable tables (published+open DataStore tables
with a Stadtteil column and a year column, as an anonymous visitor sees them),
their indicators and the values of one indicator for one or two years.

Everything is read as an anonymous visitor (``package_search`` and
``datastore_search`` with an empty user), so a draft, internal or withdrawn
dataset is never selectable and never read."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
import sqlalchemy as sa

from ckanext.udp import compat
from ckanext.udp.sozialatlas import districts

NUMERIC = {"int", "int4", "int8", "int2", "numeric", "float8", "float4", "float", "double precision", "integer"}
DISTRICT_NAMES = ("stadtteil_nr", "stadtteilnummer", "stadtteil_nummer", "nr_stadtteil", "stadtteil")
YEAR_NAMES = ("jahr", "year", "berichtsjahr")
WITHHELD = "gesperrt"
FIELDS_TTL = 60.0
CANDIDATES_TTL = 300.0
MAX_ROWS = 32000

_cache: dict[tuple[str, str], tuple[float, list[dict[str, Any]] | None]] = {}
_candidates: dict[str, tuple[tuple[Any, ...], float, list[Table]]] = {}
_lock = threading.Lock()


def _anonymous() -> dict[str, Any]:
    return {"user": "", "ignore_auth": False}


@dataclass
class Table:
    resource_id: str
    package_id: str
    resource_name: str
    dataset_name: str
    dataset_title: str
    district_column: str
    year_column: str
    indicators: list[tuple[str, str]]  # (column id, label)
    withheld_column: str | None

    @property
    def label(self) -> str:
        return self.dataset_title if not self.resource_name else f"{self.dataset_title}: {self.resource_name}"


@dataclass
class Value:
    number: str
    name: str
    value: float | None
    withheld: bool = False


@dataclass
class Series:
    year: Any
    values: dict[str, Value] = field(default_factory=dict)


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {n.lower(): n for n in names}
    for w in wanted:
        if w in lower:
            return lower[w]
    return None


def _fields(resource_id: str, stamp: str) -> list[dict[str, Any]] | None:
    now = time.monotonic()
    with _lock:
        hit = _cache.get((resource_id, stamp))
        if hit and now - hit[0] < FIELDS_TTL:
            return hit[1]
    try:
        found = tk.get_action("datastore_search")(
            _anonymous(), {"resource_id": resource_id, "limit": 0, "include_total": False}
        )
        fields: list[dict[str, Any]] | None = found["fields"]
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        fields = None
    with _lock:
        if len(_cache) > 2000:
            _cache.clear()
        _cache[(resource_id, stamp)] = (now, fields)
    return fields


def _table(pkg: dict[str, Any], res: dict[str, Any]) -> Table | None:
    fields = _fields(res["id"], f"{pkg.get('metadata_modified')}|{res.get('last_modified') or ''}")
    if not fields:
        return None
    names = [f["id"] for f in fields if f["id"] != "_id"]
    district = _pick(names, DISTRICT_NAMES)
    year = _pick(names, YEAR_NAMES)
    if not district or not year:
        return None
    indicators = []
    for f in fields:
        if f["id"] in ("_id", district, year) or f.get("type") not in NUMERIC:
            continue
        if f["id"].lower() in DISTRICT_NAMES:
            continue
        label = ((f.get("info") or {}).get("label") or "").strip() or f["id"]
        indicators.append((f["id"], label))
    if not indicators:
        return None
    return Table(
        resource_id=res["id"],
        package_id=pkg["id"],
        resource_name=res.get("name") or "",
        dataset_name=pkg["name"],
        dataset_title=pkg.get("title") or pkg["name"],
        district_column=district,
        year_column=year,
        indicators=indicators,
        withheld_column=_pick(names, (WITHHELD,)),
    )


def _search_tables() -> list[Table]:
    """Every selectable table as an anonymous ``package_search`` finds them (the expensive
    part: its cost grows with the number of public datasets)."""
    out: list[Table] = []
    start = 0
    while True:
        found = tk.get_action("package_search")(
            _anonymous(),
            {"q": "*:*", "rows": 1000, "start": start, "sort": "title_string asc"},
        )
        for pkg in found["results"]:
            for res in pkg.get("resources", []):
                if res.get("datastore_active"):
                    t = _table(pkg, res)
                    if t is not None:
                        out.append(t)
        start += 1000
        if start >= found["count"] or not found["results"]:
            return out


def _catalogue_stamp() -> tuple[Any, ...]:
    """Changes whenever a dataset or resource is created, edited, published, withdrawn or
    deleted (one cheap query)."""
    row = model.Session.execute(
        sa.text(
            "SELECT (SELECT max(metadata_modified) FROM package), (SELECT count(*) FROM package), "
            "(SELECT max(metadata_modified) FROM resource), (SELECT count(*) FROM resource)"
        )
    ).fetchone()
    return tuple(row) if row else ()


def _still_public(found: list[Table]) -> list[Table]:
    """The tables whose dataset the public sees now (published and open, by CKAN's own
    rule) and whose resource is an active resource of it, with the dataset's current
    title and name: one query for the datasets, one for the resources, on every request."""
    if not found:
        return []
    ids = {t.package_id for t in found}
    packages = {p.id: p for p in model.Session.query(model.Package).filter(model.Package.id.in_(ids)).all()}
    public = {pid for pid, p in packages.items() if compat.is_public(p)}
    resources = {
        r.id: r
        for r in model.Session.query(model.Resource).filter(model.Resource.id.in_({t.resource_id for t in found}))
    }
    out = []
    for t in found:
        res = resources.get(t.resource_id)
        if t.package_id in public and res is not None and res.state == "active" and res.package_id == t.package_id:
            pkg = packages[t.package_id]
            out.append(replace(t, dataset_name=pkg.name, dataset_title=pkg.title or pkg.name))
    return out  # in the search's order (by title)


def tables() -> list[Table]:
    """Every selectable table, by dataset title. The search is cached while no dataset or
    resource changed (at most CANDIDATES_TTL seconds); visibility is checked again on every
    request, so a table whose dataset left public view is never listed."""
    stamp = _catalogue_stamp()
    now = time.monotonic()
    with _lock:
        hit = _candidates.get("tables")
    if hit is None or hit[0] != stamp or now - hit[1] >= CANDIDATES_TTL:
        found = _search_tables()
        with _lock:
            _candidates["tables"] = (stamp, now, found)
    else:
        found = hit[2]
    return _still_public(found)


def values(table: Table, indicator: str) -> dict[Any, Series]:
    """The indicator per year and district (as anonymous; withheld values marked)."""
    columns = [table.district_column, table.year_column, indicator]
    if table.withheld_column:
        columns.append(table.withheld_column)
    found = tk.get_action("datastore_search")(
        _anonymous(), {"resource_id": table.resource_id, "fields": columns, "limit": MAX_ROWS, "include_total": False}
    )
    names = {d.number: d.name for d in districts.all_districts()}
    out: dict[Any, Series] = {}
    for rec in found["records"]:
        number = districts.number_of(rec.get(table.district_column))
        year = rec.get(table.year_column)
        if number is None or year is None:
            continue
        raw = rec.get(indicator)
        withheld = False
        if raw is None and table.withheld_column:
            withheld = indicator in str(rec.get(table.withheld_column) or "").split(",")
        try:
            number_value = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            number_value = None
        series = out.setdefault(year, Series(year))
        series.values[number] = Value(number, names[number], number_value, withheld)
    return out
