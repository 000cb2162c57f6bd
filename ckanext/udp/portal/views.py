"""The portal's legal pages: Impressum, Datenschutz and the Erklärung zur
Barrierefreiheit, as German public bodies publish them.

Their text is the city's to write: each page is an HTML fragment in the
folder ``ckanext.udp.legal_pages`` (the shipped folder holds clearly marked
demo texts) rendered inside the portal's layout, with the contact details of
the ``ckanext.udp.legal.*`` options filled in."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import ckan.plugins.toolkit as tk
from flask import Blueprint
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

portal_bp = Blueprint("udp_portal", __name__)

# URL path -> (endpoint, file of the fragment)
PAGES = {
    "impressum": "imprint",
    "datenschutz": "privacy",
    "barrierefreiheit": "accessibility",
}
SHIPPED = pathlib.Path(__file__).parent / "legal"
CONTACT_OPTIONS = (
    "operator",
    "address",
    "email",
    "phone",
    "representative",
    "privacy_officer",
    "accessibility_contact",
    "enforcement_body",
    "statement_date",
)
_fragments = SandboxedEnvironment(autoescape=True)


def legal_folder() -> pathlib.Path:
    configured = tk.config.get("ckanext.udp.legal_pages")
    return pathlib.Path(configured) if configured else SHIPPED


def legal_page(name: str) -> str:
    source = legal_folder() / f"{name}.html"
    try:
        fragment = source.read_text(encoding="utf-8")
    except OSError:
        return tk.abort(404, tk._("This page has not been written yet."))
    # the fragment is the operator's own content (a file on the server, like
    # a template); a sandboxed Jinja fills in the contact details, escaped
    legal = {key: tk.config.get(f"ckanext.udp.legal.{key}") for key in CONTACT_OPTIONS}
    legal["site_title"] = tk.config.get("ckan.site_title")
    legal["site_url"] = tk.config.get("ckan.site_url")
    body = Markup(_fragments.from_string(fragment).render(legal=legal))
    return tk.render(
        "udp_portal/legal.html",
        {"body": body, "page_name": name, "demo": tk.asbool(tk.config.get("ckanext.udp.legal.demo"))},
    )


def _view(name: str) -> Callable[[], str]:
    def view() -> str:
        return legal_page(name)

    view.__name__ = name
    return view


for _path, _name in PAGES.items():
    portal_bp.add_url_rule(f"/{_path}", view_func=_view(_name), endpoint=_name)

__all__ = ["portal_bp"]
