"""The ``udp_tables`` plugin: uploaded and linked tables (CSV, TSV, XLS,
XLSX) are loaded into the DataStore by ckanext-xloader, the ecosystem's
loader, on the stack's job worker (``ckan jobs worker``), so they get a table
preview and the DataStore API. This plugin is the glue:

- xloader needs an API token to fetch uploaded files of unpublished datasets;
  unless ``ckanext.xloader.api_token`` is set, one of the site user is made
  on demand (and made again when it has been revoked);
- resources whose data already are the DataStore (their URL is the DataStore
  dump) and links to reserved, never reachable hosts (``.invalid``,
  ``.example``: demo data) are not fetched;
- the resource page shows the load state and errors in German to the people
  who can edit the dataset ("Daten werden geladen", "Datei konnte nicht
  gelesen werden: ...").
"""

from __future__ import annotations

from urllib.parse import urlsplit

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig

from ckanext.udp.tables import logic
from ckanext.xloader.interfaces import IXloader

RESERVED_TLDS = (".invalid", ".example")


@tk.blanket.helpers(logic.get_helpers)
@tk.blanket.actions(logic.get_actions)
class UdpTablesPlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(IXloader, inherit=True)

    # IConfigurer
    def update_config(self, config: CKANConfig) -> None:
        tk.add_template_directory(config, "templates")

    # IXloader
    def can_upload(self, resource_id: str) -> bool:
        try:
            resource = tk.get_action("resource_show")({"ignore_auth": True}, {"id": resource_id})
        except tk.ObjectNotFound:
            return False
        url = resource.get("url") or ""
        if "/datastore/dump/" in url:
            return False  # its data are the DataStore table already: loading would be circular
        host = (urlsplit(url).hostname or "") if "://" in url else ""
        return not host.endswith(RESERVED_TLDS)
