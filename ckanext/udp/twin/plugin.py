"""The ``udp_twin`` plugin: 3D and grid distributions typed and located (see ``__init__``)."""

from __future__ import annotations

import logging
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp.twin import cli, coverage, helpers, kinds, probe, record

log = logging.getLogger(__name__)


def findings_text(found: probe.Probe) -> list[str]:
    return [tk._(f.msgid).format(**f.params) for f in found.findings]


def type_resource(resource: dict[str, Any]) -> None:
    """Type ``resource`` from its upload (read once, size-capped) or, without one, from
    its format label, media type, file name or service URL."""
    upload = resource.get("upload")
    stream = getattr(upload, "stream", None)
    filename = getattr(upload, "filename", None)
    if stream is not None and filename and hasattr(stream, "seek"):
        limit = tk.config.get("ckanext.udp.twin.max_probe_bytes")
        found = probe.probe(stream, filename, resource.get("mimetype"), max_bytes=int(limit))
        if found.kind is not None or found.findings:
            record.apply(resource, found, findings_text(found))
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


@tk.blanket.cli(cli.get_commands)
@tk.blanket.config_declarations
@tk.blanket.helpers(helpers.get_helpers)
class UdpTwinPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IResourceController, inherit=True)
    p.implements(p.IPackageController, inherit=True)

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

    def after_resource_update(self, context: Context, resource: dict[str, Any]) -> None:
        self._feed(context, resource)

    # IPackageController: datasets written whole (harvesters, package_create/update with
    # resources) have no resource hooks; their distributions are typed by media
    # type, name or service URL before the commit (nothing is read from remote links)
    def create(self, entity: Any) -> None:
        self.edit(entity)

    def edit(self, entity: Any) -> None:
        for res in getattr(entity, "resources", None) or []:
            extras = dict(res.extras or {})
            if extras.get("udp_twin_kind") or res.state != "active":
                continue
            kind = (
                kinds.from_media_type(res.mimetype) or kinds.from_name(res.url or "") or kinds.from_service_url(res.url)
            )
            if kind is None:
                continue
            extras["udp_twin_kind"] = kind.label
            res.extras = extras
            if kind.media_type and str(res.mimetype or "").lower() in record.GENERIC_MEDIA:
                res.mimetype = kind.media_type

    @staticmethod
    def _feed(context: Context, resource: dict[str, Any]) -> None:
        if resource.get("udp_twin_extent") and resource.get("package_id"):
            try:
                coverage.feed(resource["package_id"], system=bool(context.get("ignore_auth")))
            except tk.ValidationError:
                log.warning("spatial coverage of %s not written", resource["package_id"], exc_info=True)


__all__ = ["UdpTwinPlugin"]
