"""The one door of ckanext-udp to CKAN internals: every use of a CKAN (or extension) internal that the toolkit does not
offer goes through a function here, each named in docs/architecture.md and covered by tests/compat/."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    import ckan.model as model
    from ckan.types import Context

log = logging.getLogger(__name__)

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


# --- harvest ---
# ckanext-udp's harvesters (ckanext/udp/harvest, harvesters, harvest_dashboard) reach these internals of CKAN core
# and ckanext-harvest; tests/compat/test_harvest.py fails when an upgrade changes one of them.

#: ckanext-harvest's foreign key from ``harvest_object.package_id`` to ``package.id`` (its migration names it)
HARVEST_OBJECT_PACKAGE_FKEY = "harvest_object_package_id_fkey"


def munge_name(text: str) -> str:
    """CKAN's dataset-name munging (``ckan.lib.munge.munge_name``; the toolkit does not offer it)."""
    from ckan.lib.munge import munge_name as _munge_name

    return _munge_name(text)


def index_datasets(package_ids: list[str]) -> list[tuple[str, str]]:
    """Index the datasets in Solr without a commit per document (after their transaction committed); returns the
    ``(id, reason)`` of those that could not be indexed.

    ``package_create``/``package_update`` index each dataset with a hard commit (``ckan.search.solr_commit``), the
    most expensive step of a harvested dataset. The harvesters write with ``defer_commit`` (no index, no commit),
    commit the database themselves and index here through ``ckan.logic.index_update_package`` with
    ``defer_commit``: Solr's ``autoSoftCommit`` (1 s in the project's solrconfig.xml; set it in production's, too)
    makes them searchable."""
    from ckan import logic

    failed = []
    for package_id in package_ids:
        try:
            logic.index_update_package({"ignore_auth": True}, package_id, defer_commit=True)
        except Exception as err:  # Solr down, a broken dict: the caller records it
            log.warning("indexing %s failed: %s", package_id, err)
            failed.append((package_id, str(err) or type(err).__name__))
    return failed


def defer_harvest_object_package_fkey() -> None:
    """Check ckanext-harvest's ``harvest_object -> package`` foreign key at commit, not per statement, in the
    current transaction: a harvester links its harvest object to a dataset id before the dataset is written."""
    import ckan.model as model
    import sqlalchemy as sa

    model.Session.execute(sa.text(f"SET CONSTRAINTS {HARVEST_OBJECT_PACKAGE_FKEY} DEFERRED"))


def harvester_for(source_type: str) -> Any:
    """The loaded harvester plugin of a source type, or None (``ckanext.harvest.queue.get_harvester``)."""
    from ckanext.harvest import queue

    return queue.get_harvester(source_type)


def run_harvest_job_stages(harvester: Any, job: Any) -> list[str]:
    """ckanext-harvest's own gather stage of ``job``, then the fetch and import stages of every object gathered,
    in this process (``ckanext.harvest.queue.gather_stage`` / ``fetch_and_import_stages``, as its consumers call
    them). Returns the ids of the harvest objects gathered."""
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestObject

    ids = queue.gather_stage(harvester, job)
    object_ids = ids if isinstance(ids, list) else []
    for obj_id in object_ids:
        obj = HarvestObject.get(obj_id)
        if obj is not None:
            queue.fetch_and_import_stages(harvester, obj)
    return object_ids


class HarvestQueue(NamedTuple):
    """A consumer of one of ckanext-harvest's queues with the callback its own consumer hands messages to."""

    consumer: Any
    callback: Callable[..., Any]
    name: str
    redis: bool  # a Redis consumer (else AMQP, which keeps its own client and loop)


HARVEST_QUEUE_KINDS = ("gather", "fetch")


def harvest_queue(kind: str) -> HarvestQueue:
    """The ``gather`` or ``fetch`` queue of ckanext-harvest (``ckanext.harvest.queue``)."""
    from ckanext.harvest import queue

    if kind not in HARVEST_QUEUE_KINDS:
        raise ValueError(f"kind must be one of {HARVEST_QUEUE_KINDS}")
    if kind == "gather":
        consumer, callback, name = queue.get_gather_consumer(), queue.gather_callback, queue.get_gather_queue_name()
    else:
        consumer, callback, name = queue.get_fetch_consumer(), queue.fetch_callback, queue.get_fetch_queue_name()
    return HarvestQueue(consumer, callback, name, isinstance(consumer, queue.RedisConsumer))


def harvest_queue_take(hq: HarvestQueue, timeout: int) -> str | None:
    """The next message of a Redis harvest queue, or None if none came within ``timeout`` seconds. Marks it in
    flight the way ckanext-harvest's consumer does (the callback's ack removes the mark). Raises
    ``redis.exceptions.ConnectionError`` (and its ``TimeoutError``) when Redis is unreachable."""
    consumer = hq.consumer
    item = consumer.redis.blpop(consumer.routing_key, timeout=timeout)
    if item is None:
        return None
    _key, body = item
    consumer.redis.set(consumer.persistance_key(body), str(dt.datetime.now()))
    return body


def harvest_queue_handle(hq: HarvestQueue, body: str) -> None:
    """Hand a message taken with :func:`harvest_queue_take` to ckanext-harvest's callback."""
    from ckanext.harvest import queue

    hq.callback(hq.consumer, queue.FakeMethod(body), hq.consumer, body)


def harvest_queue_consume_amqp(hq: HarvestQueue) -> None:
    """Consume an AMQP harvest queue with ckanext-harvest's own client and loop (forever)."""
    for method, header, body in hq.consumer.consume(queue=hq.name):
        hq.callback(hq.consumer, method, header, body)


# --- governance ---
# udp_governance decides visibility with CKAN's permission labels, roles with
# CKAN's authorization tables, validates a proposed change with the dataset
# type's own schema before it waits for review, and indexes after its commit.
# The toolkit offers none of these.


def org_role(org_id: str, user_name: str) -> str | None:
    """The user's role (admin, editor, member) in the organization, or None
    (``ckan.authz.users_role_for_group_or_org``)."""
    from ckan import authz

    return authz.users_role_for_group_or_org(org_id, user_name)


def has_org_permission(org_id: str, user_name: str, permission: str) -> bool:
    """Whether the user's role in the organization grants ``permission``
    (``ckan.authz.has_user_permission_for_group_or_org``)."""
    from ckan import authz

    return authz.has_user_permission_for_group_or_org(org_id, user_name, permission)


def default_dataset_labels(pkg: model.Package) -> list[str]:
    """CKAN's own permission labels of a dataset (``DefaultPermissionLabels``)."""
    from ckan.lib.plugins import DefaultPermissionLabels

    return DefaultPermissionLabels().get_dataset_labels(pkg)


def default_user_labels(user: model.User | None) -> list[str]:
    """CKAN's own permission labels of a user (``DefaultPermissionLabels``)."""
    from ckan.lib.plugins import DefaultPermissionLabels

    return DefaultPermissionLabels().get_user_dataset_labels(user)


def user_labels(user: model.User | None) -> list[str]:
    """The labels of a user as the active IPermissionLabels plugin gives them
    (``ckan.lib.plugins.get_permission_labels``)."""
    from ckan.lib.plugins import get_permission_labels

    return list(get_permission_labels().get_user_dataset_labels(user))


def dataset_type_registered(package_type: str | None) -> bool:
    """Whether a plugin (scheming, harvest, ...) registers this dataset type;
    CKAN accepts any type string and gives unknown ones the default form
    (``ckan.lib.plugins.lookup_package_plugin``)."""
    from ckan.lib.plugins import lookup_package_plugin

    if not package_type:
        return True
    return lookup_package_plugin(package_type) is not lookup_package_plugin()


def validate_dataset_update(pkg: model.Package, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data_dict`` as ``package_update`` would for the dataset's type
    (its plugin's update schema, or ``context["schema"]``) without saving:
    the errors, empty if none (``lookup_package_plugin``, ``plugin_validate``)."""
    import ckan.model as model
    from ckan.lib.plugins import lookup_package_plugin, plugin_validate

    package_plugin = lookup_package_plugin(pkg.type)
    val_context = dict(context, package=pkg, session=model.Session)
    schema = context.get("schema") or package_plugin.update_package_schema()
    _, errors = plugin_validate(package_plugin, val_context, dict(data_dict), schema, "package_update")
    return errors or {}


def index_dataset(package_id: str) -> None:
    """(Re-)index a dataset as the database has it now, or drop it from the
    index when it no longer exists (``ckan.lib.search``); raises on Solr errors."""
    import ckan.model as model
    from ckan.lib import search

    if model.Package.get(package_id) is None:
        search.index_for(model.Package).remove_dict({"id": package_id})
    else:
        search.rebuild(package_id)


def relabel_activities(package_id: str, labels: list[str]) -> int:
    """Give the activities of a dataset new permission labels (they keep the
    labels of the moment they were created; the activity plugin has no action
    for it): a direct update of ``Activity.permission_labels``. Returns the
    number of activities changed; 0 without the activity plugin."""
    import ckan.model as model
    import ckan.plugins as p

    if not p.plugin_loaded("activity"):
        return 0
    from ckanext.activity.model import Activity

    return (
        model.Session.query(Activity)
        .filter(Activity.object_id == package_id)
        .update({Activity.permission_labels: labels}, synchronize_session=False)
    )


# --- dcatde ---
# udp_dcatde: CKAN's slug rule for dataset names (ckan.lib.munge, not in the
# toolkit) and the resource form's view class it extends (ckan.views.resource).


def munge_title_to_name(title: str) -> str:
    """A dataset name (URL slug) from a title, as CKAN's forms make it
    (``ckan.lib.munge.munge_title_to_name``)."""
    from ckan.lib.munge import munge_title_to_name as munge

    return munge(title)


def resource_create_view() -> Any:
    """CKAN's resource form view class (``ckan.views.resource.CreateView``),
    which udp_dcatde subclasses to guard the form's "finish"."""
    from ckan.views.resource import CreateView

    return CreateView


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


def datastore_add_row_count(conn: Connection, table: str, n: int) -> bool:
    """Add ``n`` to the cached row count of a DataStore table (rows inserted past the actions);
    False when no count is cached."""
    done = conn.exec_driver_sql(
        _render(
            conn,
            sql.SQL(
                "UPDATE {s} SET stats = jsonb_set(stats, '{{rows}}', to_jsonb((stats->>'rows')::bigint + %(n)s)) "
                "WHERE resource_id = %(t)s AND stats ? 'rows'"
            ).format(s=sql.Identifier(DATASTORE_STATS_TABLE)),
        ),
        {"n": n, "t": table},
    )
    return bool(done.rowcount)


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


def _render(conn: Connection, query: sql.Composable) -> str:
    return query.as_string(conn.connection.dbapi_connection)


def _execute(conn: Connection, query: sql.Composable, params: dict[str, Any] | None = None) -> None:
    conn.exec_driver_sql(_render(conn, query), params)


# --- i16-transparency2 ---
# Internals of udp_transparency: CKAN's ORM session (the outbox row is written
# in the flush of the change itself, so it commits or rolls back with it) and
# the package table (which datasets the public sees, read in bulk).


def listen_session(event: str, listener: Callable[..., None]) -> None:
    """Listen to an event of CKAN's scoped session (``after_flush``, ``after_commit`` ...)."""
    import ckan.model as model
    from sqlalchemy import event as sa_event

    sa_event.listen(model.Session, event, listener)


# Work that waits for CKAN's session to commit (the twin's background checks of a
# harvest batch's links, the transparency outbox's note of the datasets a
# transaction wrote a row for). SQLAlchemy's ``after_commit`` also fires when a
# savepoint is released, and ``after_soft_rollback`` when one is rolled back;
# ``after_commit`` below tells them apart.

_AFTER_COMMIT = "udp_after_commit"


def after_commit(key: Hashable, run: Callable[[], None] | None = None, session: Any = None) -> bool:
    """Run ``run`` once after CKAN's session (this thread's, or ``session``) commits the
    transaction open now. A rollback drops it; a rolled-back savepoint drops what was
    noted in it (and in savepoints inside it), nothing noted before or beside it. A key
    noted again in the same transaction runs once, in the order first noted; the answer
    is whether ``key`` is new. ``run=None`` only notes the key for the transaction
    (:func:`waits_for_commit`). With no transaction open, nothing is pending: ``run``
    runs now. ``run`` must not use the session; its exception is logged."""
    session = _session(session)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        if run is not None:
            _run_logged(run)
        return True
    _listen_commits()
    waiting: dict[Hashable, tuple[Any, Callable[[], None] | None]] = session.info.setdefault(_AFTER_COMMIT, {})
    if key in waiting:
        return False
    waiting[key] = (transaction, run)
    return True


def waits_for_commit(key: Hashable, session: Any = None) -> bool:
    """Whether ``key`` was noted by :func:`after_commit` in the transaction open now (and
    not rolled back with a savepoint)."""
    return key in _session(session).info.get(_AFTER_COMMIT, {})


def _session(session: Any) -> Any:
    import ckan.model as model

    return model.Session() if session is None else session


def _run_logged(run: Callable[[], None]) -> None:
    try:
        run()
    except Exception:  # noqa: BLE001 - the commit stands; the next waiting work runs
        log.exception("work after a commit failed")


def _committed(session: Any) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: its work waits for the transaction around it
    waiting = session.info.pop(_AFTER_COMMIT, {})
    for _transaction, run in waiting.values():
        if run is not None:
            _run_logged(run)


def _rolled_back(session: Any, previous: Any) -> None:
    waiting = session.info.get(_AFTER_COMMIT)
    if not waiting:
        return
    for key, (transaction, _run) in list(waiting.items()):
        while transaction is not None and transaction is not previous:
            transaction = transaction.parent
        if transaction is previous:  # noted in the rolled-back transaction or inside it
            del waiting[key]


def _ended(session: Any, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction is over (committed, rolled back or closed)
        session.info.pop(_AFTER_COMMIT, None)


def _listen_commits() -> None:
    import ckan.model as model
    from sqlalchemy import event as sa_event

    if not sa_event.contains(model.Session, "after_commit", _committed):
        sa_event.listen(model.Session, "after_commit", _committed)
        sa_event.listen(model.Session, "after_soft_rollback", _rolled_back)
        sa_event.listen(model.Session, "after_transaction_end", _ended)


class FlushedDatasets(NamedTuple):
    #: every dataset a flush touches: dataset rows new, changed or deleted, and rows keyed by ``package_id``
    touched: set[str]
    #: those that were visible to the public before this flush (a change of ``state`` or ``private``
    #: took them out of view, or the row is being deleted)
    left_view: set[str]


def _was_public(obj: Any, deleted: bool) -> bool:
    if deleted:
        return obj.state == "active" and obj.private is False
    attrs = sa.inspect(obj).attrs
    state = attrs.state.history
    private = attrs.private.history
    if not (state.deleted or private.deleted):
        return False
    old_state = state.deleted[0] if state.deleted else obj.state
    old_private = private.deleted[0] if private.deleted else obj.private
    return old_state == "active" and old_private is False


def flushed_datasets(session: Any) -> FlushedDatasets:
    """Which datasets a flush of CKAN's session touches (called in ``after_flush``,
    where the objects still carry their changes' history)."""
    import ckan.model as model

    touched: set[str] = set()
    left: set[str] = set()
    deleted = set(session.deleted)
    for obj in (*session.new, *session.dirty, *deleted):
        if isinstance(obj, model.Package):
            if obj.id and (obj in session.new or obj in deleted or session.is_modified(obj)):
                touched.add(obj.id)
                if obj not in session.new and _was_public(obj, obj in deleted):
                    left.add(obj.id)
            continue
        package_id = getattr(obj, "package_id", None)
        if isinstance(package_id, str) and package_id:
            touched.add(package_id)
    return FlushedDatasets(touched, left)


def public_dataset_ids(conn: Any, among: Sequence[str] | None = None) -> list[str]:
    """Datasets the public sees by CKAN's rule (active, not private), oldest first;
    only those ``among`` the given ids if given. ``conn``: a connection or session."""
    import ckan.model as model

    table = model.package_table
    query = sa.select(table.c.id).where(table.c.state == "active", table.c.private.is_(False))
    if among is not None:
        query = query.where(table.c.id.in_(list(among)))
    return list(conn.execute(query.order_by(table.c.metadata_created)).scalars())


# --- i14-api2 ---
# CKAN 2.12's Atom feeds (ckan/views/feed.py) build their paging links with
# ``url_for(endpoint, query=(key, value))`` (``?query=page&query=2``) and a
# float last page (``page=1.6``). The module's two URL helpers are replaced by
# correct ones; ``tests/api/test_feeds.py`` follows the links to the end.


def search_errors() -> tuple[type[Exception], ...]:
    """CKAN's search exceptions (``ckan.lib.search``): a query Solr refuses (``q=title:("``) passes
    ``package_search`` as ``SearchError`` and would end as a 500 in the Atom feeds."""
    from ckan.lib import search

    return (search.SearchError, search.SearchQueryError)


def _feed_url(query: Any, controller: str, action: str, **kwargs: Any) -> str:
    import ckan.plugins.toolkit as tk

    params = dict(query.items()) if hasattr(query, "items") else dict(query)
    params.update(kwargs)
    return tk.url_for(f"{controller}.{action}", **params)


def _feed_navigation_urls(
    query: Any, controller: str, action: str, item_count: int, limit: int, **kwargs: Any
) -> dict[str, str | None]:
    import math

    params = dict(query.items())
    page = int(params.pop("page", 1) or 1)
    last = max(1, math.ceil(item_count / limit)) if limit else 1

    def at(number: int) -> str:
        return _feed_url({**params, **({"page": number} if number > 1 else {})}, controller, action, **kwargs)

    return {
        "first": at(1),
        "last": at(last),
        "previous": at(page - 1) if page > 1 else None,
        "next": at(page + 1) if page < last else None,
    }


def fix_feed_paging(app: Any) -> None:
    """Put the correct paging-link helpers into the module of CKAN's feed views
    as the app holds them (the module object the views were defined in, which
    need not be the one ``import`` finds now); idempotent."""
    for endpoint, view in app.view_functions.items():
        if not endpoint.startswith("feeds."):
            continue
        while hasattr(view, "__wrapped__"):
            view = view.__wrapped__
        module = getattr(view, "__globals__", {})
        if "_navigation_urls" in module and "_feed_url" in module:
            module["_feed_url"] = _feed_url
            module["_navigation_urls"] = _feed_navigation_urls


def redis_connection() -> Any:
    """CKAN's Redis connection (``ckan.lib.redis``, not in the toolkit): the
    dumps rebuild's debounce keys."""
    from ckan.lib.redis import connect_to_redis

    return connect_to_redis()


# --- suite-shards ---


#: datastore_count_new_rows: rounds of asking for the table lock, and the wait of each
ROW_COUNT_LOCK_ATTEMPTS = 40
ROW_COUNT_LOCK_WAIT_MS = 500


def datastore_count_new_rows(conn: Connection, table: str, n: int) -> None:
    """Keep the DataStore's cached row count (``_table_stats``, datastore_search's
    "total") right after ``n`` rows were inserted in this transaction past the actions.

    With a count cached, it grows by ``n``. Without one, a datastore_search running
    now counts without this transaction's rows and caches that count after it commits
    (``cached_table_row_count``: count, then insert), for good. So the table is
    locked against readers until commit (a search that is counting finishes first),
    and the exact count, these rows included, is cached: a search that waited
    counts after the commit and finds the same."""
    # The lock is asked for with a short lock_timeout, in a savepoint, and asked again:
    # datastore_search holds its read connection's share lock while it counts on a second
    # (write) connection, and that count queues behind our waiting exclusive request, so
    # waiting for good would deadlock with it unseen by PostgreSQL (the read connection
    # only waits for its own process). Giving way lets that search finish; it caches the
    # count without our rows, and the next round adds ours to it.
    for attempt in range(ROW_COUNT_LOCK_ATTEMPTS):
        if datastore_add_row_count(conn, table, n):
            return
        savepoint = conn.begin_nested()
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{ROW_COUNT_LOCK_WAIT_MS}ms'")
            _execute(conn, sql.SQL("LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE").format(t=sql.Identifier(table)))
        except sa.exc.OperationalError as err:
            savepoint.rollback()
            if getattr(err.orig, "pgcode", None) != "55P03" or attempt == ROW_COUNT_LOCK_ATTEMPTS - 1:
                raise  # the caller's transaction fails and is retried (the consumer backs off)
            continue
        savepoint.commit()
        conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
        break
    _execute(
        conn,
        sql.SQL(
            "INSERT INTO {s} (resource_id, stats) SELECT %(t)s, jsonb_build_object('rows', count(*)) FROM {t} "
            "ON CONFLICT (resource_id) DO UPDATE SET stats = jsonb_set({s}.stats, '{{rows}}', EXCLUDED.stats->'rows')"
        ).format(s=sql.Identifier(DATASTORE_STATS_TABLE), t=sql.Identifier(table)),
        {"t": table},
    )


# --- i13-finish ---


def build_js_translations() -> str:
    """Write the translations of CKAN's JavaScript (``<storage>/i18n/js/<lang>.js``,
    served at ``/api/i18n/<lang>``; ``ckan.lib.i18n.build_js_translations``) and
    return their folder. Only CKAN's development server (``ckan run``) builds
    them: under gunicorn ``/api/i18n/de`` answered ``{}`` and every string of
    CKAN's scripts stayed English (the table preview's "Sort", "Add Filter",
    "Print" ...). Serialised by a lock file, as every server process calls it;
    a language whose file is newer than its catalogues is left as it is."""
    import fcntl
    import os

    from ckan.lib.i18n import build_js_translations as build
    from ckan.lib.i18n import get_js_translations_dir

    folder = get_js_translations_dir()
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".udp-build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build()
    return folder


# --- i14-close ---
# udp_api's public activity: a "new package" activity when a dataset enters
# public view, written into ckanext-activity's table (its activity_create wants
# a user account; this one is the portal's neutral actor, no account).


def add_public_activity(package_id: str, actor: str, data: dict[str, Any]) -> bool:
    """Write a "new package" activity of ``package_id`` by ``actor`` (a display
    name, not a user), labelled ``public``, in a short transaction of its own.
    Returns False without the activity plugin."""
    import json
    import uuid

    import ckan.model as model
    import ckan.plugins as p

    if not p.plugin_loaded("activity"):
        return False
    with model.meta.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO activity (id, timestamp, user_id, object_id, activity_type, data, permission_labels) "
                "VALUES (:id, :ts, :user_id, :object_id, 'new package', :data, :labels)"
            ),
            {
                "id": str(uuid.uuid4()),
                "ts": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                "user_id": actor,
                "object_id": package_id,
                "data": json.dumps(data),
                "labels": [PUBLIC_LABEL],
            },
        )
    return True


# --- i18-view3d ---


def resource_upload_path(resource: dict[str, Any]) -> str | None:
    """The local file of an uploaded resource (CKAN's resource uploader), or
    None for a resource that is a link."""
    from ckan.lib import uploader

    if resource.get("url_type") != "upload":
        return None
    return str(uploader.get_resource_uploader(resource).get_path(resource["id"]))


# --- i19-semantic ---


def solr_connection() -> Any:
    """A pysolr connection to CKAN's Solr core (``ckan.lib.search.common``), for
    the kNN queries of udp_semantic (run under the caller's filters)."""
    from ckan.lib.search.common import make_connection

    return make_connection(decode_dates=False)


def reindex_datasets(package_ids: list[str]) -> None:
    """Index these datasets now and commit (``ckan.lib.search.rebuild``)."""
    from ckan.lib import search

    search.rebuild(package_ids=package_ids, defer_commit=True, quiet=True)
    search.commit()


def user_dataset_labels(user_obj: Any) -> list[str]:
    """The permission labels a user (None: anonymous) may see in search, as
    package_search filters them (``ckan.lib.plugins.get_permission_labels``)."""
    from ckan.lib.plugins import get_permission_labels

    return list(get_permission_labels().get_user_dataset_labels(user_obj))


# --- i13-cost ---


def active_group_count(is_organization: bool, limit: int | None = None) -> int:
    """How many names ``organization_list`` (``is_organization``) or
    ``group_list`` answers anyone with (``all_fields`` off: every active group
    or organisation of CKAN's default type, at most ``limit``, as its
    ``ckan.group_and_organization_list_max``), in one query instead of the
    action's list of names: the home page asks on every request."""
    import ckan.model as model

    query = model.Session.query(model.Group.id).filter(
        model.Group.state == "active",
        model.Group.is_organization == is_organization,
        model.Group.type == ("organization" if is_organization else "group"),
    )
    if limit is not None:
        query = query.limit(limit)
    return int(model.Session.query(sa.func.count()).select_from(query.subquery()).scalar() or 0)


def cache_asset_urls() -> None:
    """Each webassets bundle (``{% asset %}`` of CKAN's ``webassets_tools``)
    works out its URLs once per process: the first call builds the bundle as
    before, later ones reuse the answer instead of checking every source file's
    time stamp and hashing the bundle again (~1.5 ms of CPU per bundle and
    page; a portal page includes 16). The files do not change while a
    production worker runs; with ``debug`` on, nothing is cached. Idempotent."""
    from webassets.bundle import Bundle

    if getattr(Bundle.urls, "_udp_cached", False):
        return
    original = Bundle.urls

    def urls(self: Bundle, *args: Any, **kwargs: Any) -> list[Any]:
        if args or kwargs:
            return original(self, *args, **kwargs)
        cached = self.__dict__.get("_udp_urls")
        if cached is None:
            cached = self.__dict__["_udp_urls"] = original(self)
        return list(cached)

    urls._udp_cached = True  # type: ignore[attr-defined]
    Bundle.urls = urls  # type: ignore[method-assign]


# --- i20-replica ---
# DataStore reads on a streaming replica (ckanext/udp/portal/replica.py): CKAN's
# read engine, and the total of an unfiltered datastore_search, which CKAN 2.12
# takes from the cached row count on the WRITE engine (``search_data``: it may
# have to cache the count, which a read-only hot standby cannot).


def datastore_read_engine() -> sa.Engine:
    """CKAN's DataStore engine on ``ckan.datastore.read_url`` (its pool, its
    ``ckan.datastore.sqlalchemy.*`` options)."""
    from ckanext.datastore.backend.postgres import get_read_engine

    return get_read_engine()


def datastore_row_count(conn: Connection, table: str) -> int:
    """The row count of a DataStore table as an unfiltered ``datastore_search``
    answers it, read only: the cached count (``_table_stats``) when there is one
    and it can be read, else ``count(*)``. Nothing is cached (a standby cannot)."""
    cached = None
    try:
        with conn.begin_nested():
            cached = conn.exec_driver_sql(
                _render(
                    conn,
                    sql.SQL("SELECT (stats->>'rows')::bigint FROM {s} WHERE resource_id = %(t)s").format(
                        s=sql.Identifier(DATASTORE_STATS_TABLE)
                    ),
                ),
                {"t": table},
            ).scalar()
    except sa.exc.ProgrammingError:  # no SELECT on the stats table for this user
        cached = None
    if cached is not None:
        return int(cached)
    return int(
        conn.exec_driver_sql(
            _render(conn, sql.SQL("SELECT count(*) FROM {t}").format(t=sql.Identifier(table)))
        ).scalar()
        or 0
    )


# --- i15-batch ---
# ckanext-udp's batched harvest import writes the datasets of a batch in one
# transaction, each in a savepoint of its own, through package_create /
# package_update. Those actions roll back the *whole* session on a validation
# error (``model.Session.rollback()``, SQLAlchemy 2: the outermost transaction),
# which would silently discard the batch's other datasets; and a hook that
# commits would commit half a batch. ``savepoint_batch`` scopes both to the
# batch; tests/compat/test_i15_batch.py checks the session behaviour it relies on.


class CommitInBatch(RuntimeError):
    """Something tried to commit the transaction of a batch before its end."""


class BatchGuard:
    """What happened to a batch's transaction while ``savepoint_batch`` held it."""

    def __init__(self) -> None:
        self.commit_refused = False
        self.rolled_back = False  # a rollback with no savepoint open: the batch's earlier writes are gone

    @property
    def broken(self) -> bool:
        return self.commit_refused or self.rolled_back


@contextlib.contextmanager
def savepoint_batch() -> Iterator[BatchGuard]:
    """Within the block, on this thread's session: ``model.Session.rollback()``
    (CKAN's actions call it before raising a ValidationError) rolls back only
    the innermost open savepoint, and ``model.Session.commit()`` /
    ``model.repo.commit()`` are refused with :class:`CommitInBatch` (and noted
    on the guard, in case a hook swallows the exception). A rollback with no
    savepoint open rolls back everything and is noted (``guard.rolled_back``)."""
    import ckan.model as model

    session = model.Session()
    guard = BatchGuard()
    real_rollback = session.rollback

    def rollback() -> None:
        nested = session.get_nested_transaction()
        if nested is not None:
            nested.rollback()
            return
        guard.rolled_back = True
        real_rollback()

    def commit() -> None:
        guard.commit_refused = True
        raise CommitInBatch("a commit inside a batched import")

    session.rollback = rollback
    session.commit = commit
    try:
        yield guard
    finally:
        del session.rollback
        del session.commit


def rollback_savepoint(savepoint: Any) -> None:
    """Roll back ``savepoint`` (a ``Session.begin_nested()``) unless something
    already did (``savepoint_batch``'s rollback, for a ValidationError)."""
    import ckan.model as model

    if model.Session().get_nested_transaction() is savepoint:
        savepoint.rollback()


def index_datasets_together(package_ids: list[str]) -> list[tuple[str, str]]:
    """As :func:`index_datasets` (each dataset's index document is built by
    CKAN's own ``index_update_package``, hooks and permission labels included,
    without a commit), but the documents go to Solr in one request instead of
    a new connection and request per dataset (``ckan.lib.search.index`` makes
    a connection per document): for a batched harvest import. Returns the
    ``(id, reason)`` of those that could not be indexed; if Solr refuses the
    request, each document is sent alone to find them."""
    import threading

    from ckan import logic
    from ckan.lib.search import index as search_index

    real = search_index.make_connection
    owner = threading.get_ident()
    collected: dict[str, list[dict[str, Any]]] = {}  # each dataset's index documents, by its id
    current = [""]

    class _Collect:
        def add(self, docs: list[dict[str, Any]] | None = None, **_kwargs: Any) -> None:  # pysolr's keyword
            collected.setdefault(current[0], []).extend(docs or [])

        def delete(self, *args: Any, **kwargs: Any) -> Any:
            return real().delete(*args, **kwargs)

    def connection(*args: Any, **kwargs: Any) -> Any:
        return _Collect() if threading.get_ident() == owner else real(*args, **kwargs)

    failed: list[tuple[str, str]] = []
    search_index.make_connection = connection
    try:
        for package_id in package_ids:
            current[0] = package_id
            try:
                logic.index_update_package({"ignore_auth": True}, package_id, defer_commit=True)
            except Exception as err:  # a broken dict: the caller records it
                log.warning("indexing %s failed: %s", package_id, err)
                collected.pop(package_id, None)
                failed.append((package_id, str(err) or type(err).__name__))
    finally:
        search_index.make_connection = real
    everything = [doc for group in collected.values() for doc in group]
    if not everything:
        return failed
    try:
        real().add(docs=everything, commit=False)
    except Exception as err:  # Solr down or one document refused: find out which
        log.warning("indexing %d datasets in one request failed (%s); one by one", len(collected), err)
        for package_id, group in collected.items():
            try:
                real().add(docs=group, commit=False)
            except Exception as one:
                failed.append((package_id, str(one) or type(one).__name__))
    return failed
