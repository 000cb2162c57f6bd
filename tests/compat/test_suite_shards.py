"""The DataStore internal of block "suite-shards" in ``ckanext.udp.compat``: the
cached row count (``_table_stats``) kept right by batch inserts past the actions
(``ckanext.udp.datastore_sql.insert_rows``: sensor observations, SensorThings
mirror) while datastore_search counts at the same time."""

from __future__ import annotations

import threading
import time

import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat
from ckanext.udp.datastore_sql import insert_rows, write_engine

FIELDS = [{"id": "nr", "type": "text"}]


@pytest.fixture
def table():
    org = factories.Organization()
    pkg = public_dataset(owner_org=org["id"], resources=[{"url": "", "format": "CSV", "udp_live_table": True}])
    rid = pkg["resources"][0]["id"]
    tk.get_action("datastore_create")(
        {"user": factories.Sysadmin()["name"]},
        {"resource_id": rid, "force": True, "primary_key": ["nr"], "fields": FIELDS, "records": [{"nr": "1"}]},
    )
    engine = write_engine()
    yield engine, rid
    engine.dispose()


def total(rid: str) -> int:
    return tk.get_action("datastore_search")({"ignore_auth": True}, {"resource_id": rid, "limit": 0})["total"]


def _waiting_on_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar()
        )


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRowCountWhileSearching:
    def test_a_search_counting_during_a_batch_does_not_cache_a_stale_total(self, table):
        """No count cached; a batch of two rows is inserted (not yet committed) while a
        datastore_search asks for "total". Before the fix the search counted 1 row and
        cached it after the batch had committed: "total" stayed 1 of 3 for good (the
        sensor consumer test then waited for its uplinks in vain)."""
        engine, rid = table
        with engine.begin() as conn:
            compat.datastore_forget_row_counts(conn, [rid])
        answers: list[int] = []
        with engine.begin() as conn:
            insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "2"}, {"nr": "3"}])
            search = threading.Thread(target=lambda: answers.append(total(rid)), daemon=True)
            search.start()
            # the search either answers at once (counting without the batch) or waits
            # for the batch's commit: either way it has decided before the commit
            deadline = time.monotonic() + 60
            while search.is_alive() and not _waiting_on_a_lock(engine):
                assert time.monotonic() < deadline, "the search neither answered nor waited"
                time.sleep(0.05)
        search.join(60)
        assert not search.is_alive()
        assert answers == [3]
        assert total(rid) == 3

    def test_a_cached_count_grows_by_the_new_rows(self, table):
        """With a count cached, only the new rows are added (duplicates of the key are not
        new), without counting the table again."""
        engine, rid = table
        assert total(rid) == 1  # caches the count
        with engine.begin() as conn:
            assert len(insert_rows(conn, rid, FIELDS, ["nr"], [{"nr": "1"}, {"nr": "2"}])) == 1
            # the cache is right without counting: a row inserted past it is not seen
            conn.execute(sa.text(f"INSERT INTO \"{rid}\" (nr) VALUES ('x')"))
        assert total(rid) == 2
