"""The one door of ckanext-udp to CKAN internals: every use of a CKAN (or extension) internal that the toolkit does not
offer goes through a function here, each named in docs/architecture.md and covered by tests/compat/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection

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


# --- sensors ---
# DataStore (ckanext.datastore, PostgreSQL backend) internals that udp_sensors and
# udp_sensorthings use when they write DataStore tables in bulk, without an action
# per row: the composite type of "json" columns, the cached row counts and the
# full-text trigger; and ckanext-harvest's constraint name that udp_sensorthings
# defers. Each takes a SQLAlchemy connection on the DataStore's write
# URL; tests/compat/test_sensors.py checks each on the real stack.

DATASTORE_JSON_TYPE = "nested"  # the DataStore's composite type (json, extra) behind a "json" column
DATASTORE_STATS_TABLE = "_table_stats"  # cached row counts (datastore_search's "total")
DATASTORE_FULLTEXT_TRIGGER = "zfulltext"  # fills "_full_text" on every write unless disabled
HARVEST_OBJECT_PACKAGE_FKEY = "harvest_object_package_id_fkey"  # ckanext-harvest, deferrable


def datastore_json_value(expr: sql.Composable) -> sql.Composable:
    """``expr`` (a json value) as the value of a DataStore ``json`` column."""
    return sql.SQL("CASE WHEN {e} IS NULL THEN NULL ELSE ROW({e}, '')::{t} END").format(
        e=expr, t=sql.Identifier(DATASTORE_JSON_TYPE)
    )


def datastore_json_read(column: sql.Composable) -> sql.Composable:
    """The JSON held in a DataStore ``json`` column."""
    return sql.SQL("({c}).json").format(c=column)


def datastore_type_name(pg_type: str) -> str:
    """The DataStore's name of a column type as PostgreSQL names it (``nested`` is ``json``)."""
    return "json" if pg_type == DATASTORE_JSON_TYPE else pg_type


def datastore_add_row_count(conn: Connection, table: str, n: int) -> None:
    """Add ``n`` to the cached row count of a DataStore table (rows inserted past the actions)."""
    _execute(
        conn,
        sql.SQL(
            "UPDATE {s} SET stats = jsonb_set(stats, '{{rows}}', to_jsonb((stats->>'rows')::bigint + %(n)s)) "
            "WHERE resource_id = %(t)s AND stats ? 'rows'"
        ).format(s=sql.Identifier(DATASTORE_STATS_TABLE)),
        {"n": n, "t": table},
    )


def datastore_forget_row_counts(conn: Connection, tables: Sequence[str]) -> None:
    """Drop the cached row counts of DataStore tables (the DataStore counts again when asked)."""
    _execute(
        conn,
        sql.SQL("DELETE FROM {s} WHERE resource_id = ANY(%(t)s)").format(s=sql.Identifier(DATASTORE_STATS_TABLE)),
        {"t": list(tables)},
    )


def datastore_fulltext_state(conn: Connection, table: str) -> bool | None:
    """Whether a table's full-text trigger is enabled (None: the table has none)."""
    state = conn.execute(
        sa.text("SELECT tgenabled FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND tgname = :g"),
        {"t": _render(conn, sql.Identifier(table)), "g": DATASTORE_FULLTEXT_TRIGGER},
    ).scalar()
    return None if state is None else state != "D"


def datastore_set_fulltext(conn: Connection, table: str, enabled: bool) -> None:
    """Switch a table's full-text trigger on or off (nothing to do when it has none)."""
    state = datastore_fulltext_state(conn, table)
    if state is not None and state != enabled:
        _execute(
            conn,
            sql.SQL("ALTER TABLE {t} {verb} TRIGGER {g}").format(
                t=sql.Identifier(table),
                verb=sql.SQL("ENABLE" if enabled else "DISABLE"),
                g=sql.Identifier(DATASTORE_FULLTEXT_TRIGGER),
            ),
        )


def datastore_drop_fulltext(conn: Connection, table: str) -> bool:
    """Remove the full-text trigger that ``ckan datastore set-permissions`` puts on
    every table of the DataStore's schema from a table that is none of its own
    (the trigger fails there); returns whether there was one."""
    if datastore_fulltext_state(conn, table) is None:
        return False
    _execute(
        conn,
        sql.SQL("DROP TRIGGER {g} ON {t}").format(
            g=sql.Identifier(DATASTORE_FULLTEXT_TRIGGER), t=sql.Identifier(table)
        ),
    )
    return True


def harvest_defer_object_package_check(session: Any) -> None:
    """Defer, to the end of the transaction, ckanext-harvest's foreign key from a
    harvest object to its dataset (the object is linked before the dataset exists)."""
    session.execute(sa.text(f"SET CONSTRAINTS {HARVEST_OBJECT_PACKAGE_FKEY} DEFERRED"))


def _render(conn: Connection, query: sql.Composable) -> str:
    return query.as_string(conn.connection.dbapi_connection)


def _execute(conn: Connection, query: sql.Composable, params: dict[str, Any] | None = None) -> None:
    conn.exec_driver_sql(_render(conn, query), params)
