"""Template helpers of the ``udp`` plugin (registered by ``tk.blanket.helpers``)."""
from __future__ import annotations

import ckan.plugins.toolkit as tk


def udp_city_name() -> str:
    return tk.config.get("ckanext.udp.city_name")


def udp_footer_links() -> list[tuple[str, str]]:
    """(label, url) pairs for the legally required links in the footer."""
    links = [
        (tk._("Imprint"), tk.config.get("ckanext.udp.imprint_url")),
        (tk._("Privacy"), tk.config.get("ckanext.udp.privacy_url")),
        (tk._("Accessibility"), tk.config.get("ckanext.udp.accessibility_url")),
    ]
    return [(label, url) for label, url in links if url]
