"""Template helpers of the ``udp`` plugin (registered by ``tk.blanket.helpers``)."""
from __future__ import annotations

import ckan.plugins.toolkit as tk

__all__ = ["udp_city_name", "udp_footer_links", "udp_portal_counts"]


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


def udp_portal_counts() -> dict[str, int]:
    """Datasets the visitor can see and organizations that publish, for the home page."""
    datasets = tk.get_action("package_search")({}, {"rows": 0})["count"]
    organizations = len(tk.get_action("organization_list")({}, {"all_fields": False}))
    return {"datasets": datasets, "organizations": organizations}
