"""CKAN harvester (plugin ``udp_ckan_harvester``, harvest type ``udp_ckan``):
the public datasets of another CKAN (its Action API, paged) into the portal's
DCAT-AP.de schema, GovData-style extras mapped into fields
(``ckanext.udp.harvest.ckan``). A dataset withdrawn remotely (deleted or made
private there) is archived here, never deleted.

Source URL: the remote CKAN's base URL (``https://ckan.example.org``).
Configuration (JSON, all optional): ``fq`` (a Solr filter, e.g.
``"organization:umweltbundesamt"``), ``max_datasets`` (50000), ``page_size``
(100, datasets per request, at most 1000), plus the keys
every ckanext-udp harvester knows (``udp_workflow_state``,
``udp_access_class``, ``max_archive_per_run``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.harvest.interfaces import IHarvester
from ckanext.udp import fetch
from ckanext.udp.harvest import ckan
from ckanext.udp.harvest.base import Record, UdpHarvester, _


class CkanHarvester(UdpHarvester, p.SingletonPlugin):
    p.implements(IHarvester)
    p.implements(p.IActions)
    p.implements(p.IConfigDeclaration)
    p.implements(p.ITranslation)

    source_type = "udp_ckan"
    title = "CKAN"
    description = "The public datasets of another CKAN (Action API), GovData-style extras mapped to DCAT-AP.de"
    delete_without_workflow = False  # withdrawn remotely: archived, never deleted

    def validate_own_config(self, config: dict[str, Any]) -> dict[str, str]:
        errors = {}
        if "fq" in config and not isinstance(config["fq"], str):
            errors["fq"] = _("must be a text (a Solr filter query)")
        for key in ("max_datasets", "page_size"):
            value = config.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors[key] = _("must be a whole number of 1 or more")
        return errors

    def gather_records(self, source: Any, config: dict[str, Any]) -> Iterator[Record]:
        base = source.url.strip().rstrip("/")
        fields = ckan.schema_field_names()
        own = tk.config.get("ckanext.udp.dcatde.contributor_id")
        with fetch.Fetcher() as fetcher:
            for pkg in ckan.remote_datasets(base, config, fetcher):
                try:
                    yield ckan.map_package(pkg, base, fields, own)
                except (KeyError, TypeError, ValueError, AttributeError) as err:
                    yield Record(
                        guid=f"{base}/dataset/{pkg.get('id')}",
                        label=str(pkg.get("title") or ""),
                        error=_("The dataset could not be read: {reason}").format(reason=err),
                    )
