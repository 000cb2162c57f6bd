"""A PostgreSQL streaming replica of the stack's cluster (``scripts/cluster.sh
replica-start``: pg_basebackup, hot standby on loopback) carries the DataStore's reads:
``ckan.datastore.read_url`` points at it, writes stay on the primary (``write_url``), and
``datastore_search`` sees a write once the replica has replayed it (the lag is printed).
With its replay paused a new write stays unseen, rows and total alike (CKAN 2.12 takes an
unfiltered search's total from the write engine; ``ckanext/udp/portal/replica.py`` counts
on the read engine). The replica down: reads fall back to the primary (libpq's multi-host
read URL) or, without a fallback, answer a German 503.

Opt-in with the SolrCloud tests (``UDP_TEST_CLUSTER=1``, ``make test-cluster``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat

from .replica import cluster_sh, ensure_running, opt_in, reading_from, replica_url

pytestmark = opt_in


@pytest.fixture(scope="module")
def replica(reset_db: Any) -> Iterator[None]:
    cluster_sh("replica-start")
    plugins.load_all()
    try:
        reset_db()
        yield
    finally:
        plugins.unload_all()
        cluster_sh("replica-stop")


@pytest.fixture
def running(replica: None) -> None:
    ensure_running()  # a test before may have stopped it


def _system() -> dict[str, Any]:
    return {"user": tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"], "ignore_auth": True}


def _table(rows: int = 100) -> str:
    pkg = public_dataset(title="Messwerte Replikat", owner_org=factories.Organization()["id"])
    res = tk.get_action("datastore_create")(
        _system(),
        {
            "resource": {"package_id": pkg["id"], "name": "Werte", "format": "CSV"},
            "fields": [{"id": "nr", "type": "int"}, {"id": "wert", "type": "numeric"}],
            "records": [{"nr": i, "wert": i / 2} for i in range(rows)],
            "force": True,
        },
    )
    return res["resource_id"]


def _insert(rid: str, numbers: list[int]) -> None:
    tk.get_action("datastore_upsert")(
        _system(),
        {"resource_id": rid, "method": "insert", "records": [{"nr": n, "wert": 1.5} for n in numbers], "force": True},
    )


def _seen(rid: str, nr: int) -> tuple[int, int]:
    """(total of an unfiltered search, rows with ``nr``) as datastore_search answers."""
    search = tk.get_action("datastore_search")
    total = search({}, {"resource_id": rid, "limit": 0})["total"]
    found = search({}, {"resource_id": rid, "filters": {"nr": nr}})["records"]
    return total, len(found)


def _wait_for(rid: str, total: int, nr: int, what: str) -> float:
    started = time.monotonic()
    while True:
        try:
            seen = _seen(rid, nr)
        except tk.ObjectNotFound:
            seen = (-1, 0)  # the table's creation not replayed yet
        if seen == (total, 1):
            return time.monotonic() - started
        assert time.monotonic() - started < 90, f"{what}: still {seen}, not ({total}, 1) after 90 s"
        time.sleep(0.05)


def _in_recovery(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar())


def test_reads_come_from_the_replica_after_its_lag(running: None) -> None:
    with reading_from(replica_url()):
        assert _in_recovery(compat.datastore_read_engine())  # a hot standby: read-only, in recovery
        rid = _table()
        lags = []
        for batch in range(3):
            _insert(rid, [1000 + 10 * batch + i for i in range(10)])
            lags.append(_wait_for(rid, 100 + 10 * (batch + 1), 1000 + 10 * batch, "replica after a write"))
        print(f"\nread-after-write lag through the replica: {', '.join(f'{lag * 1000:.0f} ms' for lag in lags)}")

        # reads really come from the replica: with its replay held, a committed write stays unseen,
        # in the rows and in the total of an unfiltered search
        cluster_sh("replica-replay", "pause")
        try:
            _insert(rid, [5000])
            time.sleep(1)  # a replica that replayed would show it by now (lags above)
            assert _seen(rid, 5000) == (130, 0)
        finally:
            cluster_sh("replica-replay", "resume")
        _wait_for(rid, 131, 5000, "replica after resume")


def test_replica_down_reads_fall_back_to_the_primary(running: None) -> None:
    with reading_from(replica_url(fallback=True)):
        engine = compat.datastore_read_engine()
        assert _in_recovery(engine)  # the standby first while it runs
        rid = _table(10)
        _wait_for(rid, 10, 9, "replica after create")
        cluster_sh("replica-replay", "pause")
        _insert(rid, [77])
        time.sleep(1)
        assert _seen(rid, 77) == (10, 0)  # still the paused standby
        cluster_sh("replica-stop")
        # the pooled connections to the standby are gone: the next read reconnects to the primary
        assert _seen(rid, 77) == (11, 1)
        assert not _in_recovery(engine)


def test_replica_down_without_fallback_answers_a_german_503(running: None, make_app: Any) -> None:
    with reading_from(replica_url()):
        rid = _table(5)
        _wait_for(rid, 5, 4, "replica after create")
        app = make_app()
        url = "/api/3/action/datastore_search"
        assert app.get(url, query_string={"resource_id": rid}).status_code == 200
        sql = f'SELECT count(*) FROM "{rid}"'
        assert app.get("/api/3/action/datastore_search_sql", query_string={"sql": sql}).status_code == 200
        cluster_sh("replica-stop")
        for path, query in ((url, {"resource_id": rid}), ("/api/3/action/datastore_search_sql", {"sql": sql})):
            res = app.get(path, query_string=query, headers={"Accept-Language": "de"})
            assert res.status_code == 503, (path, res.status_code, res.body[:500])
            assert "Die Daten können gerade nicht gelesen werden" in res.json["error"]["message"], res.body
