"""Who can act on a finding of the quality check.

Some values of a dataset are set by the portal, not by its stewards: the
fields of the schema's ``portal`` form section (shown to sysadmins only, kept
unchanged as hidden inputs otherwise, filled from the config by
``logic/defaults.py``). A finding about one of them, or about a node such a
value brings into the RDF (the ``dct:Location`` of a political geocoding URI
mirrored into ``dct:spatial``), is the portal administrators' to fix; the
quality view shows it to sysadmins only.
"""

from __future__ import annotations

import rdflib

from ckanext.udp.dcatde.terms import DCATDE
from ckanext.udp.dcatde.validation import Report, Result

DCT = rdflib.Namespace("http://purl.org/dc/terms/")

#: the schema's ``form_section: portal`` fields and the RDF property each is
#: written as (tests/dcatde/test_quality_view.py keeps this in step with the schema)
PORTAL_PROPERTIES: dict[str, rdflib.URIRef] = {
    "contributor_id": DCATDE.contributorID,
    "political_geocoding_level_uri": DCATDE.politicalGeocodingLevelURI,
    "political_geocoding_uri": DCATDE.politicalGeocodingURI,
    "access_rights": DCT.accessRights,
}


def _portal_values(graph: rdflib.Graph) -> set[str]:
    return {str(o) for p in PORTAL_PROPERTIES.values() for o in graph.objects(None, p) if isinstance(o, rdflib.URIRef)}


def is_portal_set(result: Result, portal_values: set[str]) -> bool:
    """Whether ``result`` is about a value the portal sets."""
    if result.path in {str(p) for p in PORTAL_PROPERTIES.values()}:
        return True
    return result.focus_node in portal_values or (result.value is not None and result.value in portal_values)


def split(report: Report, graph: rdflib.Graph) -> tuple[Report, Report]:
    """(the findings stewards can act on, the findings about portal-set
    values) of ``report``, the check of ``graph``."""
    values = _portal_values(graph)

    def part(portal: bool) -> Report:
        def keep(results: tuple[Result, ...]) -> tuple[Result, ...]:
            return tuple(r for r in results if is_portal_set(r, values) == portal)

        return Report(
            violations=keep(report.violations),
            warnings=keep(report.warnings),
            infos=keep(report.infos),
            seconds=report.seconds,
            triples=report.triples,
        )

    return part(False), part(True)


__all__ = ["PORTAL_PROPERTIES", "is_portal_set", "split"]
