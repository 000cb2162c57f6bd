"""CSW / ISO 19139 harvester (plugin ``udp_csw_harvester``, harvest type
``udp_csw``): the ISO records of a CSW 2.0.2 catalogue (GDI-DE, a city's
geoportal) into the portal's DCAT-AP.de schema, with OWSLib as the CSW client
and every request through ``ckanext.udp.fetch``. Mapping and parsing:
``ckanext.udp.harvest.iso19139``.

Source URL: the CSW endpoint. Configuration (JSON, all optional):
``page_size`` (20), ``max_records`` (20000), ``validation_profile``
(``iso19139eden``, the one all five real GDI-DE samples pass; ``none`` to
skip), plus the keys every ckanext-udp harvester knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ckan.plugins as p

from ckanext.harvest.interfaces import IHarvester
from ckanext.udp import fetch
from ckanext.udp.harvest import geo, iso19139
from ckanext.udp.harvest.base import Record, UdpHarvester, _, unexpected


class CswHarvester(UdpHarvester, p.SingletonPlugin):
    p.implements(IHarvester)
    p.implements(p.IActions)
    p.implements(p.IConfigDeclaration)
    p.implements(p.IConfigurable)
    p.implements(p.ITranslation)

    source_type = "udp_csw"
    title = "CSW (ISO 19139)"
    description = "ISO 19139 records of a CSW 2.0.2 catalogue (GDI-DE), WMS/WFS services as distributions"

    def declare_config_options(self, declaration: Any, key: Any) -> None:
        super().declare_config_options(declaration, key)
        geo.declare_options(declaration, key)

    # IConfigurable: the district list that boxes are matched against is checked at start-up
    def configure(self, config: Any) -> None:
        geo.check_districts_path(config.get(geo.DISTRICTS))

    def validate_own_config(self, config: dict[str, Any]) -> dict[str, str]:
        errors = {}
        for key in ("page_size", "max_records"):
            value = config.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors[key] = _("must be a whole number of 1 or more")
        if config.get("validation_profile", "iso19139eden") not in ("iso19139eden", "iso19139", "none"):
            errors["validation_profile"] = _("must be one of: {values}").format(values="iso19139eden, iso19139, none")
        return errors

    def gather_records(self, source: Any, config: dict[str, Any]) -> Iterator[Record]:
        url = source.url.strip()
        profile = config.get("validation_profile", iso19139.DEFAULT_PROFILE)
        with fetch.Fetcher() as fetcher:
            for identifier, xml in iso19139.csw_records(url, config, fetcher):
                guid = identifier or f"{url}#ohne-kennung"
                try:
                    problem = iso19139.validate_record(xml, profile)
                    if problem:
                        yield Record(guid=guid, error=problem)
                        continue
                    yield iso19139.map_record(xml, url)
                except iso19139.RefusedXML as err:
                    yield Record(guid=guid, error=_("The record was refused: {reason}").format(reason=err))
                except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
                    yield Record(
                        guid=guid, error=_("The record could not be read: {reason}").format(reason=unexpected(err))
                    )
