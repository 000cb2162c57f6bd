"""The one door of ckanext-udp to CKAN internals: every use of a CKAN (or extension) internal that the toolkit does not
offer goes through a function here, each named in docs/architecture.md and covered by tests/compat/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ckan.model as model

# --- core ---
# Internals of the udp (portal), udp_api, udp_catalog and udp_tables plugins.
# Imports of internals stay inside the functions: importing this module pulls
# in nothing beyond what the caller already has.

#: the label CKAN's default permission labels give a dataset everyone may see
PUBLIC_LABEL = "public"


def dataset_permission_labels(pkg: model.Package) -> list[str]:
    """The permission labels of ``pkg`` (``ckan.lib.plugins.get_permission_labels``):
    the labels an anonymous ``package_search`` filters on, as the plugin that
    implements ``IPermissionLabels`` (``udp_governance``) gives them."""
    from ckan.lib.plugins import get_permission_labels

    return list(get_permission_labels().get_dataset_labels(pkg))


def is_public(pkg: model.Package) -> bool:
    """Would an anonymous ``package_search`` show this dataset? Its three
    filters: ``state:active``, ``capacity:public`` (not ``private``) and the
    ``public`` permission label."""
    if pkg.state != "active" or pkg.private:
        return False
    return PUBLIC_LABEL in dataset_permission_labels(pkg)


def data_error(message: str) -> Exception:
    """``ckan.lib.navl.dictization_functions.DataError``: the exception the
    Action API answers with 400 (a ``ValidationError`` answers 409)."""
    from ckan.lib.navl.dictization_functions import DataError

    return DataError(message)


def user_from_api_token(token: str) -> model.User | None:
    """The user an API token belongs to, or None when it is unknown, revoked
    or malformed (``ckan.lib.api_token.get_user_from_token``), without
    touching the token's last access time."""
    from ckan.lib.api_token import get_user_from_token

    return get_user_from_token(token, update_access_time=False)


def datastore_dump_formats() -> tuple[str, ...]:
    """The formats DataStore's dump view serves (``ckanext.datastore.blueprint.DUMP_FORMATS``)."""
    from ckanext.datastore import blueprint

    return tuple(blueprint.DUMP_FORMATS)


def datastore_dump_schema() -> dict[str, Any]:
    """The schema DataStore's dump view validates its query string with
    (``ckanext.datastore.blueprint.dump_schema``)."""
    from ckanext.datastore import blueprint

    return dict(blueprint.dump_schema())


def dcat_catalog_uri() -> str:
    """The catalog's URI as ckanext-dcat's profiles write it (``ckanext.dcat.utils.catalog_uri``)."""
    from ckanext.dcat.utils import catalog_uri

    return str(catalog_uri())


def dcat_read_dataset_page(id_: str, format_: str) -> Any:
    """ckanext-dcat's HTML dataset page with content negotiation
    (``ckanext.dcat.utils.read_dataset_page``)."""
    from ckanext.dcat import utils

    return utils.read_dataset_page(id_, format_)


def make_wsgi_app(ini_path: str | None) -> Any:
    """The portal as a WSGI application from an ini file, as CKAN's own
    ``wsgi.py`` builds it (``ckan.cli.load_config``, ``ckan.config.middleware.make_app``)."""
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    return make_app(load_config(ini_path))
