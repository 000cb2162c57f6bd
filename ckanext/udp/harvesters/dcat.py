"""DCAT-AP.de RDF harvester (plugin ``udp_dcat_harvester``, harvest type
``udp_dcat``): a DCAT-AP.de catalog (RDF/XML, Turtle or JSON-LD, paged with
hydra) into the portal's datasets. Mapping: ``ckanext.udp.harvest.dcat``;
machinery and guards: ``ckanext.udp.harvest.base``.

Source configuration (JSON, all optional): ``rdf_format`` (``xml``,
``turtle``, ``json-ld``; default: from the answer), ``max_pages`` (1000),
``import_batch_size`` (default 50; 1: one by one): the import stage writes up
to this many datasets of a job in one transaction, each in a savepoint of its
own, through the same ``package_create``/``package_update`` (schema, validators,
workflow hooks) as one alone; a record that fails leaves nothing of itself and
is an error on its harvest object, the others are written; should anything
inside commit or roll back the whole transaction, nothing of the batch is kept
and it is imported one by one (``ckanext.udp.harvest.base``), plus the keys every ckanext-udp
harvester knows (``udp_workflow_state``, ``udp_access_class``, ``max_archive_per_run``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ckan.plugins as p

from ckanext.harvest.interfaces import IHarvester
from ckanext.udp import fetch
from ckanext.udp.harvest import dcat
from ckanext.udp.harvest.base import BATCH_SIZE_KEY, Record, UdpHarvester, _


class DcatApDeHarvester(UdpHarvester, p.SingletonPlugin):
    p.implements(IHarvester)
    p.implements(p.IActions)
    p.implements(p.IConfigDeclaration)
    p.implements(p.ITranslation)

    source_type = "udp_dcat"
    title = "DCAT-AP.de (RDF)"
    description = "A DCAT-AP.de catalogue in RDF/XML, Turtle or JSON-LD, paged with Hydra"
    batch_import = True
    import_batch_size = 50

    def validate_own_config(self, config: dict[str, Any]) -> dict[str, str]:
        errors = {}
        if "rdf_format" in config and config["rdf_format"] not in ("xml", "turtle", "json-ld", "nt", "n3"):
            errors["rdf_format"] = _("must be one of: {values}").format(values="xml, turtle, json-ld, nt, n3")
        pages = config.get("max_pages", 1)
        if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
            errors["max_pages"] = _("must be a whole number of 1 or more")
        batch = config.get(BATCH_SIZE_KEY, self.import_batch_size)
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 500:
            errors[BATCH_SIZE_KEY] = _("must be a whole number from 1 to 500")
        return errors

    def gather_records(self, source: Any, config: dict[str, Any]) -> Iterator[Record]:
        with fetch.Fetcher() as fetcher:
            yield from dcat.catalog_records(source.url.strip(), config, fetcher)
