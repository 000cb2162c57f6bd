"""DataStore one-day queries from the primary and from the streaming replica while rows
are written at a steady rate, in one run (issue 20).

    .venv/bin/python bench/replica_reads.py --ini .udp/ckan.ini [--rows 2000000] [--rate 2000]
                                            [--seconds 30]

Starts the stack's PostgreSQL replica (``scripts/cluster.sh replica-start``; stopped at
the end unless it was running before) and fills a table in the DataStore database with
``--rows`` sensor-like rows (100 devices, one value every 5 minutes per device, from
2025-01-01; an index on the time). Needs the stack's DataStore database (``make run``,
or ``make setup`` and ``scripts/stack.sh``'s ``init_demo_databases``).

While a writer inserts ``--rate`` rows/s into the same table on the primary (batches
every 0.1 s, as the sensor consumer writes), one client asks for one day of all devices
(``time >= a AND time < a + 1 day ORDER BY time``, all rows fetched), alternating between
the primary and the replica, same SQL, same user. Printed: p50/p95 per server, the ratio,
the write rate reached and the replica's replay lag seen meanwhile. The table is dropped at
the end. On one machine both servers share the same two cores: the point is that reads can
move off the primary, not that they get faster here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEVICES = 100
STEP = dt.timedelta(minutes=5)
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def cluster_sh(*args: str, offset: int) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "cluster.sh"), *args],
        env=dict(os.environ, UDP_PORT_OFFSET=str(offset)),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"cluster.sh {' '.join(args)} failed: {done.stderr[-2000:] or done.stdout[-2000:]}")
    return done.stdout.strip()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--config", "--ini", dest="config", required=True)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--rate", type=float, default=2000, help="rows/s written during the queries")
    ap.add_argument("--seconds", type=float, default=30, help="query time per server")
    args = ap.parse_args()

    from ckan.cli import load_config

    conf = load_config(args.config)
    write_url = conf["ckan.datastore.write_url"]
    offset = (urlsplit(conf["ckan.redis.url"]).port or 6380) - 6380
    port = int(cluster_sh("replica-port", offset=offset))
    with socket.socket() as probe:
        was_running = probe.connect_ex(("127.0.0.1", port)) == 0
    cluster_sh("replica-start", offset=offset)
    primary = sa.create_engine(write_url, pool_size=2)
    replica = sa.create_engine(sa.engine.make_url(write_url).set(host="127.0.0.1", port=port), pool_size=2)
    table = f"bench_replica_{uuid.uuid4().hex[:8]}"
    q = table  # letters and digits only
    per_device = args.rows // DEVICES
    days = max(1, int(per_device * STEP / dt.timedelta(days=1)))
    print(
        f"replica on 127.0.0.1:{port}; {per_device * DEVICES} rows ({days} days x {DEVICES} devices), "
        f"writing {args.rate:.0f} rows/s during {args.seconds:.0f} s of queries per server"
    )
    try:
        t = time.monotonic()
        with primary.begin() as conn:
            conn.execute(sa.text(f'CREATE TABLE "{q}" (time timestamptz, device text, value numeric)'))
            conn.execute(
                sa.text(
                    f'INSERT INTO "{q}" SELECT :t0 + make_interval(mins => 5 * s), '
                    "'bench-' || lpad(d::text, 3, '0'), (s % 500) / 10.0 "
                    "FROM generate_series(0, :n - 1) s, generate_series(0, :devices - 1) d"
                ),
                {"t0": T0, "n": per_device, "devices": DEVICES},
            )
            conn.execute(sa.text(f'CREATE INDEX ON "{q}" (time)'))
            conn.execute(sa.text(f'ANALYZE "{q}"'))
        print(f"filled in {time.monotonic() - t:.1f} s", end="")
        t = time.monotonic()
        while True:  # the replica has replayed the fill
            try:
                with replica.connect() as conn:
                    if conn.execute(sa.text(f'SELECT count(*) FROM "{q}"')).scalar() == per_device * DEVICES:
                        break
            except sa.exc.ProgrammingError:
                pass
            if time.monotonic() - t > 600:
                raise SystemExit("the replica did not replay the fill within 600 s")
            time.sleep(0.5)
        print(f", replayed by the replica {time.monotonic() - t:.1f} s later")

        stop = threading.Event()
        written = [0]
        lags: list[float] = []

        def writer() -> None:
            batch = max(1, int(args.rate / 10))
            k = 0
            next_at = time.monotonic()
            with primary.connect() as conn:
                while not stop.is_set():
                    conn.execute(
                        sa.text(
                            f'INSERT INTO "{q}" SELECT :t + make_interval(secs => s), '
                            "'bench-' || lpad((s % 100)::text, 3, '0'), 1.0 FROM generate_series(0, :b - 1) s"
                        ),
                        {"t": T0 + dt.timedelta(days=days + 1, seconds=k * batch), "b": batch},
                    )
                    conn.commit()
                    written[0] += batch
                    k += 1
                    next_at += 0.1
                    time.sleep(max(0.0, next_at - time.monotonic()))

        def lag_watch() -> None:
            with replica.connect() as conn:
                while not stop.wait(1.0):
                    lag = conn.execute(
                        sa.text("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())")
                    ).scalar()
                    conn.rollback()
                    if lag is not None:
                        lags.append(float(lag))

        threads = [threading.Thread(target=writer, daemon=True), threading.Thread(target=lag_watch, daemon=True)]
        started = time.monotonic()
        for th in threads:
            th.start()
        times: dict[str, list[float]] = {"primary": [], "replica": []}
        rows: dict[str, list[int]] = {"primary": [], "replica": []}
        engines = {"primary": primary, "replica": replica}
        rng = random.Random(20)
        sql = sa.text(f'SELECT time, device, value FROM "{q}" WHERE time >= :a AND time < :b ORDER BY time')
        with primary.connect() as c1, replica.connect() as c2:
            conns = {"primary": c1, "replica": c2}
            for name in conns:  # warm up
                conns[name].execute(sql, {"a": T0, "b": T0 + dt.timedelta(days=1)}).fetchall()
                conns[name].rollback()
            deadline = time.monotonic() + 2 * args.seconds
            while time.monotonic() < deadline:
                a = T0 + dt.timedelta(days=rng.randrange(days))
                for name in rng.sample(sorted(engines), 2):
                    t = time.monotonic()
                    got = conns[name].execute(sql, {"a": a, "b": a + dt.timedelta(days=1)}).fetchall()
                    times[name].append(time.monotonic() - t)
                    rows[name].append(len(got))
                    conns[name].rollback()
        stop.set()
        for th in threads:
            th.join(30)
        rate = written[0] / (time.monotonic() - started)
        for name in ("primary", "replica"):
            ms = [x * 1000 for x in times[name]]
            print(
                f"{name:8s} {len(ms)} one-day queries ({statistics.median(rows[name]):.0f} rows each): "
                f"p50 {statistics.median(ms):.1f} ms, p95 {pct(ms, 0.95):.1f} ms"
            )
        p95 = {name: pct(times[name], 0.95) for name in times}
        print(
            f"replica/primary p95 {p95['replica'] / p95['primary']:.2f}x; written meanwhile {rate:.0f} rows/s; "
            f"replay lag p50 {statistics.median(lags) if lags else float('nan'):.2f} s, "
            f"max {max(lags) if lags else float('nan'):.2f} s"
        )
    finally:
        with primary.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{q}"'))
        primary.dispose()
        replica.dispose()
        if not was_running:  # its memory back (the replica is a second PostgreSQL)
            cluster_sh("replica-stop", offset=offset)


if __name__ == "__main__":
    sys.exit(main())
