"""Uploaded 3D and grid files are parsed outside the web process.

The first bytes (signature, JSON or not) are read here; a file that needs a parser
(CityJSON, 3D Tiles, glTF JSON, NetCDF/HDF5, GeoTIFF) is read by :func:`probe.probe_file`
in a child process limited in memory, CPU and wall time and in the size of its answer
(``ckanext.udp.sandbox``). A file that exceeds a limit gets a finding in German, never an
error page or a hung worker.

Uploads larger than ``ckanext.udp.twin.sync_probe_bytes`` are not read in the request at
all: the resource is typed by its name and first bytes, marked as being checked
(``udp_twin_probe = pending``) and read by a background job (:func:`probe_job`) once the
file is stored.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import IO, Any

import ckan.plugins.toolkit as tk

from ckanext.udp import sandbox
from ckanext.udp.twin import probe, record

log = logging.getLogger(__name__)
PENDING = "pending"
PROBE_FIELD = "udp_twin_probe"
JOB_TITLE = "udp twin: probe {id}"

#: findings of a file whose reading exceeded a limit of the child process
TOO_MUCH_MEMORY = (
    "Reading the file needed more than {limit} MB of memory and was stopped: reference system and extent not read."
)
TOO_LONG = "Reading the file took longer than {seconds} seconds and was stopped: reference system and extent not read."
TOO_MUCH_OUTPUT = (
    "Reading the file gave more than {limit} MB of results and was stopped: reference system and extent not read."
)
CRASHED = "The reader of the file ended unexpectedly: reference system and extent not read."
JOB_FAILED = "The file could not be checked in the background."
I18N_DIR = os.path.join(os.path.dirname(__file__), "i18n")


def limits(background: bool = False) -> sandbox.Limits:
    """The child's limits; a background job (large files, no request waiting) gets five
    times the CPU and wall-clock seconds, the same memory."""
    cpu = int(tk.config.get("ckanext.udp.twin.probe_cpu_seconds"))
    wall = float(tk.config.get("ckanext.udp.twin.probe_wall_seconds") or 2 * cpu)
    factor = 5 if background else 1
    return sandbox.Limits(
        memory_mb=int(tk.config.get("ckanext.udp.twin.probe_memory_mb")),
        cpu_seconds=factor * cpu,
        wall_seconds=factor * wall,
        output_bytes=4 * sandbox.MB,
    )


def max_bytes() -> int:
    return int(tk.config.get("ckanext.udp.twin.max_probe_bytes"))


def sync_bytes() -> int:
    return int(tk.config.get("ckanext.udp.twin.sync_probe_bytes"))


def note_limit(found: probe.Probe, exc: sandbox.LimitExceeded) -> probe.Probe:
    """``found`` (what name and first bytes told) with the finding of the exceeded limit."""
    lim = exc.limits
    if exc.reason == "memory":
        found.note(TOO_MUCH_MEMORY, limit=lim.memory_mb)
    elif exc.reason == "time":
        found.note(TOO_LONG, seconds=round(min(lim.cpu_seconds, lim.wall_seconds)))
    elif exc.reason == "output":
        found.note(TOO_MUCH_OUTPUT, limit=round(lim.output_bytes / sandbox.MB))
    else:
        found.note(CRASHED)
    log.warning("probe stopped by its limits (%s): %s", exc.reason, exc.detail)
    return found


def probe_path(
    path: str, name: str, media_type: str | None, known: probe.Probe | None = None, background: bool = False
) -> probe.Probe:
    """The file at ``path`` read in the limited child process."""
    try:
        answer = sandbox.run(
            "ckanext.udp.twin.probe:probe_file",
            {"path": path, "name": name, "media_type": media_type, "max_bytes": max_bytes()},
            limits(background),
        )
    except sandbox.LimitExceeded as exc:
        return note_limit(known or probe.Probe(kind=probe.kinds.from_name(name)), exc)
    return probe.from_dict(answer)


def probe_stream(stream: IO[bytes], name: str, media_type: str | None) -> probe.Probe:
    """An upload's stream: the first bytes here, the parsing in the child process (from a
    temporary copy, as the upload is not stored yet)."""

    def outside(known: probe.Probe) -> probe.Probe:
        with tempfile.NamedTemporaryFile(prefix="udp-twin-", suffix=".probe") as tmp:
            stream.seek(0)
            shutil.copyfileobj(stream, tmp, sandbox.MB)
            tmp.flush()
            return probe_path(tmp.name, name, media_type, known)

    return probe.probe(stream, name, media_type, max_bytes=max_bytes(), outside=outside)


def wants_job(stream: IO[bytes]) -> bool:
    """Too large to be read in the request (but not beyond what is read at all)."""
    size = probe.size_of(stream)
    return sync_bytes() < size <= max_bytes()


def typed_by_head(stream: IO[bytes], name: str, media_type: str | None) -> tuple[probe.Probe, bool]:
    """What the name and the first bytes alone tell (no parser runs), and whether a
    parser is still to read the file (in the background)."""
    later: list[bool] = []

    def defer(known: probe.Probe) -> probe.Probe:
        later.append(True)
        return known

    found = probe.probe(stream, name, media_type, max_bytes=max_bytes(), outside=defer)
    return found, bool(later)


def findings_text(found: probe.Probe) -> list[str]:
    """The findings in the reader's language; in a background job (no request), in the
    portal's default language."""
    from flask import has_request_context

    if has_request_context():
        return [tk._(f.msgid).format(**f.params) for f in found.findings]
    from babel.support import Translations

    locale = str(tk.config.get("ckan.locale_default") or "en")
    catalogue = Translations.load(I18N_DIR, [locale], "ckanext-udp-twin")
    return [catalogue.gettext(f.msgid).format(**f.params) for f in found.findings]


def enqueue(resource: dict[str, Any], system: bool) -> None:
    """Queue the background check (an upload does not fail when the queue is down: the
    resource stays "being checked" and ``probe_job`` can be run for it later)."""
    try:
        tk.enqueue_job(probe_job, [resource["id"], system], title=JOB_TITLE.format(id=resource["id"]))
    except Exception:  # noqa: BLE001 - Redis unreachable: logged, the upload stands
        log.exception("background check of resource %s not queued", resource["id"])


def probe_job(resource_id: str, system: bool = False) -> None:
    """The background check of a large upload: read it in the limited child process and
    write what it says into the resource (and the dataset's coverage, as an upload would)."""
    from ckanext.udp import compat
    from ckanext.udp.twin import coverage

    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context: Any = {"ignore_auth": True, "user": site["name"]}
    try:
        resource = tk.get_action("resource_show")(dict(context), {"id": resource_id})
    except tk.ObjectNotFound:
        return  # deleted meanwhile
    if resource.get(PROBE_FIELD) != PENDING:
        return  # read already (a second job for the same upload)
    path = compat.resource_upload_path(resource)
    name = str(resource.get("url") or "").rsplit("/", 1)[-1] or str(resource.get("name") or "")
    known = probe.Probe(kind=probe.kinds.BY_LABEL.get(str(resource.get("udp_twin_kind"))))
    try:
        if not path:
            raise FileNotFoundError(resource_id)
        found = probe_path(path, name, resource.get("mimetype"), known, background=True)
    except Exception:  # noqa: BLE001 - the steward sees a finding, the log the cause
        log.exception("background probe of resource %s failed", resource_id)
        found = known
        found.note(JOB_FAILED)
    if found.kind is None:
        found.kind = known.kind
    updated = {k: v for k, v in resource.items() if k not in (*record.FIELDS, PROBE_FIELD)}
    record.apply(updated, found, findings_text(found))
    tk.get_action("resource_update")(dict(context), updated)
    if updated.get("udp_twin_extent") and resource.get("package_id"):
        try:
            coverage.feed(resource["package_id"], system=system)
        except tk.ValidationError:
            log.warning("spatial coverage of %s not written", resource["package_id"], exc_info=True)
