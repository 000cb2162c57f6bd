"""The machinery every ckanext-udp harvester shares (not a plugin itself): the
harvester classes in ``ckanext/udp/harvesters/`` subclass :class:`UdpHarvester`
and supply two things, ``gather_records`` (read the source, yield one
:class:`Record` per dataset, mapped into the DCAT-AP.de schema) and, if they
need one, a source check.

What the base does for all of them:

gather
    Reads every record; a record whose mapped dataset is unchanged since the
    last import (a hash of the mapped dict) is reported "not modified" and not
    queued, so a re-harvest with nothing changed writes no dataset. A record
    that cannot be mapped becomes a harvest object with an error naming the
    record and the reason. Only after a *complete, non-empty* gather are the
    datasets the source no longer lists archived (published ones, through the
    workflow; without it they are deleted, which CKAN keeps restorable), at
    most ``max_archive_per_run`` per run, else none. A source that fails,
    breaks off, loops or lists nothing archives nothing: the records read so
    far are still imported and the reason is a gather error.
import
    Finds the dataset by the source *and* the guid (never another source's,
    never one a steward deleted), writes it through ``package_create`` /
    ``package_update`` (the portal's schema and validators) as the harvest
    user, in the state the source names (``IUdpHarvest``), commits, and
    indexes it without a Solr commit per dataset. It never raises: whatever
    goes wrong is an error on the harvest object, and the fetch consumer lives on.
sources
    A source's URL is checked when it is saved (each harvester's
    ``check_source_url``; for http sources the fetch policy: http(s) only, no
    private, loopback or link-local address unless allow-listed) and again on
    every request (``ckanext.udp.fetch``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan.types import Context

from ckanext.harvest.harvesters.base import HarvesterBase
from ckanext.harvest.model import HarvestObject, HarvestObjectError, HarvestObjectExtra
from ckanext.udp import compat, fetch, sourceguard
from ckanext.udp.harvest.interfaces import (
    DEFAULT_MAX_ARCHIVE,
    MAX_ARCHIVE_KEY,
    STATE_KEY,
    IUdpHarvest,
)

log = logging.getLogger(__name__)

HASH_KEY = "udp_hash"
EVENT_KEY = "udp_event"
# on an object imported with the batch of another object of its job: its result ("ok", "error", "unchanged")
BATCH_KEY = "udp_batch"
# source configuration: how many objects one batched import takes (harvesters that batch)
BATCH_SIZE_KEY = "import_batch_size"
# audit-trail reasons (data: German, like the portal's other workflow reasons)
ARCHIVED_REASON = "Automatisch archiviert: die Harvest-Quelle führt diesen Datensatz nicht mehr"
RESTORED_REASON = "Automatisch wiederhergestellt: die Harvest-Quelle führt diesen Datensatz wieder"
I18N_DIR = os.path.join(os.path.dirname(__file__), "i18n")
# bump when a mapping changes, so that every dataset is written once more
MAPPING_VERSION = "1"


class RecordError(Exception):
    """A record that cannot be imported, for a reason worth telling the
    steward as it is (raised by a harvester's hooks)."""


class GatherIncomplete(Exception):
    """The source could not be read to its end (stops the gather; what was
    read is imported, nothing is archived)."""


@dataclass
class Record:
    """One dataset of a source. ``dataset`` is the mapped dict (no id, name
    or owner_org: the import decides those); ``error`` instead of it says why
    the record cannot become a dataset. ``payload`` travels to the import
    stage unchanged (e.g. a file's location and checksum)."""

    guid: str
    dataset: dict[str, Any] | None = None
    error: str | None = None
    label: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def _(text: str) -> str:
    """Translate now: in a request into the visitor's language; elsewhere (the
    gather and fetch consumers, the CLI: messages stored on harvest jobs) into
    the portal's default language (``ckan.locale_default``)."""
    from flask import has_request_context

    if has_request_context():
        try:
            return tk._(text)
        except Exception:
            return text
    return _default_translations(str(tk.config.get("ckan.locale_default") or "en")).gettext(text)


@functools.lru_cache(maxsize=4)
def _default_translations(locale: str) -> Any:
    from babel.support import NullTranslations, Translations

    found = Translations.load(I18N_DIR, [locale], domain="ckanext-udp-harvest")
    out = found if isinstance(found, Translations) else NullTranslations()
    # then the other plugins' catalogues and CKAN's own: the schema's validators speak in theirs
    import ckan

    catalogues = [
        (plugin.i18n_directory(), plugin.i18n_domain())
        for plugin in p.PluginImplementations(p.ITranslation)
        if plugin.i18n_directory() != I18N_DIR
    ]
    for directory, domain in [*catalogues, (os.path.join(os.path.dirname(ckan.__file__), "i18n"), "ckan")]:
        more = Translations.load(directory, [locale], domain=domain)
        if isinstance(more, Translations):
            out.add_fallback(more)
    return out


def unexpected(err: BaseException) -> str:
    """An unforeseen error for a steward's eyes: its kind and the first line of
    its message, short (no SQL statement, no traceback)."""
    first = (str(err).strip().splitlines() or [""])[0][:300]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def dataset_hash(record: Record) -> str:
    doc = {"v": MAPPING_VERSION, "dataset": record.dataset, "payload": record.payload}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def error_summary(err: tk.ValidationError) -> str:
    """Each refused field with the schema's own message, in the language of
    ``_`` (a distribution's fields prefixed with its number), e.g.
    ``Distribution 2, url: …``; CKAN's summary ("Package resource(s) invalid")
    names no field."""
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}", inner)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for n, inner in enumerate(value, 1):
                if inner:
                    label = _("Distribution {n}").format(n=n) if prefix == "resources" else f"{prefix} {n}"
                    walk(f"{label}, ", inner)
        elif isinstance(value, list):
            parts.append(f"{prefix}: " + " ".join(_(str(v)) for v in value))
        elif value:
            parts.append(f"{prefix}: {_(str(value))}")

    walk("", getattr(err, "error_dict", None) or {})
    if parts:
        return "; ".join(parts)
    summary = getattr(err, "error_summary", None) or {}
    return "; ".join(f"{k}: {v}" for k, v in summary.items()) or str(err)


@dataclass
class _Previous:
    object_id: str
    package_id: str | None
    hash: str | None
    package_state: str | None


class _BatchLookups:
    """What each object of a batched import would look up alone, looked up once
    for the batch: the dataset the current object of each guid points to (one
    query instead of one per record), and the portal's dataset names starting
    like a name one of the records would get (one query instead of one per new
    dataset, each a scan of the package table). Names are then given out from
    that set plus the names the batch gave out itself, by the rule of
    ckanext-harvest's ``_ensure_name_is_unique`` (numbers appended, or random
    hex when ``ckanext.harvest.default_dataset_name_append`` says so). A name
    a concurrent writer takes after the lookup makes that record fail alone
    (the database's unique name), as it does one by one; the next run retries."""

    MAX_LENGTH = model.PACKAGE_NAME_MAX_LENGTH

    def __init__(self, source_id: str, objs: list[Any]) -> None:
        contents: dict[str, dict[str, Any]] = {}
        for obj in objs:
            try:
                contents[obj.id] = json.loads(obj.content or "{}")
            except ValueError:
                contents[obj.id] = {}
        guids = [obj.guid for obj in objs]
        self.previous: dict[str, str] = {}
        for guid, package_id in (
            model.Session.query(HarvestObject.guid, HarvestObject.package_id)
            .filter(
                HarvestObject.harvest_source_id == source_id,
                HarvestObject.guid.in_(guids),
                HarvestObject.current.is_(True),
                HarvestObject.package_id.isnot(None),
            )
            .order_by(HarvestObject.gathered)
        ):
            self.previous.setdefault(guid, package_id)
        self.append = str(tk.config.get("ckanext.harvest.default_dataset_name_append") or "number-sequence")
        prefixes = set()
        for obj in objs:
            if obj.guid in self.previous:
                continue
            content = contents[obj.id]
            for ideal, _append in self._ideals(content.get("dataset") or {}, content.get("payload") or {}):
                prefixes.add(ideal[: self.MAX_LENGTH - 3])
        self.taken: set[str] = set()
        if prefixes:
            rows = model.Session.query(model.Package.name).filter(
                sa.or_(*[model.Package.name.ilike(f"{prefix}%") for prefix in sorted(prefixes)])
            )
            self.taken = {row[0] for row in rows}

    @staticmethod
    def _ideals(dataset: dict[str, Any], payload: dict[str, Any]) -> list[tuple[str, str]]:
        """The names a new dataset would like, in order: the remote name, then one from the title."""
        out = []
        if payload.get("name"):
            out.append((compat.munge_name(str(payload["name"]))[:90], "number-sequence"))
        title = re.sub("-+", "-", compat.munge_title_to_name(str(dataset.get("title") or "datensatz")))
        out.append((title[: _BatchLookups.MAX_LENGTH], ""))
        return out

    def _unique(self, ideal: str, append: str) -> str | None:
        if ideal not in self.taken:
            return ideal
        if append == "random-hex":
            return ideal[: self.MAX_LENGTH - 5] + str(uuid.uuid4())[:5]
        for counter in range(1, 1000):
            candidate = ideal[: self.MAX_LENGTH - len(str(counter))] + str(counter)
            if candidate not in self.taken:
                return candidate
        return None

    def name_for(self, dataset: dict[str, Any], payload: dict[str, Any]) -> str:
        name = None
        for ideal, append in self._ideals(dataset, payload):
            name = self._unique(ideal, append or self.append)
            if name:
                break
        name = name or f"harvest-{dataset['id'][:8]}"
        self.taken.add(name)
        return name


class UdpHarvester(HarvesterBase):
    """Base of the ckanext-udp harvesters (see the module's docstring).

    Subclasses are plugins: ``p.SingletonPlugin`` implementing ``IHarvester``,
    ``IActions`` (the source check on save), ``IConfigDeclaration`` and
    ``ITranslation``, all provided here."""

    #: the harvest source type (``info()["name"]``)
    source_type = ""
    title = ""
    description = ""
    #: without the workflow plugin, vanished datasets are deleted (CKAN keeps
    #: them restorable); False: left alone (the CKAN harvester never deletes)
    delete_without_workflow = True

    # ---- what subclasses provide -------------------------------------------

    def gather_records(self, source: Any, config: dict[str, Any]) -> Iterator[Record]:
        raise NotImplementedError

    def validate_own_config(self, config: dict[str, Any]) -> dict[str, str]:
        """Errors in the harvester's own configuration keys."""
        return {}

    def check_source_url(self, url: str) -> None:
        """Raise ValueError (or fetch.FetchError) if the source URL must not be harvested."""
        fetch.check_url(url)

    def before_write(
        self,
        harvest_object: Any,
        dataset: dict[str, Any],
        existing: dict[str, Any] | None,
        payload: dict[str, Any],
        config: dict[str, Any],
    ) -> None:
        """Last changes to the dict before it is written (``existing``: the
        dataset as it is, on updates)."""

    def after_write(
        self, harvest_object: Any, package_id: str, payload: dict[str, Any], config: dict[str, Any]
    ) -> None:
        """After the dataset is written, before the commit (raise to undo it)."""

    def after_commit(
        self, harvest_object: Any, package_id: str, payload: dict[str, Any], config: dict[str, Any]
    ) -> None:
        """After the dataset is committed and indexed (e.g. load its tables).
        An exception here is an error on the harvest object; the dataset stays,
        and the next run tries again."""

    def cleanup(self, payload: dict[str, Any]) -> None:
        """After the import, whatever happened (e.g. remove temporary files)."""

    # ---- IHarvester --------------------------------------------------------

    def info(self) -> dict[str, str]:
        return {"name": self.source_type, "title": self.title, "description": self.description}

    def parse_config(self, config: str | None) -> dict[str, Any]:
        """The source configuration as a dict; ValueError saying what is wrong."""
        if not config or not config.strip():
            doc: Any = {}
        else:
            try:
                doc = json.loads(config)
            except ValueError as err:
                raise ValueError(_("The configuration is not valid JSON: {error}").format(error=err)) from None
        if not isinstance(doc, dict):
            raise ValueError(_("The configuration must be a JSON object."))
        errors: dict[str, str] = {}
        cap = doc.get(MAX_ARCHIVE_KEY, DEFAULT_MAX_ARCHIVE)
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            errors[MAX_ARCHIVE_KEY] = _("must be a whole number of 0 or more")
        for plugin in p.PluginImplementations(IUdpHarvest):
            errors.update(plugin.udp_harvest_validate_source_config(doc))
        errors.update(self.validate_own_config(doc))
        if errors:
            raise ValueError("; ".join(f"{key}: {msg}" for key, msg in sorted(errors.items())))
        return doc

    def validate_config(self, config: str | None) -> str | None:
        self.parse_config(config)
        return config

    def get_original_url(self, harvest_object_id: str) -> str | None:
        obj = HarvestObject.get(harvest_object_id)
        if obj is None or not obj.content:
            return None
        try:
            return json.loads(obj.content).get("payload", {}).get("original_url")
        except ValueError:
            return None

    # ---- gather ------------------------------------------------------------

    def _previous(self, source_id: str) -> dict[str, _Previous]:
        """The current object of every guid of this source, with its hash and
        its dataset's state (one query)."""
        hashes = (
            sa.select(HarvestObjectExtra.harvest_object_id, HarvestObjectExtra.value)
            .where(HarvestObjectExtra.key == HASH_KEY)
            .subquery()
        )
        rows = (
            model.Session.query(
                HarvestObject.guid,
                HarvestObject.id,
                HarvestObject.package_id,
                hashes.c.value,
                model.Package.state,
            )
            .outerjoin(hashes, hashes.c.harvest_object_id == HarvestObject.id)
            .outerjoin(
                model.Package,
                model.Package.id == HarvestObject.package_id,
            )
            .filter(HarvestObject.harvest_source_id == source_id, HarvestObject.current.is_(True))
        )
        return {guid: _Previous(oid, pid, h, state) for guid, oid, pid, h, state in rows}

    def gather_stage(self, harvest_job: Any) -> list[str]:
        source = harvest_job.source
        try:
            config = self.parse_config(source.config)
            self.check_source_url(source.url)
        except (ValueError, fetch.FetchError) as err:
            self._save_gather_error(_("The source was not read: {reason}").format(reason=err), harvest_job)
            return []
        previous = self._previous(source.id)
        seen: set[str] = set()
        ids: list[str] = []
        complete = True
        pending = 0
        try:
            for record in self.gather_records(source, config):
                obj = self._gathered(harvest_job, record, previous, seen)
                if obj is not None:
                    ids.append(obj)
                pending += 1
                if pending >= 200:
                    model.Session.commit()
                    pending = 0
        except (GatherIncomplete, fetch.FetchError) as err:
            complete = False
            model.Session.commit()
            self._save_gather_error(
                _("The source could not be read completely, so nothing was archived: {reason}").format(reason=err),
                harvest_job,
            )
        except Exception as err:  # a bug or a source nobody foresaw: never a dead consumer
            log.exception("gather of %s failed", source.url)
            model.Session.rollback()
            complete = False
            if ids:  # the objects of the batch rolled back are gone
                ids = [r[0] for r in model.Session.query(HarvestObject.id).filter(HarvestObject.id.in_(ids))]
            self._save_gather_error(
                _("The gather stage failed, so nothing was archived: {reason}").format(reason=unexpected(err)),
                harvest_job,
            )
        model.Session.commit()
        if complete and not seen:
            self._save_gather_error(_("The source lists no datasets; nothing was archived or deleted."), harvest_job)
        elif complete:
            try:
                self._vanish(harvest_job, source, config, previous, seen)
            except Exception as err:  # the gather consumer must live on
                log.exception("archiving for %s failed", source.url)
                model.Session.rollback()
                self._save_gather_error(
                    _("Archiving what the source no longer lists failed: {reason}").format(reason=unexpected(err)),
                    harvest_job,
                )
        return ids

    def _gathered(self, job: Any, record: Record, previous: dict[str, _Previous], seen: set[str]) -> str | None:
        if record.guid in seen:
            record = Record(
                guid=record.guid,
                label=record.label,
                error=_("The source lists this identifier more than once; only the first record was taken."),
            )
            obj = HarvestObject(
                guid=f"{record.guid}#duplicate-{uuid.uuid4().hex[:8]}", job=job, state="ERROR", report_status="errored"
            )
        else:
            seen.add(record.guid)
            obj = None
        if record.error is not None or record.dataset is None:
            if obj is None:
                obj = HarvestObject(guid=record.guid, job=job, state="ERROR", report_status="errored")
            obj.gathered = datetime.datetime.utcnow()
            model.Session.add(obj)
            model.Session.flush()
            label = f" ({record.label})" if record.label else ""
            self._save_object_error(f"{record.guid}{label}: {record.error or _('no dataset')}", obj, "Gather")
            return None
        digest = dataset_hash(record)
        prev = previous.get(record.guid)
        if prev is not None and prev.hash == digest and prev.package_state == "active":
            # nothing changed: reported, not queued, no dataset written
            model.Session.add(
                HarvestObject(
                    guid=record.guid,
                    job=job,
                    package_id=prev.package_id,
                    state="COMPLETE",
                    report_status="not modified",
                    current=False,
                )
            )
            return None
        # the id given here: the objects are written together at the gather's next commit, not one by one
        obj = HarvestObject(
            id=str(uuid.uuid4()),
            guid=record.guid,
            job=job,
            content=json.dumps(
                {"dataset": record.dataset, "payload": record.payload, "hash": digest, "label": record.label},
                ensure_ascii=False,
            ),
        )
        model.Session.add(obj)
        return str(obj.id)

    # ---- vanished datasets -------------------------------------------------

    def _vanish(
        self, job: Any, source: Any, config: dict[str, Any], previous: dict[str, _Previous], seen: set[str]
    ) -> None:
        workflow = _workflow_loaded()
        todo = []
        for guid, prev in previous.items():
            if guid in seen or not prev.package_id or prev.package_state != "active":
                continue
            if workflow:
                pkg = tk.get_action("package_show")(_context(), {"id": prev.package_id})
                if pkg.get(STATE_KEY) != "published":
                    continue  # drafts and reviews are not public; archived ones stay archived
            elif not self.delete_without_workflow:
                continue
            todo.append((guid, prev))
        if not todo:
            return
        cap = int(config.get(MAX_ARCHIVE_KEY, DEFAULT_MAX_ARCHIVE))
        if len(todo) > cap:
            self._save_gather_error(
                _(
                    "{count} datasets are no longer listed by the source, more than the {cap} one run may "
                    "archive; none was archived. Check the source, or raise max_archive_per_run in its "
                    "configuration."
                ).format(count=len(todo), cap=cap),
                job,
            )
            return
        for guid, prev in todo:
            try:
                if workflow:
                    tk.get_action("udp_archive")(
                        _context(), {"id": prev.package_id, "reason": f"{ARCHIVED_REASON} ({guid})"}
                    )
                    status = "archived"
                else:
                    tk.get_action("package_delete")(_context(), {"id": prev.package_id})
                    status = "deleted"
            except (tk.ValidationError, tk.ObjectNotFound) as err:
                obj = HarvestObject(
                    guid=guid, job=job, package_id=prev.package_id, state="ERROR", report_status="errored"
                )
                model.Session.add(obj)
                model.Session.flush()
                self._save_object_error(
                    _("No longer listed by the source, but could not be archived: {reason}").format(reason=err),
                    obj,
                    "Gather",
                )
                continue
            model.Session.add(
                HarvestObject(
                    guid=guid,
                    job=job,
                    package_id=prev.package_id,
                    state="COMPLETE",
                    report_status=status,
                    current=False,
                    extras=[HarvestObjectExtra(key=EVENT_KEY, value="vanished")],
                )
            )
            # forget the hash, so that the record is imported (and restored) when it returns
            model.Session.query(HarvestObjectExtra).filter(
                HarvestObjectExtra.harvest_object_id == prev.object_id, HarvestObjectExtra.key == HASH_KEY
            ).delete()
            model.Session.commit()

    # ---- import ------------------------------------------------------------

    def fetch_stage(self, harvest_object: Any) -> bool:
        return True  # the gather stage already holds each record

    def import_stage(self, harvest_object: Any) -> bool | str:
        done = _batched_result(harvest_object)
        if done is not None:  # imported already, with the batch of an earlier object of its job
            return done
        size = self._batch_size(harvest_object)
        if size > 1:
            _context()  # get_site_user commits if it creates the site user: not once the siblings are locked
            siblings = self._claim(harvest_object, size - 1)
            if siblings:
                return self._import_batch([harvest_object, *siblings])
        return self._import_one(harvest_object)

    def _import_one(self, harvest_object: Any) -> bool | str:
        payload: dict[str, Any] = {}
        try:
            return self._import(harvest_object, payload)
        except Exception as err:  # never kill the fetch consumer
            model.Session.rollback()
            self._save_object_error(self._failure(harvest_object, err), harvest_object, "Import")
            return False
        finally:
            self.cleanup(payload)

    def _failure(self, obj: Any, err: Exception) -> str:
        """The message of a record that could not be imported (for the steward)."""
        if isinstance(err, tk.ValidationError):
            label = ""
            try:
                label = json.loads(obj.content or "{}").get("label") or ""
            except ValueError:
                pass
            return _("{record}: the portal's schema refused the dataset: {reason}").format(
                record=f"{obj.guid} ({label})" if label else obj.guid, reason=error_summary(err)
            )
        if isinstance(err, RecordError):
            return str(err)
        log.exception("import of %s failed", obj.guid)
        return _("Import failed: {reason}").format(reason=unexpected(err))

    # ---- batched import ----------------------------------------------------

    #: whether the source configuration may ask for a batched import (``import_batch_size``)
    batch_import = False
    #: how many waiting objects of one job one import takes at once (1: each its own)
    import_batch_size = 1

    def _batch_size(self, obj: Any) -> int:
        if not self.batch_import:
            return 1
        try:
            config = self.parse_config(obj.source.config)
        except ValueError:
            return 1
        return int(config.get(BATCH_SIZE_KEY, self.import_batch_size))

    def _claim(self, obj: Any, n: int) -> list[Any]:
        """Up to ``n`` further objects of the same job still waiting for their
        import, locked for this transaction (another fetch consumer skips them;
        their own queue message waits for the lock and then finds the result)."""
        return list(
            model.Session.query(HarvestObject)
            .filter(
                HarvestObject.harvest_job_id == obj.harvest_job_id,
                HarvestObject.state == "WAITING",
                HarvestObject.id != obj.id,
                HarvestObject.content.isnot(None),
            )
            .order_by(HarvestObject.gathered, HarvestObject.id)
            .limit(n)
            .with_for_update(skip_locked=True)
            .all()
        )

    def _import_batch(self, objs: list[Any]) -> bool | str:
        """Import the objects in one transaction, each in a savepoint of its
        own: a record that fails leaves nothing of itself (its savepoint is
        rolled back; CKAN's own rollback on a ValidationError reaches only that
        savepoint, ``compat.savepoint_batch``) and becomes an error on its
        object; the others are written, committed together and indexed. Every
        record goes through the same ``_write`` (schema, validators, hooks,
        state) as one alone. Should anything try to commit (or roll back the
        whole transaction) before the batch's end, nothing of the batch is kept
        and its objects are imported one by one. The others' results are stored
        on them (``udp_batch``) for their own turn in the fetch stage."""
        now = datetime.datetime.utcnow()
        shared: dict[str, Any] = {}
        results: dict[str, bool | str] = {}
        written: list[tuple[Any, str, dict[str, Any] | None, Any, dict[str, Any]]] = []
        payloads: list[dict[str, Any]] = []
        try:
            self._share(objs[0].source, shared)
            shared["batch"] = _BatchLookups(objs[0].harvest_source_id, objs)
            for obj in objs[1:]:
                obj.state = "IMPORT"
                obj.import_started = now
            with compat.savepoint_batch() as guard:
                for obj in objs:
                    payload: dict[str, Any] = {}
                    payloads.append(payload)
                    savepoint = model.Session.begin_nested()
                    try:
                        out = self._write(obj, payload, shared)
                        savepoint.commit()
                    except Exception as err:
                        if guard.broken:
                            raise
                        compat.rollback_savepoint(savepoint)
                        model.Session.add(
                            HarvestObjectError(message=self._failure(obj, err), object=obj, stage="Import")
                        )
                        results[obj.id] = False
                        continue
                    if guard.broken:  # a hook swallowed the refusal: the batch is not what it seems
                        raise compat.CommitInBatch("a commit or rollback inside a batched import")
                    if isinstance(out, str):
                        results[obj.id] = out
                    else:
                        results[obj.id] = True
                        written.append((obj, *out, payload))
            if written:  # the objects these replace are no longer current (one statement for the batch)
                model.Session.query(HarvestObject).filter(
                    HarvestObject.harvest_source_id == objs[0].harvest_source_id,
                    HarvestObject.guid.in_([w[0].guid for w in written]),
                    HarvestObject.id.notin_([w[0].id for w in written]),
                ).update({"current": False}, synchronize_session=False)
            for obj in objs[1:]:
                model.Session.add(HarvestObjectExtra(object=obj, key=BATCH_KEY, value=_mark(results[obj.id])))
            model.Session.commit()
        except Exception:  # the batch's own machinery failed before its commit: each object alone
            log.exception("batched import of %d objects failed; importing them one by one", len(objs))
            model.Session.rollback()
            for payload in payloads:
                self.cleanup(payload)
            fallback: dict[str, bool | str] = {}
            for obj in objs[1:]:
                result = self._import_one(obj)
                model.Session.add(HarvestObjectExtra(object=obj, key=BATCH_KEY, value=_mark(result)))
                model.Session.commit()
                fallback[obj.id] = _unmark(_mark(result))
            _remember_batch(objs[0].harvest_job_id, fallback)
            return self._import_one(objs[0])
        # every dataset of the batch to Solr in one request (each document built by CKAN as always)
        unindexed = dict(compat.index_datasets_together([w[1] for w in written]))
        for obj, package_id, existing, digest, payload in written:
            try:
                ok: bool | str = self._after_import(
                    obj, package_id, existing, digest, payload, shared["config"], unindexed.get(package_id, "")
                )
            except Exception as err:  # committed, but a step after it failed: an error on the object
                model.Session.rollback()
                self._save_object_error(self._failure(obj, err), obj, "Import")
                ok = False
            if ok is not True and obj is not objs[0]:
                model.Session.query(HarvestObjectExtra).filter(
                    HarvestObjectExtra.harvest_object_id == obj.id, HarvestObjectExtra.key == BATCH_KEY
                ).update({"value": _mark(ok)}, synchronize_session=False)
                model.Session.commit()
            results[obj.id] = ok
        for payload in payloads:
            self.cleanup(payload)
        _remember_batch(objs[0].harvest_job_id, {obj.id: _unmark(_mark(results[obj.id])) for obj in objs[1:]})
        return results[objs[0].id]

    # ---- one record ----------------------------------------------------------

    def _import(self, obj: Any, payload: dict[str, Any]) -> bool | str:
        shared: dict[str, Any] = {}
        out = self._write(obj, payload, shared)
        if isinstance(out, str):
            return out
        package_id, existing, digest = out
        model.Session.commit()
        return self._after_import(obj, package_id, existing, digest, payload, shared["config"])

    def _share(self, source: Any, shared: dict[str, Any]) -> None:
        """What the objects of one source share (configuration, context, organisation), once."""
        if "config" not in shared:
            shared["config"] = self.parse_config(source.config)
            shared["context"] = _context()
            shared["owner"] = source_owner(source)

    def _write(
        self, obj: Any, payload: dict[str, Any], shared: dict[str, Any]
    ) -> tuple[str, dict[str, Any] | None, Any] | str:
        """Write the object's dataset and link the object to it, without a
        commit; returns (dataset id, the dataset as it was, the hash extra), or
        "unchanged" when nothing is to be written. ``shared`` caches what the
        objects of one source share (configuration, context, organisation)."""
        if not obj.content:
            raise RecordError(_("The harvest object has no content."))
        content = json.loads(obj.content)
        dataset: dict[str, Any] = dict(content["dataset"])
        payload.update(content.get("payload") or {})
        source = obj.source
        self._share(source, shared)
        config = shared["config"]
        batch: _BatchLookups | None = shared.get("batch")
        if batch is not None:
            previous_id = batch.previous.get(obj.guid)
        else:
            previous = (
                model.Session.query(HarvestObject.package_id)
                .filter(
                    HarvestObject.harvest_source_id == source.id,
                    HarvestObject.guid == obj.guid,
                    HarvestObject.current.is_(True),
                    HarvestObject.package_id.isnot(None),
                )
                .first()
            )
            previous_id = previous[0] if previous is not None else None
        pkg = model.Package.get(previous_id) if previous_id is not None else None
        system = shared["context"]
        context = dict(system, defer_commit=True, return_id_only=True)
        existing = None
        if pkg is not None and pkg.state == "deleted":
            if not self._deleted_by_us(source.id, obj.guid, pkg.id):
                log.info("%s: its dataset %s was deleted in the portal; not recreated", obj.guid, pkg.name)
                return "unchanged"
            dataset["state"] = "active"
        if pkg is not None and pkg.state in ("active", "deleted"):
            existing = tk.get_action("package_show")(dict(system), {"id": pkg.id})
            dataset.update(id=pkg.id, name=pkg.name, owner_org=pkg.owner_org or shared["owner"])
            known: dict[tuple[str, Any], str] = {}
            for res in existing.get("resources", []):
                for key in ("uri", "url"):
                    if res.get(key):
                        known.setdefault((key, res[key]), res["id"])
            for res in dataset.get("resources", []):
                rid = known.get(("uri", res.get("uri"))) or known.get(("url", res.get("url")))
                if rid:
                    res["id"] = rid
            self.before_write(obj, dataset, existing, payload, config)
            package_id = tk.get_action("package_update")(dict(context), dataset)
        else:
            dataset["id"] = str(uuid.uuid4())
            dataset["owner_org"] = shared["owner"]
            dataset["name"] = self._new_name(dataset, payload, batch)
            for plugin in p.PluginImplementations(IUdpHarvest):
                plugin.udp_harvest_before_create(config, dataset, source=source)
            self.before_write(obj, dataset, None, payload, config)
            package_id = tk.get_action("package_create")(dict(context), dataset)
        if isinstance(package_id, dict):
            package_id = package_id["id"]
        if batch is None:
            model.Session.query(HarvestObject).filter(
                HarvestObject.harvest_source_id == source.id,
                HarvestObject.guid == obj.guid,
                HarvestObject.id != obj.id,
            ).update({"current": False}, synchronize_session=False)
        # in a batch: the earlier objects of the guids written are made not current once, before its commit
        obj.current = True
        obj.package_id = package_id
        model.Session.add(obj)
        self.after_write(obj, package_id, payload, config)
        digest = HarvestObjectExtra(object=obj, key=HASH_KEY, value=content.get("hash", ""))
        model.Session.add(digest)
        model.Session.flush()
        return package_id, existing, digest

    def _after_import(
        self,
        obj: Any,
        package_id: str,
        existing: dict[str, Any] | None,
        digest: Any,
        payload: dict[str, Any],
        config: dict[str, Any],
        unindexed: str | None = None,
    ) -> bool:
        """After the commit: index (unless the caller did: ``unindexed`` is then
        why it failed, or ""), restore what we archived, the harvester's ``after_commit``."""
        if unindexed is None:
            failed = compat.index_datasets([package_id])
        else:
            failed = [(package_id, unindexed)] if unindexed else []
        if failed:  # without the hash, the next run writes (and indexes) it again
            model.Session.delete(digest)
            model.Session.commit()
            self._save_object_error(
                _(
                    "The dataset was saved but could not be indexed for search ({reason}); "
                    "the next run writes it again."
                ).format(reason=failed[0][1]),
                obj,
                "Import",
            )
        if existing is not None:
            self._restore_if_archived_by_us(package_id, existing)
        try:
            self.after_commit(obj, package_id, payload, config)
        except Exception as err:
            log.exception("after the import of %s", obj.guid)
            model.Session.rollback()
            model.Session.query(HarvestObjectExtra).filter(
                HarvestObjectExtra.harvest_object_id == obj.id, HarvestObjectExtra.key == HASH_KEY
            ).delete()
            model.Session.commit()
            self._save_object_error(
                str(err)
                if isinstance(err, RecordError)
                else _("Import failed: {reason}").format(reason=unexpected(err)),
                obj,
                "Import",
            )
            return False
        return True

    def _new_name(self, dataset: dict[str, Any], payload: dict[str, Any], batch: _BatchLookups | None = None) -> str:
        """The remote name if the source has one and it is free (or free with a
        number), else one from the title. In a batch, from the names the batch
        looked up once (every name of the portal starting like one of its
        records' names) plus those it gave out itself."""
        if batch is not None:
            return batch.name_for(dataset, payload)
        name = None
        if payload.get("name"):
            name = self._ensure_name_is_unique(compat.munge_name(str(payload["name"]))[:90])
        return name or self._gen_new_name(dataset.get("title") or "datensatz") or f"harvest-{dataset['id'][:8]}"

    def _deleted_by_us(self, source_id: str, guid: str, package_id: str) -> bool:
        last = (
            model.Session.query(HarvestObject)
            .filter(
                HarvestObject.harvest_source_id == source_id,
                HarvestObject.guid == guid,
                HarvestObject.package_id == package_id,
                HarvestObject.report_status.in_(("deleted", "archived")),
            )
            .order_by(HarvestObject.gathered.desc())
            .first()
        )
        return last is not None and last.report_status == "deleted"

    def _restore_if_archived_by_us(self, package_id: str, existing: dict[str, Any]) -> None:
        """The source lists the dataset again: undo our own archiving (not a steward's)."""
        if not _workflow_loaded() or existing.get(STATE_KEY) != "archived":
            return
        trail = tk.get_action("udp_audit_list")(_context(), {"id": package_id})
        last = trail[-1] if trail else {}
        if last.get("action") == "archive" and (last.get("comment") or "").startswith(ARCHIVED_REASON):
            tk.get_action("udp_restore")(_context(), {"id": package_id, "reason": RESTORED_REASON})

    # ---- plugin interfaces the subclasses implement --------------------------

    # IActions: the source check when a source of this type is saved
    def get_actions(self) -> dict[str, Any]:
        return sourceguard.source_guard_actions(self.source_type, self.check_source_url)

    # IConfigDeclaration
    def declare_config_options(self, declaration: Any, key: Any) -> None:
        fetch.declare_options(declaration, key)

    # ITranslation
    def i18n_directory(self) -> str:
        return I18N_DIR

    def i18n_locales(self) -> list[str]:
        return [d for d in os.listdir(I18N_DIR) if os.path.isdir(os.path.join(I18N_DIR, d))]

    def i18n_domain(self) -> str:
        return "ckanext-udp-harvest"


def _context(**extra: Any) -> Context:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return dict({"user": site_user["name"], "ignore_auth": True}, **extra)


def _workflow_loaded() -> bool:
    try:
        tk.get_action("udp_archive")
        return True
    except (KeyError, Exception):
        return False


def _mark(result: bool | str) -> str:
    return result if isinstance(result, str) else ("ok" if result else "error")


# the results a batch of this process stored on its other objects, for their own turn in this process's fetch
# stage (each would otherwise read its ``udp_batch`` extra): {"job": job id, "results": {object id: result}}
_BATCH_RESULTS: dict[str, Any] = {"job": None, "results": {}}


def _remember_batch(job_id: str, results: dict[str, bool | str]) -> None:
    """Remember the results of a batch's other objects (those of one job at a time)."""
    if _BATCH_RESULTS["job"] != job_id:
        _BATCH_RESULTS.update(job=job_id, results={})
    _BATCH_RESULTS["results"].update(results)


def _batched_result(obj: Any) -> bool | str | None:
    """The result a batch stored on the object, or None (from this process's
    memory when this process imported its batch, else from its ``udp_batch``
    extra: another fetch consumer may have)."""
    if _BATCH_RESULTS["job"] == obj.harvest_job_id and obj.id in _BATCH_RESULTS["results"]:
        return _BATCH_RESULTS["results"].pop(obj.id)
    row = (
        model.Session.query(HarvestObjectExtra.value)
        .filter(HarvestObjectExtra.harvest_object_id == obj.id, HarvestObjectExtra.key == BATCH_KEY)
        .first()
    )
    if row is None:
        return None
    return _unmark(row[0])


def _unmark(mark: str) -> bool | str:
    return {"ok": True, "error": False}.get(mark, mark)


def source_owner(source: Any) -> str | None:
    pkg = model.Package.get(source.id)
    return pkg.owner_org if pkg is not None else None
