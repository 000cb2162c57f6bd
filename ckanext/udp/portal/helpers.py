"""Template helpers of the ``udp`` plugin (registered by ``tk.blanket.helpers``)."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from werkzeug.exceptions import default_exceptions

from ckanext.udp import compat, dates
from ckanext.udp.portal import serving

__all__ = [
    "render_datetime",
    "udp_catalog_alternates",
    "udp_city_name",
    "udp_developer_url",
    "udp_error_text",
    "udp_developer_links",
    "udp_footer_links",
    "udp_has_groups",
    "udp_local_image",
    "udp_pager_symbol",
    "udp_portal_counts",
    "udp_request_id",
    "user_image",
]


@tk.chained_helper
def render_datetime(
    next_helper: Callable[..., str],
    datetime_: Any,
    date_format: str | None = None,
    with_hours: bool = False,
    with_seconds: bool = False,
) -> str:
    """CKAN's helper, but a date with hours in the visitor's language
    ("30. November 2026, 04:35", not CKAN's fixed "November 30, 2026, 04:35
    (MEZ)") on the pages of CKAN and its extensions (API tokens, activity)."""
    if with_hours and not with_seconds and not date_format:
        value = datetime_
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, dt.datetime):
            return dates.display_datetime(value, "long")
    return next_helper(datetime_, date_format=date_format, with_hours=with_hours, with_seconds=with_seconds)


@tk.chained_helper
def user_image(next_helper: Callable[..., Any], user_id: str, size: int = 100) -> Any:
    """CKAN's user picture, but only from the portal itself: a picture address
    on another host (a user's external image URL) would make every visitor's
    browser ask a third party, so the local placeholder stands in for it."""
    html = next_helper(user_id, size)
    found = re.search(r'src="([^"]+)"', str(html))
    if not found or _own_address(found.group(1)):
        return html
    user = tk.get_action("user_show")({"ignore_auth": True}, {"id": user_id})
    return tk.h.snippet("user/snippets/placeholder.html", size=size, user_name=user["display_name"])


def _own_address(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if not parts.netloc:
        return True
    return parts.netloc == urllib.parse.urlsplit(tk.config.get("ckan.site_url")).netloc


PLACEHOLDERS = {
    "organization": "/base/images/placeholder-organization.png",
    "group": "/base/images/placeholder-group.png",
}


def udp_local_image(url: str | None, kind: str = "organization") -> str:
    """The picture address of an organisation or group if the portal serves
    it itself (an upload, a relative path), else CKAN's local placeholder: an
    ``image_url`` on another host would make every visitor's browser ask a
    third party (no consent, as a German public body needs it)."""
    if url and _own_address(url):
        return url
    return tk.h.url_for_static(PLACEHOLDERS.get(kind, PLACEHOLDERS["organization"]))


def udp_developer_url() -> str:
    return tk.config.get("ckanext.udp.developer_url")


def udp_city_name() -> str:
    return tk.config.get("ckanext.udp.city_name")


def udp_footer_links() -> list[tuple[str, str]]:
    """(label, url) pairs for the legally required links in the footer: the
    configured address, or the portal's own page (views.py)."""
    links = [
        (tk._("Imprint"), tk.config.get("ckanext.udp.imprint_url"), "udp_portal.imprint"),
        (tk._("Privacy"), tk.config.get("ckanext.udp.privacy_url"), "udp_portal.privacy"),
        (tk._("Accessibility statement"), tk.config.get("ckanext.udp.accessibility_url"), "udp_portal.accessibility"),
    ]
    return [(label, url or tk.url_for(endpoint)) for label, url, endpoint in links]


def udp_developer_links() -> list[tuple[str, str]]:
    """(label, url) pairs of the footer's "For developers" column."""
    links = [
        (tk._("For developers"), tk.config.get("ckanext.udp.developer_url")),
        (tk._("Action API"), tk.url_for("api.get_api", ver=3)),
    ]
    try:  # the catalog endpoint of udp_catalog, when that plugin is on
        links.append((tk._("DCAT catalog (Turtle)"), tk.url_for("udp_catalog.catalog", _format="ttl")))
    except Exception:  # werkzeug's BuildError: no such endpoint
        pass
    return [(label, url) for label, url in links if url]


# the catalog's serialisations that answer (udp_catalog serves ttl, rdf and
# jsonld; ckanext-dcat's templates also announce n3 and xml, which answer 404)
CATALOG_ALTERNATES = (
    ("text/turtle", "ttl"),
    ("application/rdf+xml", "rdf"),
    ("application/ld+json", "jsonld"),
)


def udp_catalog_alternates() -> list[tuple[str, str]]:
    """(media type, absolute url) of the catalog for ``<link rel="alternate">``."""
    try:
        return [
            (media_type, tk.url_for("udp_catalog.catalog", _format=fmt, _external=True))
            for media_type, fmt in CATALOG_ALTERNATES
        ]
    except Exception:  # werkzeug's BuildError: udp_catalog is off
        return []


def udp_portal_counts() -> dict[str, int]:
    """Public datasets and organizations that publish, for the home page.
    The dataset count is the one CKAN's home view has just searched for
    (``g.package_count``: public datasets, as the visitor's search) rather than
    a second search of its own; elsewhere (no such count) a search."""
    try:
        datasets = getattr(tk.g, "package_count", None)
    except RuntimeError:  # outside a request
        datasets = None
    if not isinstance(datasets, int):
        datasets = tk.get_action("package_search")({}, {"rows": 0, "fq": 'capacity:"public"'})["count"]
    # what ``len(organization_list)`` gives every visitor (organisations are
    # public in CKAN), counted in one query: the action built the list of names
    organizations = compat.active_group_count(True, tk.config.get("ckan.group_and_organization_list_max"))
    return {"datasets": datasets, "organizations": organizations}


def udp_has_groups() -> bool:
    """Whether the portal has at least one group (else the header offers none:
    a "Gruppen" page that lists nothing is a dead end). What ``group_list``
    answers every visitor (groups are public in CKAN), in one query: the
    header asks on every page."""
    return compat.active_group_count(False, 1) > 0


def udp_request_id() -> str:
    """The id of the current request (shown on error pages, also in the log)."""
    return serving.request_id()


def udp_error_text(code: int, content: str) -> tuple[str, str]:
    """(heading, text) of an error page in the visitor's language. Texts that
    CKAN's views pass (already translated) are kept; werkzeug's English
    default descriptions are replaced."""
    headings = {
        400: tk._("The request could not be processed"),
        403: tk._("You have no access to this page"),
        404: tk._("Page not found"),
        405: tk._("The request could not be processed"),
        409: tk._("The request could not be processed"),
        413: tk._("The upload is too large"),
        500: tk._("Something went wrong"),
    }
    texts = {
        400: tk._("The request was incomplete or malformed. Please go back and try again."),
        403: tk._("You are not allowed to see this page."),
        404: tk._("The page you asked for does not exist (any more). Perhaps the search helps."),
        405: tk._("The request was incomplete or malformed. Please go back and try again."),
        413: tk._("The file is larger than the portal accepts."),
        500: tk._("Something went wrong on our side. Please try again in a few minutes."),
    }
    heading = headings.get(code, tk._("Error %(error_code)s") % {"error_code": code})
    default = default_exceptions.get(code)
    if not content or (default is not None and str(content).strip() == (default.description or "").strip()):
        content = texts.get(code, texts[400] if code < 500 else texts[500])
    return heading, str(content)


def udp_pager_symbol(direction: str, label: str) -> Any:
    """The content of the pager's previous/next link: CKAN's chevron, hidden
    from screen readers, and the link's name for them (CKAN's own link is a bare
    icon: axe ``link-name``). A dominate node, as CKAN's pager expects."""
    from dominate import tags, util

    icon = "fa-solid fa-chevron-left" if direction == "previous" else "fa-solid fa-chevron-right"
    return util.container(tags.i(cls=icon, aria_hidden="true"), tags.span(label, cls="visually-hidden"))
