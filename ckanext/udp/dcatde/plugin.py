"""The ``udp_dcatde`` plugin: DCAT-AP.de 3.0 schema, validators, defaults,
form helpers and the ``ckan dcatde validate`` command. The RDF profile
``dcatap_de`` is a ckanext-dcat profile entry point
(``ckanext/udp/dcatde/profiles/dcatap_de.py``), not part of the plugin."""
from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.dcatde import cli, helpers
from ckanext.udp.dcatde.logic import action, index, validators


@tk.blanket.config_declarations
@tk.blanket.cli([cli.dcatde_commands])
@tk.blanket.helpers(helpers.get_helpers)
@tk.blanket.validators(validators.get_validators)
@tk.blanket.actions(action.get_actions)
class UdpDcatdePlugin(p.SingletonPlugin):
    p.implements(p.IPackageController, inherit=True)

    # IPackageController
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return index.spatial_for_index(pkg_dict)
