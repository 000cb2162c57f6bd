"""Bulk downloads ("Gesamtabzüge") of the public catalog at stable URLs.

``build()`` writes four files into ``ckanext.udp.api.dumps_dir``:

- ``katalog.jsonl``: one ``package_show`` dict per line,
- ``katalog.csv``: one row per distribution (resource),
- ``katalog.ttl``: the catalog as DCAT-AP.de Turtle (ckanext-dcat's serializer
  with the portal's configured profiles),
- ``daten.zip``: every DataStore table of the public datasets as one
  Frictionless data package (``datapackage.json`` + one CSV per table; the
  schema comes from the DataStore data dictionary).

Everything is read with an anonymous context (``package_search``,
``package_show``, ``datastore_search``), so a dump holds exactly what an
anonymous visitor sees: with ``udp_governance``, published+open datasets only.
All four files are first written under temporary names; only when all of them
are complete do they replace the previous ones (``os.replace``, atomic), so a
failed rebuild keeps the last good dump. ``manifest.json`` holds each file's
ETag (SHA-256) and build time.

After every dataset change and every change of DataStore rows (the DataStore
actions, and rows written past them: ``datastore_sql.ROWS_WRITTEN``)
``schedule()`` queues one rebuild job (debounced: the job waits until
``ckanext.udp.api.dumps_debounce_seconds`` passed without a change,
re-queueing itself instead of blocking the worker, but no longer than
``ckanext.udp.api.dumps_max_delay_seconds`` after the first change). A dataset
that leaves public view is urgent: the waiting job builds at once, so the files
do not keep it for the debounce time. One build runs at a time (a Redis lock);
a job that finds a build running waits for it by re-queueing itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import pathlib
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.udp import compat

log = logging.getLogger(__name__)

FILES = {
    "katalog.jsonl": "application/x-ndjson; charset=utf-8",
    "katalog.csv": "text/csv; charset=utf-8",
    "katalog.ttl": "text/turtle; charset=utf-8",
    "daten.zip": "application/zip",
}
CSV_COLUMNS = [
    "dataset_id",
    "dataset_name",
    "dataset_title",
    "organization",
    "license_id",
    "dataset_modified",
    "resource_id",
    "resource_name",
    "format",
    "url",
    "datastore_active",
]
# DataStore (PostgreSQL) types -> Frictionless Table Schema types
TYPES = {
    "text": "string",
    "varchar": "string",
    "int": "integer",
    "int4": "integer",
    "int8": "integer",
    "int2": "integer",
    "bigint": "integer",
    "integer": "integer",
    "float": "number",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "json": "object",
    "jsonb": "object",
}
PENDING_KEY = "udp_api:dumps:pending"
LAST_CHANGE_KEY = "udp_api:dumps:last_change"
URGENT_KEY = "udp_api:dumps:urgent"
BUILD_LOCK_KEY = "udp_api:dumps:building"
BUILD_LOCK_SECONDS = 120  # renewed every BUILD_LOCK_RENEW s while the build runs; a killed build frees it after this
BUILD_LOCK_RENEW = 30.0
JOB_TITLE = "udp api: rebuild dumps"
PAGE = 1000


def _anonymous() -> dict[str, Any]:
    return {"user": "", "auth_user_obj": None, "ignore_auth": False}


def directory() -> pathlib.Path:
    configured = tk.config.get("ckanext.udp.api.dumps_dir")
    if configured:
        return pathlib.Path(configured)
    storage = tk.config.get("ckan.storage_path")
    if not storage:
        raise RuntimeError("set ckanext.udp.api.dumps_dir or ckan.storage_path")
    return pathlib.Path(storage) / "udp_api" / "dumps"


# --- reading what the public sees -------------------------------------------------


def public_datasets() -> Iterator[dict[str, Any]]:
    """Every dataset an anonymous visitor sees, as ``package_show`` shows it to them."""
    ids: list[str] = []
    start = 0
    while True:
        found = tk.get_action("package_search")(
            _anonymous(), {"q": "*:*", "sort": "id asc", "rows": PAGE, "start": start, "fl": "id"}
        )
        ids.extend(d["id"] for d in found["results"])
        start += PAGE
        if start >= found["count"] or not found["results"]:
            break
    for package_id in dict.fromkeys(ids):
        try:
            yield tk.get_action("package_show")(_anonymous(), {"id": package_id})
        except (tk.ObjectNotFound, tk.NotAuthorized):
            continue  # left public view while the dump was built


def _table(resource_id: str) -> tuple[list[dict[str, Any]], Iterator[dict[str, Any]]] | None:
    search = tk.get_action("datastore_search")
    try:
        head = search(_anonymous(), {"resource_id": resource_id, "limit": 0, "include_total": False})
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        return None
    fields = [f for f in head["fields"] if f["id"] != "_id"]

    def rows() -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = search(
                _anonymous(),
                {
                    "resource_id": resource_id,
                    "limit": PAGE,
                    "offset": offset,
                    "sort": "_id",
                    "include_total": False,
                },
            )
            yield from page["records"]
            if len(page["records"]) < PAGE:
                return
            offset += PAGE

    return fields, rows()


# --- writers --------------------------------------------------------------------


def _write_jsonl(datasets: list[dict[str, Any]], out: io.TextIOBase) -> None:
    for d in datasets:
        out.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")


def _write_csv(datasets: list[dict[str, Any]], out: io.TextIOBase) -> None:
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for d in datasets:
        for r in d.get("resources") or []:
            writer.writerow(
                {
                    "dataset_id": d["id"],
                    "dataset_name": d["name"],
                    "dataset_title": d.get("title") or "",
                    "organization": (d.get("organization") or {}).get("name") or "",
                    "license_id": d.get("license_id") or "",
                    "dataset_modified": d.get("metadata_modified") or "",
                    "resource_id": r["id"],
                    "resource_name": r.get("name") or "",
                    "format": r.get("format") or "",
                    "url": r.get("url") or "",
                    "datastore_active": "true" if r.get("datastore_active") else "false",
                }
            )


def _write_turtle(datasets: list[dict[str, Any]], out: io.BufferedIOBase) -> None:
    from ckanext.dcat.processors import RDFSerializer

    serializer = RDFSerializer()
    catalog = {
        "title": tk.config.get("ckan.site_title"),
        "description": tk.config.get("ckan.site_description") or "",
    }
    out.write(serializer.serialize_catalog(catalog, dataset_dicts=datasets, _format="turtle").encode("utf-8"))


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "tabelle"
    name, n = base[:90], 2
    while name in taken:
        name, n = f"{base[:85]}-{n}", n + 1
    taken.add(name)
    return name


def _schema_field(field: dict[str, Any]) -> dict[str, Any]:
    info = field.get("info") or {}
    declared = (info.get("type_override") or field.get("type") or "text").lower().lstrip("_")
    out: dict[str, Any] = {
        "name": field["id"],
        "type": "array" if field.get("type", "").startswith("_") else TYPES.get(declared, "any"),
    }
    if out["type"] == "datetime":
        out["format"] = "any"
    if info.get("label"):
        out["title"] = info["label"]
    if info.get("notes"):
        out["description"] = info["notes"]
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_datapackage(datasets: list[dict[str, Any]], out: io.BufferedIOBase) -> int:
    site = tk.config.get("ckan.site_url").rstrip("/")
    resources: list[dict[str, Any]] = []
    taken: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for d in datasets:
            for r in d.get("resources") or []:
                if not r.get("datastore_active"):
                    continue
                table = _table(r["id"])
                if table is None:
                    continue
                fields, rows = table
                name = _slug(f"{d['name']}-{r.get('name') or r['id']}", taken)
                path = f"data/{name}.csv"
                with z.open(path, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                    writer = csv.writer(text, lineterminator="\n")
                    writer.writerow([f["id"] for f in fields])
                    for row in rows:
                        writer.writerow([_cell(row.get(f["id"])) for f in fields])
                resource: dict[str, Any] = {
                    "name": name,
                    "path": path,
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "title": f"{d.get('title') or d['name']}: {r.get('name') or r['id']}",
                    "sources": [{"title": d.get("title") or d["name"], "path": f"{site}/dataset/{d['name']}"}],
                    "schema": {"fields": [_schema_field(f) for f in fields]},
                }
                if d.get("license_id"):
                    license_: dict[str, Any] = {"name": d["license_id"]}
                    if d.get("license_url"):
                        license_["path"] = d["license_url"]
                    if d.get("license_title"):
                        license_["title"] = d["license_title"]
                    resource["licenses"] = [license_]
                if r.get("description"):
                    resource["description"] = r["description"]
                resources.append(resource)
        package = {
            "profile": "tabular-data-package",
            "name": "udp-karlsruhe-offene-daten",
            "title": f"{tk.config.get('ckan.site_title')}: alle offenen DataStore-Tabellen",
            "homepage": site,
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "resources": resources,
        }
        z.writestr("datapackage.json", json.dumps(package, ensure_ascii=False, indent=2))
    return len(resources)


# --- building -------------------------------------------------------------------


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def build(target: pathlib.Path | None = None) -> dict[str, Any]:
    """Build all dumps; replace the previous ones only when all are complete.
    Returns the manifest."""
    target = target or directory()
    target.mkdir(parents=True, exist_ok=True)
    datasets = list(public_datasets())
    temporary: dict[str, pathlib.Path] = {}
    tables = 0
    try:
        for name in FILES:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=target)
            temporary[name] = pathlib.Path(tmp_name)
            with os.fdopen(fd, "wb") as raw:
                if name == "katalog.jsonl":
                    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as t:
                        _write_jsonl(datasets, t)
                elif name == "katalog.csv":
                    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as t:
                        _write_csv(datasets, t)
                elif name == "katalog.ttl":
                    _write_turtle(datasets, raw)
                else:
                    tables = _write_datapackage(datasets, raw)
        built = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        manifest: dict[str, Any] = {
            "built": built.isoformat(),
            "datasets": len(datasets),
            "tables": tables,
            "files": {},
        }
        for name, tmp in temporary.items():
            os.chmod(tmp, 0o644)
            manifest["files"][name] = {"etag": _sha256(tmp), "size": tmp.stat().st_size}
        for name, tmp in temporary.items():
            os.replace(tmp, target / name)
        fd, tmp_manifest = tempfile.mkstemp(prefix=".manifest.", dir=target)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(manifest, f)
        os.chmod(tmp_manifest, 0o644)
        os.replace(tmp_manifest, target / "manifest.json")
        temporary.clear()
        log.info("dumps built: %s datasets, %s tables", len(datasets), tables)
        return manifest
    finally:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)


def manifest(target: pathlib.Path | None = None) -> dict[str, Any] | None:
    try:
        with ((target or directory()) / "manifest.json").open(encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
            return data
    except (OSError, ValueError):
        return None


# --- rebuilding after changes -----------------------------------------------------


def _debounce() -> float:
    return float(tk.config.get("ckanext.udp.api.dumps_debounce_seconds"))


def _max_delay() -> float:
    return float(tk.config.get("ckanext.udp.api.dumps_max_delay_seconds"))


def schedule(urgent: bool = False) -> bool:
    """A dataset or a DataStore table changed: queue one rebuild unless one is
    waiting. ``urgent`` (a dataset left public view): the rebuild skips the
    debounce. Returns whether a job was queued."""
    if not tk.asbool(tk.config.get("ckanext.udp.api.dumps_rebuild_on_change")):
        return False
    try:
        redis = compat.redis_connection()
        now = repr(time.time())
        redis.set(LAST_CHANGE_KEY, now)
        if urgent:
            redis.set(URGENT_KEY, now, ex=6 * 3600)
        # the pending flag holds the time of the first change it waits for
        if not redis.set(PENDING_KEY, now, nx=True, ex=6 * 3600):
            waiting_since = _seconds(redis.get(PENDING_KEY))
            if time.time() - waiting_since < 2 * _max_delay() + 60:
                return False
            # the waiting job was lost (a killed worker, a failed re-queue): queue it again
            log.warning("dumps rebuild pending since %s without a job: queued again", waiting_since)
            redis.set(PENDING_KEY, now, ex=6 * 3600)
        tk.enqueue_job(rebuild_job, title=JOB_TITLE)
    except Exception:  # a dump is never worth a failed dataset change
        log.exception("could not queue the dumps rebuild")
        return False
    return True


# the DataStore actions that change a table's rows (or drop it)
DATASTORE_WRITES = ("datastore_create", "datastore_upsert", "datastore_delete", "datastore_records_delete")


def table_changed(sender: Any, **kwargs: Any) -> None:
    """Receiver of CKAN's ``action_succeeded`` for ``DATASTORE_WRITES`` and of
    ``udp_datastore_rows_written`` (rows written past the actions: sensor
    series, SensorThings mirrors): the tables in ``daten.zip`` changed."""
    schedule()


def _seconds(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def rebuild_job() -> None:
    """The queued rebuild: waits (without blocking the worker for long) until no
    change came for the debounce time, then builds; a stream of changes that
    never pauses (sensor uplinks) waits at most the maximum delay."""
    redis = compat.redis_connection()
    now = time.time()
    last = _seconds(redis.get(LAST_CHANGE_KEY))
    first = _seconds(redis.get(PENDING_KEY)) or now
    wait = last + _debounce() - now
    urgent = redis.get(URGENT_KEY) is not None
    if wait > 0 and now - first < _max_delay() and not urgent:
        time.sleep(min(wait, 1.0))
        tk.enqueue_job(rebuild_job, title=JOB_TITLE)
        return
    # one build at a time (several job workers): a build that started later must not be
    # overtaken by an older one that finishes after it and replaces its files
    lock = redis.lock(BUILD_LOCK_KEY, timeout=BUILD_LOCK_SECONDS, thread_local=False)  # renewed by a thread
    if not lock.acquire(blocking=False):
        time.sleep(1.0)  # the pending flag stays: no other job is queued meanwhile
        tk.enqueue_job(rebuild_job, title=JOB_TITLE)
        return
    done = threading.Event()

    def renew() -> None:  # a long build keeps its lock; a killed one loses it within BUILD_LOCK_SECONDS
        while not done.wait(BUILD_LOCK_RENEW):
            try:
                lock.extend(BUILD_LOCK_SECONDS, replace_ttl=True)
            except Exception:
                log.warning("could not renew the dumps build lock")
                return

    renewer = threading.Thread(target=renew, name="udp-dumps-lock", daemon=True)
    renewer.start()
    try:
        redis.delete(PENDING_KEY, URGENT_KEY)  # a change from now on queues the next rebuild
        build()
    finally:
        done.set()
        renewer.join()
        try:
            lock.release()
        except Exception:  # lost meanwhile (renewal failed)
            log.warning("dumps build lock had expired before the build ended")
