"""The CKAN (extension) internals udp_sensors and udp_sensorthings use, through
``ckanext.udp.compat`` (block "sensors"): each checked on the real stack, so that
an upgrade of ckanext-datastore or ckanext-harvest that changes one fails here."""

from __future__ import annotations

import inspect

import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from psycopg2 import sql
from udp_testing import public_dataset

from ckanext.udp import compat
from ckanext.udp.datastore_sql import insert_rows, render, write_engine

FIELDS = [{"id": "nr", "type": "text"}, {"id": "doc", "type": "json"}]


@pytest.fixture
def table():
    org = factories.Organization()
    pkg = public_dataset(owner_org=org["id"], resources=[{"url": "", "format": "CSV", "udp_live_table": True}])
    rid = pkg["resources"][0]["id"]
    tk.get_action("datastore_create")(
        {"user": factories.Sysadmin()["name"]},
        {
            "resource_id": rid,
            "force": True,
            "primary_key": ["nr"],
            "fields": FIELDS,
            "records": [{"nr": "1", "doc": {"a": 1}}],
        },
    )
    engine = write_engine()
    yield engine, rid
    engine.dispose()


def search(rid: str) -> dict:
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": rid, "sort": "nr"})


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDatastoreInternals:
    def test_json_columns_are_the_nested_composite_type(self, table):
        """DataStore "json" columns are the composite type ``nested`` (json, extra):
        a value written with datastore_json_value reads back through datastore_search
        and through datastore_json_read."""
        engine, rid = table
        with engine.begin() as conn:
            typ = conn.execute(
                sa.text(
                    "SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE a.attrelid = to_regclass(:t) AND a.attname = 'doc'"
                ),
                {"t": render(conn, sql.Identifier(rid))},
            ).scalar()
            assert typ == compat.DATASTORE_JSON_TYPE and compat.datastore_type_name(typ) == "json"
            attrs = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid "
                        "WHERE t.typname = :n AND a.attnum > 0 ORDER BY a.attnum"
                    ),
                    {"n": compat.DATASTORE_JSON_TYPE},
                )
            ]
            assert attrs == ["json", "extra"]
            insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "2", "doc": {"b": [1, 2]}}, {"nr": "3", "doc": None}])
            read = conn.execute(
                sa.text(
                    render(
                        conn,
                        sql.SQL("SELECT {} FROM {} WHERE nr = '2'").format(
                            compat.datastore_json_read(sql.Identifier("doc")), sql.Identifier(rid)
                        ),
                    )
                )
            ).scalar()
        assert read == {"b": [1, 2]}
        assert [r["doc"] for r in search(rid)["records"]] == [{"a": 1}, {"b": [1, 2]}, None]

    def test_row_counts_are_cached_in_table_stats(self, table):
        """datastore_search's "total" comes from ``_table_stats``: rows inserted past the
        actions are counted with datastore_add_row_count; datastore_forget_row_counts
        makes the DataStore count again."""
        engine, rid = table
        assert search(rid)["total"] == 1  # fills the cache
        with engine.begin() as conn:
            cached = conn.execute(
                sa.text(f'SELECT stats FROM "{compat.DATASTORE_STATS_TABLE}" WHERE resource_id = :t'), {"t": rid}
            ).scalar()
            assert cached is not None and cached["rows"] == 1
            conn.execute(
                sa.text(render(conn, sql.SQL("INSERT INTO {} (nr) VALUES ('2'), ('3')").format(sql.Identifier(rid))))
            )
        assert search(rid)["total"] == 1  # stale without our help: the cache is real
        with engine.begin() as conn:
            compat.datastore_add_row_count(conn, rid, 2)
        assert search(rid)["total"] == 3
        with engine.begin() as conn:
            conn.execute(sa.text(render(conn, sql.SQL("INSERT INTO {} (nr) VALUES ('4')").format(sql.Identifier(rid)))))
            compat.datastore_forget_row_counts(conn, [rid])
        assert search(rid)["total"] == 4

    def test_fulltext_trigger_switches(self, table):
        """datastore_create puts the trigger ``zfulltext`` on a table; it fills
        ``_full_text`` (datastore_search's q) unless switched off."""
        engine, rid = table
        with engine.begin() as conn:
            assert compat.datastore_fulltext_state(conn, rid) is True
            compat.datastore_set_fulltext(conn, rid, False)
            assert compat.datastore_fulltext_state(conn, rid) is False
            insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "zwei", "doc": None}])
        assert search(rid)["total"] == 2
        q = tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": rid, "q": "zwei"})
        assert q["records"] == []  # not indexed while off
        with engine.begin() as conn:
            compat.datastore_set_fulltext(conn, rid, True)
            insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "drei", "doc": None}])
        q = tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": rid, "q": "drei"})
        assert [r["nr"] for r in q["records"]] == ["drei"]
        with engine.begin() as conn:
            assert compat.datastore_drop_fulltext(conn, rid) is True
            assert compat.datastore_fulltext_state(conn, rid) is None
            assert compat.datastore_drop_fulltext(conn, rid) is False

    def test_stats_and_json_type_names_match_ckan(self):
        """The names compat relies on are the ones ckanext-datastore's code uses."""
        from ckanext.datastore.backend import postgres

        source = inspect.getsource(postgres)
        assert f"'{compat.DATASTORE_JSON_TYPE}'" in source
        assert compat.DATASTORE_STATS_TABLE in source
        assert f"TRIGGER {compat.DATASTORE_FULLTEXT_TRIGGER}" in source


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_a_writer_without_a_cached_count_gives_way_to_a_counting_search(table):
    """datastore_search holds its read connection's share lock while it counts on a
    second connection; a batch written with no count cached asks for the table lock.
    Waiting for good, the three would wait for each other unseen by PostgreSQL (the
    search's count queues behind the writer's request): the search hung for good and
    the consumer with it. The writer gives way; the count comes back (without the
    writer's rows), the writer adds its rows to it, and the total is exact."""
    import threading
    import time

    engine, rid = table
    with engine.begin() as conn:
        compat.datastore_forget_row_counts(conn, [rid])
    ident = sql.Identifier(rid)
    reader = engine.connect()  # the search's read connection, inside its transaction
    reader.execute(sa.text(render(reader, sql.SQL("SELECT count(*) FROM {}").format(ident))))
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with engine.begin() as conn:
                insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "2", "doc": None}, {"nr": "3", "doc": None}])
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + 60
    with engine.connect() as probe:  # until the writer asks for the table lock
        while not probe.execute(
            sa.text("SELECT count(*) FROM pg_locks WHERE relation = to_regclass(:t) AND NOT granted"),
            {"t": render(probe, ident)},
        ).scalar():
            probe.rollback()
            assert time.monotonic() < deadline and writer.is_alive(), failures
            time.sleep(0.02)
    counter = engine.connect()
    try:
        counter.exec_driver_sql("SET statement_timeout = '30s'")
        # the count, as datastore_search asks it, while the writer is on the lock
        counted = counter.execute(sa.text("SELECT cached_table_row_count(:t)"), {"t": rid}).scalar()
        counter.commit()
    finally:
        counter.close()
        reader.rollback()
        reader.close()
    writer.join(60)
    assert not writer.is_alive() and not failures, failures
    assert counted in (1, 3)  # before or after the writer's commit, never in between
    assert search(rid)["total"] == 3
