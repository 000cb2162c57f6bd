"""Tabular file-drop harvester (plugin ``udp_filedrop_harvester``, harvest type
``udp_filedrop``): a department's folder (or an HTTP directory listing) of
CSV/XLSX files, each with an optional sidecar, into datasets with a DataStore
table, loaded by ckanext-xloader's loader. Reading, typing and the sidecar:
``ckanext.udp.harvest.tabular``.

Source URL: ``file:///srv/ablage/umwelt`` (a folder inside one of
``ckanext.udp.filedrop.allowed_dirs``) or ``https://.../ablage/`` (a listing).
A file whose checksum (and sidecar) did not change is not read again. A file
that cannot be read as a table is an error on the harvest object; nothing of
it reaches the DataStore (the previous table stays as it was).
Configuration (JSON, all optional): ``max_rows`` (1000000), plus the keys
every ckanext-udp harvester knows.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.harvest.interfaces import IHarvester
from ckanext.udp import fetch
from ckanext.udp.harvest import tabular
from ckanext.udp.harvest.base import Record, RecordError, UdpHarvester, _

log = logging.getLogger(__name__)
ALLOWED_DIRS = "ckanext.udp.filedrop.allowed_dirs"


def allowed_dirs() -> list[str]:
    return str(tk.config.get(ALLOWED_DIRS) or "").split()


class FileDropHarvester(UdpHarvester, p.SingletonPlugin):
    p.implements(IHarvester)
    p.implements(p.IActions)
    p.implements(p.IConfigDeclaration)
    p.implements(p.ITranslation)

    source_type = "udp_filedrop"
    #: its URL may name a local folder (``file:///`` or ``/``): udp_security's URL rule leaves such URLs to
    #: :meth:`check_source_url`, which confines them to ``ckanext.udp.filedrop.allowed_dirs``
    local_folder_urls = True
    title = "Tabular files (file drop)"
    description = "CSV and XLSX files of a department's folder or an HTTP listing, loaded into the DataStore"

    # ---- configuration and the source --------------------------------------

    def declare_config_options(self, declaration: Any, key: Any) -> None:
        super().declare_config_options(declaration, key)
        if ALLOWED_DIRS not in declaration:
            declaration.declare(ALLOWED_DIRS, "").set_description(
                "Local folders (space separated) that file-drop sources may read; empty: none, only http(s)."
            )

    def validate_own_config(self, config: dict[str, Any]) -> dict[str, str]:
        rows = config.get("max_rows", 1)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            return {"max_rows": _("must be a whole number of 1 or more")}
        return {}

    def check_source_url(self, url: str) -> None:
        folder = tabular.folder_of(url)
        if folder is None:
            fetch.check_url(url)
        else:
            tabular.check_folder(folder, allowed_dirs())

    # ---- gather ------------------------------------------------------------

    def gather_records(self, source: Any, config: dict[str, Any]) -> Iterator[Record]:
        with fetch.Fetcher() as fetcher:
            yield from tabular.records(source.url.strip(), allowed_dirs(), fetcher, fetcher.policy.max_bytes)

    # ---- import: read and check before anything is written, load after -------

    def before_write(
        self,
        harvest_object: Any,
        dataset: dict[str, Any],
        existing: dict[str, Any] | None,
        payload: dict[str, Any],
        config: dict[str, Any],
    ) -> None:
        location = payload["location"]
        if not location.startswith(("http://", "https://")):
            try:
                tabular.check_folder(os.path.dirname(location), allowed_dirs())
            except ValueError as err:
                raise RecordError(str(err)) from None
        with fetch.Fetcher() as fetcher:
            data = tabular.read_bytes(location, fetcher, fetcher.policy.max_bytes)
        if hashlib.sha256(data).hexdigest() != payload["sha256"]:
            raise RecordError(
                _("{name} changed while it was harvested; the next run takes it.").format(name=payload["name"])
            )
        try:
            csv_path, table = tabular.prepare(
                data, payload["name"], payload.get("hints") or {}, int(config.get("max_rows", tabular.DEFAULT_MAX_ROWS))
            )
        except tabular.TableError as err:
            raise RecordError(
                _("{name} cannot be loaded as a table, nothing of it was loaded: {reason}").format(
                    name=payload["name"], reason=err
                )
            ) from None
        payload["_csv"], payload["_fields"] = csv_path, table.fields
        if existing is not None:  # keep the table's resource (its id is the table's name)
            for res in existing.get("resources", []):
                if res.get("name") == payload["name"]:
                    for new in dataset.get("resources", []):
                        if new.get("name") == payload["name"]:
                            new["id"], new["url"] = res["id"], res["url"]

    def after_commit(
        self, harvest_object: Any, package_id: str, payload: dict[str, Any], config: dict[str, Any]
    ) -> None:
        context = {"user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"], "ignore_auth": True}
        pkg = tk.get_action("package_show")(dict(context), {"id": package_id})
        resource = next(r for r in pkg["resources"] if r.get("name") == payload["name"])
        load_table(resource["id"], payload["_csv"], payload["_fields"], context)
        dump = tk.url_for("datastore.dump", resource_id=resource["id"], qualified=True)
        if resource.get("url") != dump and not resource.get("url", "").startswith(("http://", "https://")):
            tk.get_action("resource_patch")(dict(context), {"id": resource["id"], "url": dump})

    def cleanup(self, payload: dict[str, Any]) -> None:
        if payload.get("_csv") and os.path.exists(payload["_csv"]):
            os.unlink(payload["_csv"])


def load_table(resource_id: str, csv_path: str, fields: list[dict[str, Any]], context: Context) -> None:
    """The checked CSV into the resource's DataStore table with ckanext-xloader's
    loader (``load_csv``): the table is (re)created with the columns' types
    (xloader keeps types given as ``type_override``), then filled by COPY."""
    from ckanext.xloader import loader

    wanted = [{"id": f["id"], "type": f["type"]} for f in fields]
    try:
        info = tk.get_action("datastore_info")(dict(context), {"id": resource_id})
        current = [{"id": f["id"], "type": f["type"]} for f in info.get("fields", []) if not f["id"].startswith("_")]
    except tk.ObjectNotFound:
        current = None
    if current is not None and current != wanted:
        tk.get_action("datastore_delete")(dict(context), {"resource_id": resource_id, "force": True})
        current = None
    if current is None:
        tk.get_action("datastore_create")(
            dict(context), {"resource_id": resource_id, "force": True, "fields": fields, "records": []}
        )
    else:  # same columns: keep the data dictionary, refresh the types we set
        tk.get_action("datastore_create")(dict(context), {"resource_id": resource_id, "force": True, "fields": fields})
    loader.load_csv(csv_path, resource_id, mimetype="text/csv", logger=log)
    loader.create_column_indexes(fields, resource_id, log)
