"""Page budget of the Klimadashboard (udp_klima), side by side with the stock anchor.

    .venv/bin/python bench/klimadashboard.py --ini "$(scripts/stack.sh test-ini)" [--tiles 20] [--repeat 20]

Against the databases of the ini it is given (``make bench``: the test stack's, a
scratch database: the bench removes every tile there first and its own datasets and
tiles at the end), in one process through the portal's WSGI app (CKAN's Flask test
client, so the time is the complete response, which is at least the first byte):

* ours: ``GET /klimadashboard`` with ``--tiles`` tiles (sensor series of 30 days of
  quarter-hourly values of 4 sensors, daily values of a 2-station table, a row count
  of a 5,000-row table; a third each);
* stock: the same numbers through the Action API's ``datastore_search`` called
  directly, one client request after the other as an app would: per series tile the
  latest row and the rows of the last 48 hours (hourly means computed by the client),
  per daily tile the rows of the table (grouped by day by the client), per count tile
  ``limit=0`` for the total.

Prints medians and p95 of ``--repeat`` rounds and the ratio ours/stock; the goal is a
first byte under 300 ms with 20 tiles. Numbers from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import uuid
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlencode

T_END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ini", required=True)
    ap.add_argument("--tiles", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one page and its SQL statements")
    args = ap.parse_args()

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(args.ini))
    import ckan.model as model
    import ckan.plugins.toolkit as tk
    import sqlalchemy as sa

    flask_app = app._wsgi_app
    client = flask_app.test_client()
    tag = f"bench-klima-{uuid.uuid4().hex[:6]}"
    with flask_app.test_request_context():
        site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        ctx = {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published"}
        model.Session.execute(sa.text("DELETE FROM udp_klima_tile"))
        model.Session.commit()
        org = tk.get_action("organization_create")(dict(ctx), {"name": f"{tag}-org"})
        pkg = tk.get_action("package_create")(
            dict(ctx),
            {
                "name": tag,
                "title": "Benchmark Klimadashboard",
                "notes": "Benchmark, wird gelöscht.",
                "owner_org": org["id"],
                "private": False,
            },
        )

        def table(name: str, fields: list[dict[str, str]], records: list[dict[str, Any]]) -> str:
            res = tk.get_action("datastore_create")(
                dict(ctx),
                {
                    "resource": {"package_id": pkg["id"], "name": name},
                    "fields": fields,
                    "records": records,
                    "force": True,
                },
            )
            return res["resource_id"]

        step = dt.timedelta(minutes=15)
        n = int(dt.timedelta(days=30) / step)
        series = table(
            "Messwerte",
            [{"id": "time", "type": "timestamp"}, {"id": "device", "type": "text"}, {"id": "wert", "type": "numeric"}],
            [
                {"time": (T_END - i * step).isoformat(), "device": f"s{d}", "wert": 20 + (i % 96) / 10 + d}
                for i in range(n)
                for d in range(4)
            ],
        )
        daily = table(
            "Tageswerte",
            [{"id": "station", "type": "text"}, {"id": "datum", "type": "date"}, {"id": "no2", "type": "numeric"}],
            [
                {"station": s, "datum": (T_END - dt.timedelta(days=i)).date().isoformat(), "no2": 20 + i % 25}
                for i in range(365)
                for s in ("A", "B")
            ],
        )
        rows = table("Bäume", [{"id": "nr", "type": "int"}], [{"nr": i} for i in range(5000)])
        tiles = []
        for i in range(args.tiles):
            kind = ("series", "daily", "count")[i % 3]
            data: dict[str, Any] = {"title": f"Kachel {i}", "kind": kind, "dataset": pkg["id"]}
            if kind == "series":
                data.update(resource=series, value_column="wert", time_column="time", unit="%")
            elif kind == "daily":
                data.update(resource=daily, value_column="no2", time_column="datum", aggregation="mean")
            else:
                data.update(resource=rows)
            tiles.append(tk.get_action("udp_klima_tile_create")(dict(ctx), data))

    def ours() -> float:
        t0 = time.perf_counter()
        res = client.get("/klimadashboard")
        assert res.status_code == 200, res.status_code
        return (time.perf_counter() - t0) * 1000

    def search(**params: Any) -> dict[str, Any]:
        query = urlencode({k: ",".join(v) if isinstance(v, list) else v for k, v in params.items()})
        res = client.get(f"/api/3/action/datastore_search?{query}")
        assert res.status_code == 200, res.status_code
        return res.json["result"]

    def stock() -> float:
        t0 = time.perf_counter()
        for tile in tiles:
            if tile["kind"] == "series":
                last = search(resource_id=tile["resource_id"], sort="time desc", limit=1)["records"][0]
                since = dt.datetime.fromisoformat(last["time"]) - dt.timedelta(hours=48)
                recent = search(
                    resource_id=tile["resource_id"], sort="time desc", limit=4 * 4 * 49, fields=["time", "wert"]
                )["records"]
                hours: dict[str, list[float]] = defaultdict(list)
                for r in recent:
                    if dt.datetime.fromisoformat(r["time"]) > since:
                        hours[r["time"][:13]].append(float(r["wert"]))
                _ = {h: statistics.mean(v) for h, v in hours.items()}
            elif tile["kind"] == "daily":
                recs = search(resource_id=tile["resource_id"], sort="datum desc", limit=32000, fields=["datum", "no2"])[
                    "records"
                ]
                days: dict[str, list[float]] = defaultdict(list)
                for r in recs:
                    days[r["datum"][:10]].append(float(r["no2"]))
                _ = sorted(days)[-31:]
            else:
                _ = search(resource_id=tile["resource_id"], limit=0)["total"]
        return (time.perf_counter() - t0) * 1000

    try:
        ours()
        stock()  # warm both
        if args.profile:
            import cProfile
            import pstats

            statements: list[str] = []

            def count(*a: Any) -> None:
                statements.append(a[2])

            sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
            prof = cProfile.Profile()
            prof.runcall(ours)
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            print(f"SQL statements through SQLAlchemy for one page: {len(statements)}")
            for text, n in Counter(" ".join(st.split())[:150] for st in statements).most_common(8):
                print(f"  {n:3d}x {text}")
        a, b = [], []
        for _i in range(args.repeat):
            a.append(ours())
            b.append(stock())
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"Klimadashboard with {len(tiles)} tiles (complete response >= first byte; shared loaded machine):")
        print(
            f"  ours  GET /klimadashboard                  median {ma:7.1f} ms  p95 {_p95(a):7.1f} ms"
            f"  (goal < 300 ms: {'met' if ma < 300 else 'NOT met'})"
        )
        print(f"  stock datastore_search calls, same numbers median {mb:7.1f} ms  p95 {_p95(b):7.1f} ms")
        print(f"  ratio ours/stock {ma / mb:.2f}")
    finally:
        with flask_app.test_request_context():
            model.Session.execute(sa.text("DELETE FROM udp_klima_tile"))
            model.Session.commit()
            tk.get_action("dataset_purge")(dict(ctx), {"id": pkg["id"]})
            tk.get_action("organization_purge")(dict(ctx), {"id": org["id"]})


if __name__ == "__main__":
    main()
