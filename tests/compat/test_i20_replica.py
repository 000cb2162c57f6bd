"""The DataStore internals of block "i20-replica" in ``ckanext.udp.compat`` and what
``ckanext/udp/portal/replica.py`` builds on them: CKAN's read engine, the row count
of an unfiltered ``datastore_search`` (which CKAN 2.12 takes on the WRITE engine), and
a read server that cannot be reached answering a German 503 instead of a 500.
The replica itself: ``tests/cluster/test_pg_replica.py`` (opt-in)."""

from __future__ import annotations

import inspect
import json
import socket

import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat
from ckanext.udp.datastore_sql import write_engine
from ckanext.udp.portal import replica


@pytest.fixture
def table() -> str:
    pkg = public_dataset(owner_org=factories.Organization()["id"])
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    res = tk.get_action("datastore_create")(
        {"user": site_user, "ignore_auth": True},
        {
            "resource": {"package_id": pkg["id"], "name": "Werte", "format": "CSV"},
            "force": True,
            "fields": [{"id": "nr", "type": "int"}],
            "records": [{"nr": i} for i in range(5)],
        },
    )
    return res["resource_id"]


def test_ckan_counts_an_unfiltered_total_on_the_write_engine():
    """Why replica.py counts itself: should CKAN read this total from the read engine
    one day, the chained action is no longer needed."""
    from ckanext.datastore.backend import postgres

    source = inspect.getsource(postgres.search_data)
    count = source[source.index("cached_table_row_count") - 400 : source.index("cached_table_row_count")]
    assert "_get_write_engine" in count


def test_the_read_engine_is_the_datastore_read_url():
    engine = compat.datastore_read_engine()
    assert engine.url.username == sa.engine.make_url(tk.config["ckan.datastore.read_url"]).username
    assert engine is compat.datastore_read_engine()  # CKAN's pool, not a new one per call


@pytest.mark.usefixtures("with_plugins")
def test_row_count_takes_the_cached_count_else_counts(table):
    writer = write_engine()
    try:
        with writer.begin() as conn:
            conn.execute(sa.text('DELETE FROM "_table_stats" WHERE resource_id = :t'), {"t": table})
        with writer.connect() as conn:
            assert compat.datastore_row_count(conn, table) == 5  # counted
        with writer.begin() as conn:
            conn.execute(sa.text("""INSERT INTO "_table_stats" VALUES (:t, '{"rows": 42}')"""), {"t": table})
        with writer.connect() as conn:
            assert compat.datastore_row_count(conn, table) == 42  # the cache, as CKAN answers
        with compat.datastore_read_engine().connect() as conn:  # the read-only user may not see the cache
            assert compat.datastore_row_count(conn, table) == 5
        assert tk.get_action("datastore_search")({}, {"resource_id": table, "limit": 0})["total"] == 42
    finally:
        writer.dispose()


@pytest.mark.parametrize(
    ("read", "write", "elsewhere"),
    [
        ("postgresql://ro:x@127.0.0.1:5433/ds", "postgresql://rw:y@127.0.0.1:5433/ds", False),
        ("postgresql://ro:x@127.0.0.1:9405/ds", "postgresql://rw:y@127.0.0.1:5433/ds", True),
        ("postgresql://ro:x@standby/ds", "postgresql://rw:y@primary/ds", True),
        (
            "postgresql://ro:x@/ds?host=standby:5432&host=primary:5432&target_session_attrs=prefer-standby",
            "postgresql://rw:y@primary:5432/ds",
            True,
        ),
    ],
)
def test_reads_elsewhere_compares_servers_not_users(monkeypatch, read, write, elsewhere):
    monkeypatch.setitem(tk.config, "ckan.datastore.read_url", read)
    monkeypatch.setitem(tk.config, "ckan.datastore.write_url", write)
    assert replica.reads_elsewhere() is elsewhere


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.usefixtures("with_plugins")
def test_a_read_server_out_of_reach_answers_a_german_503(app, table, monkeypatch):
    from ckanext.datastore.backend import DatastoreBackend

    url = sa.engine.make_url(tk.config["ckan.datastore.read_url"]).set(host="127.0.0.1", port=_closed_port())
    down = url.render_as_string(hide_password=False)
    assert app.get("/api/3/action/datastore_search", query_string={"resource_id": table}).status_code == 200
    # the DataStore took its read URL when it was configured: as if its server had gone since
    monkeypatch.setattr(DatastoreBackend.get_active_backend(), "read_url", down)
    monkeypatch.setitem(tk.config, "ckan.datastore.read_url", down)
    for path, query in (
        ("/api/3/action/datastore_search", {"resource_id": table}),
        ("/api/3/action/datastore_search", {"resource_id": table, "filters": json.dumps({"nr": 1})}),
        ("/api/3/action/datastore_search_sql", {"sql": f'SELECT count(*) FROM "{table}"'}),
    ):
        resp = app.get(path, query_string=query)
        assert resp.status_code == 503, (path, query, resp.body[:300])
        assert resp.headers["Retry-After"] == "30"
        error = json.loads(resp.body)["error"]
        assert error["message"].startswith("Die Daten können gerade nicht gelesen werden"), error
