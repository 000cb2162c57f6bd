"""The ``udp_twin`` plugin: 3D and grid distributions typed and located (see ``__init__``)."""

from __future__ import annotations

import logging
import os
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.twin import cli, coverage, guard, helpers, kinds, probe, record

log = logging.getLogger(__name__)
I18N_DIR = os.path.join(os.path.dirname(__file__), "i18n")


def findings_text(found: probe.Probe) -> list[str]:
    return guard.findings_text(found)


def type_resource(resource: dict[str, Any]) -> None:
    """Type ``resource`` from its upload (read once, size-capped, parsed in a limited child
    process; a large one in a background job) or, without one, from its format label,
    media type, file name or service URL; a link to a file the probe reads is marked to
    be fetched and read by the background job."""
    upload = resource.get("upload")
    stream = getattr(upload, "stream", None)
    filename = getattr(upload, "filename", None)
    if stream is not None and filename and hasattr(stream, "seek"):
        resource.pop(guard.PROBE_FIELD, None)
        if guard.wants_job(stream):
            found, later = guard.typed_by_head(stream, filename, resource.get("mimetype"))
        else:
            found, later = guard.probe_stream(stream, filename, resource.get("mimetype")), False
        if found.kind is not None or found.findings:
            record.apply(resource, found, findings_text(found))
        if later:
            resource[guard.PROBE_FIELD] = guard.PENDING  # the job reads it once it is stored
        return
    url = str(resource.get("url") or "")
    kind = (
        kinds.from_format(resource.get("format"))
        or kinds.from_media_type(resource.get("mimetype"))
        or kinds.from_name(url)
        or kinds.from_service_url(url)
    )
    if kind is not None:
        record.apply_kind(resource, kind)
    if guard.reads_link(resource, kind):
        resource[guard.PROBE_FIELD] = guard.PENDING  # fetched and read by the job
    elif resource.get(guard.PROBE_FIELD) == guard.PENDING:
        resource.pop(guard.PROBE_FIELD)


def type_resources(data_dict: dict[str, Any]) -> list[int]:
    """Type the distributions of a dataset written whole that are not typed yet (by
    format label, media type, name or service URL; a resource uploaded through
    ``resource_create`` was typed by its hook). Returns the positions of the links
    marked to be read by the background job."""
    later = []
    for i, resource in enumerate(data_dict.get("resources") or []):
        if isinstance(resource, dict) and not resource.get("udp_twin_kind") and resource.get("upload") is None:
            type_resource(resource)
            if resource.get(guard.PROBE_FIELD) == guard.PENDING:
                later.append(i)
    return later


def enqueue_links(context: Context, data_dict: dict[str, Any], result: Any, later: list[int]) -> None:
    """Queue the background read of the links :func:`type_resources` marked (their ids
    are known once the dataset is written)."""
    if not later:
        return
    system = bool(context.get("ignore_auth"))
    pkg = result if isinstance(result, dict) and "resources" in result else None
    if pkg is None:
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ref = result if isinstance(result, str) else data_dict.get("id") or data_dict.get("name")
        pkg = tk.get_action("package_show")({"ignore_auth": True, "user": site["name"]}, {"id": ref})
    resources = pkg.get("resources") or []
    for i in later:
        if i < len(resources) and resources[i].get(guard.PROBE_FIELD) == guard.PENDING:
            guard.enqueue(resources[i], system=system, after_commit=bool(context.get("defer_commit")))


@tk.chained_action
def package_create(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    later = type_resources(data_dict)
    result = up(context, data_dict)
    enqueue_links(context, data_dict, result, later)
    return result


@tk.chained_action
def package_update(up: Any, context: Context, data_dict: dict[str, Any]) -> Any:
    later = type_resources(data_dict)
    result = up(context, data_dict)
    enqueue_links(context, data_dict, result, later)
    return result


@tk.blanket.cli(cli.get_commands)
@tk.blanket.config_declarations
@tk.blanket.helpers(helpers.get_helpers)
class UdpTwinPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IResourceController, inherit=True)
    p.implements(p.IActions)
    p.implements(p.ITranslation)

    # ITranslation: a catalogue of its own (the findings, the resource page's rows)
    def i18n_directory(self) -> str:
        return I18N_DIR

    def i18n_locales(self) -> list[str]:
        return ["de"]

    def i18n_domain(self) -> str:
        return "ckanext-udp-twin"

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")

    # IResourceController
    def before_resource_create(self, context: Context, resource: dict[str, Any]) -> None:
        type_resource(resource)

    def before_resource_update(self, context: Context, current: dict[str, Any], resource: dict[str, Any]) -> None:
        if resource.get("upload") is not None or resource.get("url") != current.get("url"):
            type_resource(resource)

    def after_resource_create(self, context: Context, resource: dict[str, Any]) -> None:
        self._feed(context, resource)
        self._later(context, resource)

    def after_resource_update(self, context: Context, resource: dict[str, Any]) -> None:
        self._feed(context, resource)
        self._later(context, resource)

    @staticmethod
    def _later(context: Context, resource: dict[str, Any]) -> None:
        if resource.get(guard.PROBE_FIELD) == guard.PENDING and resource.get("id"):
            guard.enqueue(
                resource, system=bool(context.get("ignore_auth")), after_commit=bool(context.get("defer_commit"))
            )

    # IActions: datasets written whole (harvesters, package_create/update with resources)
    # pass no resource hook; their distributions are typed before the write
    def get_actions(self) -> dict[str, Any]:
        return {"package_create": package_create, "package_update": package_update}

    @staticmethod
    def _feed(context: Context, resource: dict[str, Any]) -> None:
        if resource.get("udp_twin_extent") and resource.get("package_id"):
            try:
                coverage.feed(resource["package_id"], system=bool(context.get("ignore_auth")))
            except tk.ValidationError:
                log.warning("spatial coverage of %s not written", resource["package_id"], exc_info=True)


__all__ = ["UdpTwinPlugin"]
