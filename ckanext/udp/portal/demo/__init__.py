"""Demo data that looks like Karlsruhe: departments (Ämter) as organizations
and a dozen datasets, some with DataStore tables.

Every demo distribution downloads from the portal itself: a resource with
``"file"`` is an upload of ``files/<file>`` (named after the dataset, e.g.
``baumkataster.csv``); with ``"datastore_from_file"`` its rows also fill a
DataStore table (preview, API). Datasets with a ``datastore`` block keep
their table in the DataStore and point at its dump, which ``udp_dcatde``
names after the dataset.

``load()`` is idempotent: it creates what is missing, updates what differs
from the JSON file and leaves everything else untouched (a second run changes
nothing, not even ``metadata_modified``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from typing import Any

import ckan.plugins.toolkit as tk
from werkzeug.datastructures import FileStorage

log = logging.getLogger(__name__)

# Dataset keys compared to decide whether a dataset needs an update.
_COMPARED = ("title", "notes", "owner_org", "license_id", "private", "stadtteile")
# what the loader reads from a resource of the JSON file, not CKAN fields
_LOADER_KEYS = ("file", "datastore_from_file")


def default_data_path() -> str:
    return os.path.join(os.path.dirname(__file__), "karlsruhe.json")


def files_dir() -> str:
    return os.path.join(os.path.dirname(__file__), "files")


def _context() -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    # udp_initial_state: with the udp_governance plugin, demo datasets start
    # published (their access class and privacy as given); ignored without it
    return {"user": site_user["name"], "ignore_auth": True, "udp_initial_state": "published"}


def _show(action: str, id_: str) -> dict[str, Any] | None:
    try:
        return tk.get_action(action)(_context(), {"id": id_})
    except tk.ObjectNotFound:
        return None


def _ensure_organization(org: dict[str, Any], stats: dict[str, int]) -> None:
    existing = _show("organization_show", org["name"])
    if existing is None:
        tk.get_action("organization_create")(_context(), dict(org))
        stats["created"] += 1
    elif any(existing.get(k) != v for k, v in org.items()):
        tk.get_action("organization_patch")(_context(), dict(org, id=existing["id"]))
        stats["updated"] += 1


def _tag_names(pkg: dict[str, Any]) -> list[str]:
    return sorted(t["name"] for t in pkg.get("tags", []))


def _differs(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    org = existing.get("organization") or {}
    for key in _COMPARED:
        if key not in wanted:
            continue
        have = existing.get(key)
        if key == "owner_org" and wanted[key] in (org.get("name"), org.get("id")):
            continue
        if have != wanted[key]:
            return True
    if _tag_names(existing) != _tag_names(wanted):
        return True
    want = [(r.get("name", ""), r.get("format", "")) for r in wanted.get("resources", [])]
    # resources the demo file does not name (e.g. the sensor series of udp_sensors) are not compared
    have = [
        (r.get("name", ""), r.get("format", ""))
        for r in existing.get("resources", [])
        if r.get("name", "") in {w[0] for w in want}
    ]
    return have != want


def _ensure_datastore(pkg: dict[str, Any], spec: dict[str, Any], res_name: str) -> None:
    """Fill the DataStore table behind the dataset's tabular resource."""
    resource = next(r for r in pkg["resources"] if r["name"] == res_name)
    records = spec["records"]
    try:
        info = tk.get_action("datastore_search")(_context(), {"resource_id": resource["id"], "limit": 0})
        if info["total"] == len(records):
            return
        tk.get_action("datastore_upsert")(
            _context(), {"resource_id": resource["id"], "records": records, "method": "upsert", "force": True}
        )
    except tk.ObjectNotFound:
        tk.get_action("datastore_create")(
            _context(),
            {
                "resource_id": resource["id"],
                "fields": spec["fields"],
                "primary_key": spec["primary_key"],
                "records": records,
                "force": True,
            },
        )


def _is_uploaded(res: dict[str, Any], path: str) -> bool:
    return (
        res.get("url_type") == "upload"
        and str(res.get("url") or "").rsplit("/", 1)[-1] == os.path.basename(path)
        and str(res.get("size") or "") == str(os.path.getsize(path))
    )


def _ensure_upload(res: dict[str, Any], path: str) -> dict[str, Any]:
    """Upload ``path`` into the resource unless it is there already."""
    if _is_uploaded(res, path):
        return res
    with open(path, "rb") as f:
        upload = FileStorage(stream=io.BytesIO(f.read()), filename=os.path.basename(path))
    return tk.get_action("resource_patch")(
        _context(), {"id": res["id"], "upload": upload, "url": os.path.basename(path), "url_type": "upload"}
    )


def _column_type(values: list[str]) -> str:
    def all_of(kind: type) -> bool:
        try:
            for v in values:
                if v != "":
                    kind(v)
        except ValueError:
            return False
        return any(v != "" for v in values)

    if all_of(int):
        return "int"
    if all_of(float):
        return "numeric"
    return "text"


def _ensure_table_from_csv(res: dict[str, Any], path: str) -> None:
    """Fill the resource's DataStore table from its CSV file (typed columns)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    try:
        info = tk.get_action("datastore_search")(_context(), {"resource_id": res["id"], "limit": 0})
        if info["total"] == len(rows):
            return
        tk.get_action("datastore_delete")(_context(), {"resource_id": res["id"], "force": True})
    except tk.ObjectNotFound:
        pass
    names = list(rows[0])
    types = {n: _column_type([r[n] for r in rows]) for n in names}
    records = [{n: (None if r[n] == "" else r[n]) for n in names} for r in rows]
    tk.get_action("datastore_create")(
        _context(),
        {
            "resource_id": res["id"],
            "fields": [{"id": n, "type": types[n]} for n in names],
            "records": records,
            "force": True,
        },
    )


def _ensure_files(pkg: dict[str, Any], loader: dict[str, dict[str, Any]]) -> None:
    for res in pkg["resources"]:
        spec = loader.get(res["name"])
        if not spec or not spec.get("file"):
            continue
        path = os.path.join(files_dir(), spec["file"])
        res = _ensure_upload(res, path)
        if spec.get("datastore_from_file"):
            _ensure_table_from_csv(res, path)


def _ensure_dataset(wanted: dict[str, Any], stats: dict[str, int]) -> dict[str, Any]:
    spec = wanted.pop("datastore", None)
    wanted.setdefault("private", False)
    loader: dict[str, dict[str, Any]] = {}
    for res in wanted["resources"]:
        loader[res["name"]] = {k: res.pop(k) for k in _LOADER_KEYS if k in res}
        # Tables live in the DataStore; the resource points at its dump.
        # Files are uploaded once the resource exists.
        res.setdefault("url", "")
    existing = _show("package_show", wanted["name"])
    if existing is None:
        pkg = tk.get_action("package_create")(_context(), wanted)
        stats["created"] += 1
    elif _differs(existing, wanted):
        # keep resource ids (and with them DataStore tables) stable
        by_name = {r["name"]: r for r in existing["resources"]}
        for res in wanted["resources"]:
            if res["name"] in by_name:
                have = by_name[res["name"]]
                res["id"] = have["id"]
                if loader[res["name"]].get("file") and have.get("url_type") == "upload":
                    # keep the uploaded file (replaced below only if it differs)
                    res.update({k: have[k] for k in ("url", "url_type", "size") if have.get(k) is not None})
        # keep resources other plugins added (sensor series), with their DataStore tables
        named = {r["name"] for r in wanted["resources"]}
        wanted["resources"] += [r for r in existing["resources"] if r["name"] not in named]
        pkg = tk.get_action("package_update")(_context(), dict(wanted, id=existing["id"]))
        stats["updated"] += 1
    else:
        pkg = existing
    _ensure_files(pkg, loader)
    if spec is not None:
        _ensure_datastore(pkg, spec, wanted["resources"][0]["name"])
        # point the resource at the DataStore dump (stable download URL)
        res = next(r for r in pkg["resources"] if r["name"] == wanted["resources"][0]["name"])
        dump = tk.url_for("datastore.dump", resource_id=res["id"], qualified=True)
        if res.get("url") != dump:
            tk.get_action("resource_patch")(_context(), {"id": res["id"], "url": dump})
    return pkg


def load(path: str | None = None) -> dict[str, int]:
    """Create or update the demo organizations and datasets. Returns counts."""
    path = path or tk.config.get("ckanext.udp.demo_data")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    stats = {"created": 0, "updated": 0, "datasets": 0, "organizations": 0}
    for org in data["organizations"]:
        _ensure_organization(org, stats)
        stats["organizations"] += 1
    for dataset in data["datasets"]:
        _ensure_dataset(dataset, stats)
        stats["datasets"] += 1
    return stats
