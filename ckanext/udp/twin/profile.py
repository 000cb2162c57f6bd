"""The twin's additions to the RDF output (ckanext-dcat profile ``udp_twin``, listed after
``dcatap_de`` in ``ckanext.dcat.rdf.profiles``).

- The reference system is already a standard property: ``dct:conformsTo`` with the EPSG URI
  (as GeoDCAT-AP writes it), from the resource field ``conforms_to``.
- The level of detail of a 3D city model has no property in DCAT, DCAT-AP(.de) or
  GeoDCAT-AP (``dcat:spatialResolutionInMeters`` is a distance, not a CityGML LoD). It is
  written with an own, documented property ``twin:levelOfDetail`` (a literal such as
  ``LoD1``, one per level) in the namespace ``ckanext.udp.twin.rdf_namespace``
  (default: the portal's ``<site_url>/def/twin#``); see docs/3d-klimazwilling.md.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from rdflib import Literal, Namespace, URIRef

from ckanext.dcat.profiles import RDFProfile
from ckanext.dcat.profiles.base import CleanedURIRef
from ckanext.dcat.utils import resource_uri


def namespace() -> Namespace:
    configured = str(tk.config.get("ckanext.udp.twin.rdf_namespace") or "").strip()
    return Namespace(configured or str(tk.config.get("ckan.site_url") or "").rstrip("/") + "/def/twin#")


def levels(resource: dict[str, Any]) -> list[str]:
    """``["LoD1", "LoD2"]`` from the field ``udp_twin_lod`` (``"LoD1, LoD2"``)."""
    return [v.strip() for v in str(resource.get("udp_twin_lod") or "").split(",") if v.strip()]


class TwinProfile(RDFProfile):
    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: URIRef) -> None:
        twin = namespace()
        for resource in dataset_dict.get("resources") or []:
            found = levels(resource)
            if not found:
                continue
            self.g.bind("twin", twin)
            distribution = CleanedURIRef(resource_uri(resource))
            for level in found:
                self.g.add((distribution, twin.levelOfDetail, Literal(level)))
