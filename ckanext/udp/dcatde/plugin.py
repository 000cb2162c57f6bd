"""The ``udp_dcatde`` plugin: DCAT-AP.de 3.0 schema, validators, defaults,
form helpers, the stewards' quality view and the ``ckan udp dcatde validate``
command. The RDF profile
``dcatap_de`` is a ckanext-dcat profile entry point
(``ckanext/udp/dcatde/profiles/dcatap_de.py``), not part of the plugin."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.dcat.interfaces import IDCATRDFHarvester
from ckanext.udp import fetch
from ckanext.udp.commands import register
from ckanext.udp.dcatde import cli, helpers, licenses, reference, validation
from ckanext.udp.dcatde.logic import action, index, validators


@tk.blanket.config_declarations
@tk.blanket.blueprints
@tk.blanket.helpers(helpers.get_helpers)
@tk.blanket.validators(validators.get_validators)
@tk.blanket.actions(action.get_actions)
class UdpDcatdePlugin(p.SingletonPlugin):
    p.implements(p.IPackageController, inherit=True)
    p.implements(IDCATRDFHarvester, inherit=True)
    p.implements(p.IConfigurer)
    p.implements(p.IConfigurable)
    p.implements(p.IClick)
    p.implements(p.IFacets, inherit=True)

    # IConfigurer: the dataset forms (templates, assets) and the quality view
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "udp_dcatde")
        tk.add_public_directory(config, "public")
        # CKAN's licence register with the dcat-ap.de licences (German names,
        # links), from the package data; a site may set its own
        if not config.get("licenses_group_url"):
            config["licenses_group_url"] = "file://" + str(licenses.path())

    # IConfigurable: the reference data (shapes, districts) must be where the
    # config says, as absolute paths; otherwise CKAN does not start
    def configure(self, config: Any) -> None:
        reference.check(config)

    # IClick: ``ckan udp dcatde …`` under the shared ``ckan udp`` group
    def get_commands(self) -> list[Any]:
        return register(cli.dcatde_commands)

    # IDCATRDFHarvester: no page from a URL the fetch policy refuses (file:, private
    # and loopback addresses unless allow-listed; the stock harvester would read a
    # file: URL from disk). Its redirects are not checked: prefer ``udp_dcat``.
    def before_download(self, url: str, harvest_job: Any) -> tuple[str | None, list[str]]:
        try:
            fetch.check_url(url)
        except fetch.FetchError as e:
            return None, [tk._("The source was not read: {reason}").format(reason=e)]
        return url, []

    # IDCATRDFHarvester: refuse hostile documents before any parser sees them.
    # Returning no content stops the gather stage: nothing is created, changed
    # or deleted, and the error is recorded on the harvest job.
    def after_download(self, content: Any, harvest_job: Any) -> tuple[Any, list[str]]:
        if not content:
            return content, []
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        try:
            validation.refuse_hostile(data, _harvest_format(data, harvest_job))
        except validation.UntrustedRDFError as e:
            return None, [tk._("The RDF document was refused: {reason}").format(reason=e)]
        return content, []

    # IPackageController
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return index.labels_for_index(index.districts_for_index(index.spatial_for_index(pkg_dict)))

    # IPackageController: ``theme:"<URI or label>"`` filters the indexed themes
    def before_dataset_search(self, search_params: dict[str, Any]) -> dict[str, Any]:
        fq = search_params.get("fq")
        if isinstance(fq, str) and "theme:" in fq:
            search_params["fq"] = index.rewrite_theme_filter(fq)
        return search_params

    # IFacets: what citizens filter by, in this order, German titles; no
    # groups or tags (the portal has no groups; 26 tag links stood between
    # the search box and the results)
    def dataset_facets(self, facets_dict: dict[str, Any], package_type: str) -> dict[str, Any]:
        return helpers.search_facets()

    def organization_facets(self, facets_dict: dict[str, Any], group_type: str, package_type: Any) -> dict[str, Any]:
        facets = helpers.search_facets()
        facets.pop("organization", None)
        return facets


def _harvest_format(data: bytes, harvest_job: Any) -> str:
    """The source's configured ``rdf_format``, else a guess from the first byte."""
    import json

    try:
        configured = json.loads(harvest_job.source.config or "{}").get("rdf_format")
    except (AttributeError, ValueError):
        configured = None
    if configured:
        return configured
    # a byte-order mark (UTF-8 or UTF-16) must not hide an XML document
    head = data.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:1]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "xml"
    return {b"<": "xml", b"{": "json-ld", b"[": "json-ld"}.get(head, "turtle")
