"""``udp_catalog``: the public DCAT catalog endpoint (stable keyset paging,
cached per-dataset fragments, conditional requests) and the per-dataset RDF
endpoint. It replaces ckanext-dcat's endpoints: config/portal.ini sets
``ckanext.dcat.enable_rdf_endpoints = false``."""

from __future__ import annotations

import logging
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import redis
from ckan.types import Context

from . import changes, cli, fragments

log = logging.getLogger(__name__)


@tk.chained_helper
def dcat_get_endpoint(next_helper: Any, _type: str = "dataset") -> str:
    """ckanext-dcat's templates link the catalog (home page, search) without
    checking that its endpoints are on; they are off here, so point them at ours."""
    return "udp_catalog.dataset" if _type == "dataset" else "udp_catalog.catalog"


def _enqueue_warm(pkg_dict: dict[str, Any]) -> None:
    if pkg_dict.get("id") and tk.config.get("ckanext.udp.catalog.warm_on_write"):
        try:
            fragments.schedule(pkg_dict["id"])
        except redis.RedisError:  # a warm cache is never worth a failed dataset write
            log.warning("catalog: %s not queued for serialising", pkg_dict["id"], exc_info=True)


def _bump() -> None:
    """Record a change of the catalog; its Redis being away must not fail the write."""
    try:
        changes.bump()
    except redis.RedisError:
        log.error(
            "catalog: change not recorded (its Redis is away); conditional requests may answer "
            "304 Not Modified until the next write",
            exc_info=True,
        )


@tk.blanket.config_declarations
@tk.blanket.blueprints
@tk.blanket.cli(cli.get_commands)
class UdpCatalogPlugin(p.SingletonPlugin):
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.ITemplateHelpers)

    # ITemplateHelpers
    def get_helpers(self) -> dict[str, Any]:
        return {"dcat_get_endpoint": dcat_get_endpoint}

    # IPackageController. Every (re)index - creates and updates, but also
    # workflow transitions and search-index rebuilds - may change what the
    # public catalog holds; deletions leave the index without an index hook.
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        _bump()
        return pkg_dict

    def after_dataset_delete(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        _bump()
        if pkg_dict.get("id"):
            try:
                fragments.forget(pkg_dict["id"])
            except redis.RedisError:  # its entry is older than the dataset: never served
                log.warning("catalog: fragment of %s not dropped", pkg_dict["id"], exc_info=True)

    # the job worker serialises the dataset ahead of the next catalog request
    def after_dataset_create(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        _enqueue_warm(pkg_dict)

    def after_dataset_update(self, context: Context, pkg_dict: dict[str, Any]) -> None:
        _enqueue_warm(pkg_dict)
