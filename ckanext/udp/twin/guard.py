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

Linked files (a URL typed in the form or delivered by a harvester) of a kind that says
something of itself (CityJSON, 3D Tiles, glTF/GLB, NetCDF, GeoTIFF) are marked the same
way; the job fetches them through ``ckanext.udp.fetch`` (http(s) only, no private or
loopback targets unless allow-listed, timeouts, a size cap) into a temporary file and
reads that in the child as it reads an upload. A link that cannot be fetched gets a
German finding; the resource keeps its link and its type.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import ckan.plugins.toolkit as tk

from ckanext.udp import compat, fetch, sandbox
from ckanext.udp.twin import kinds, probe, record

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
#: findings of a linked file that could not be fetched (the resource keeps its link)
LINK_REFUSED = (
    "The linked file was not fetched: only http and https addresses of public servers are read "
    "({host}); reference system and extent not read."
)
LINK_TOO_LARGE = "The linked file is larger than {limit} MB and was not read: reference system and extent not read."
LINK_TIMEOUT = "The server of the linked file did not answer in time: reference system and extent not read."
LINK_STATUS = "The server of the linked file answered with HTTP {status}: reference system and extent not read."
LINK_FAILED = "The linked file could not be fetched: reference system and extent not read."
#: linked files read in the background (services and CityGML say nothing the probe reads)
LINK_KINDS = (kinds.CITYJSON, kinds.TILES3D, kinds.GLTF, kinds.GLB, kinds.NETCDF, kinds.GEOTIFF)
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


def reads_link(resource: dict[str, Any], kind: kinds.Kind | None) -> bool:
    """Whether ``resource`` is a link (no upload) to a file of a kind the probe reads."""
    if kind not in LINK_KINDS or resource.get("url_type") == "upload" or resource.get("upload") is not None:
        return False
    if not tk.asbool(tk.config.get("ckanext.udp.twin.read_links")):
        return False
    return urlsplit(str(resource.get("url") or "").strip()).scheme.lower() in ("http", "https")


def link_name(url: str) -> str:
    """The file name a link ends with (``tileset.json``, ``modell.city.json``)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def note_fetch_error(found: probe.Probe, exc: fetch.FetchError) -> probe.Probe:
    """``found`` with the German finding for a link that could not be fetched."""
    if isinstance(exc, fetch.UnsafeURL):
        found.note(LINK_REFUSED, host=urlsplit(exc.url).hostname or exc.url[:80])
    elif isinstance(exc, fetch.TooLarge):
        found.note(LINK_TOO_LARGE, limit=round(link_policy().max_bytes / 1e6))
    elif isinstance(exc, fetch.Timeout):
        found.note(LINK_TIMEOUT)
    elif isinstance(exc, fetch.HTTPStatusError):
        found.note(LINK_STATUS, status=exc.status)
    else:
        found.note(LINK_FAILED)
    log.warning("linked file not fetched: %s", exc)
    return found


def link_policy() -> fetch.Policy:
    """The outbound policy (``ckanext.udp.fetch.*``), its size cap no larger than what is
    read of an upload (``max_probe_bytes``)."""
    policy = fetch.policy_from_config()
    return policy.but(max_bytes=min(policy.max_bytes, max_bytes()))


@contextlib.contextmanager
def local_copy(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(path, name)`` of the resource's file: the stored upload, or the linked file
    fetched through ``ckanext.udp.fetch`` into a temporary file (removed afterwards).
    Raises FetchError for a link that cannot be fetched."""
    from ckanext.udp import compat

    url = str(resource.get("url") or "").strip()
    if resource.get("url_type") == "upload":
        path = compat.resource_upload_path(resource)
        if not path:
            raise FileNotFoundError(resource.get("id"))
        yield path, url.rsplit("/", 1)[-1] or str(resource.get("name") or "")
        return
    with tempfile.NamedTemporaryFile(prefix="udp-twin-link-", suffix=".probe") as tmp:
        with fetch.Fetcher(link_policy()) as fetcher:
            fetcher.get(url, sink=tmp)
        tmp.flush()
        yield tmp.name, link_name(url)


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


def enqueue(resource: dict[str, Any], system: bool, after_commit: bool = False) -> None:
    """Queue the background check (an upload does not fail when the queue is down: the
    resource stays "being checked" and ``probe_job`` can be run for it later).

    ``after_commit``: the write is not committed yet (``defer_commit``: a harvest batch
    commits once per batch), so the job is queued when CKAN's session commits; a worker
    looking earlier would not find the resource and leave it "being checked" for good. A
    rolled-back transaction queues nothing; a rolled-back savepoint drops only the jobs of
    its own writes (``compat.after_commit``)."""
    if after_commit:
        compat.after_commit((JOB_TITLE, resource["id"], system), lambda: _enqueue(resource["id"], system))
        return
    _enqueue(resource["id"], system)


def _enqueue(resource_id: str, system: bool) -> None:
    try:
        tk.enqueue_job(probe_job, [resource_id, system], title=JOB_TITLE.format(id=resource_id))
    except Exception:  # noqa: BLE001 - Redis unreachable: logged, the upload stands
        log.exception("background check of resource %s not queued", resource_id)


def probe_job(resource_id: str, system: bool = False) -> None:
    """The background check of a large upload or of a linked file: read it in the limited
    child process and write what it says into the resource (and the dataset's coverage,
    as an upload would)."""
    from ckanext.udp.twin import coverage

    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context: Any = {"ignore_auth": True, "user": site["name"]}
    try:
        resource = tk.get_action("resource_show")(dict(context), {"id": resource_id})
    except tk.ObjectNotFound:
        return  # deleted meanwhile
    if resource.get(PROBE_FIELD) != PENDING:
        return  # read already (a second job for the same upload)
    known = probe.Probe(kind=probe.kinds.BY_LABEL.get(str(resource.get("udp_twin_kind"))))
    try:
        with local_copy(resource) as (path, name):
            found = probe_path(path, name, resource.get("mimetype"), known, background=True)
    except fetch.FetchError as exc:
        found = note_fetch_error(known, exc)
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
