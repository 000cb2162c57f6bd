"""Ingestion benchmark of udp_sensors against the stock ways, in one run.

    .venv/bin/python bench/sensors_ingest.py -c .udp/ckan.ini [--n 20000] [--n-stock 2000]
                                             [--n-batched 20000] [--rate 0] [--big-rows 0]

Both paths get the same uplinks (The Things Stack v3 JSON) published at QoS 1
to the stack's Mosquitto, from one publisher, and are measured until the rows
are visible in the DataStore table (a poller reads new ``_id``s every 50 ms
through the DataStore read URL):

* udp_sensors: the consumer (``Consumer`` + ``Ingester``: batches, one
  ``INSERT ... ON CONFLICT DO NOTHING`` per batch, latest + hourly per batch,
  manual acks after commit);
* stock, per message: a paho subscriber that calls the ``datastore_upsert``
  action once per message (same parsing and row mapping; only the write differs);
* stock, batched (the fair anchor): the same subscriber collecting up to 1,000
  messages (or 0.1 s, as the consumer does) per ``datastore_upsert`` call, once
  with ``method: upsert`` and once with ``method: insert``.

Printed: uplinks/s (first publish to last visible), p50/p95 publish-to-visible
latency, the ratios. Then the write path alone, without the broker (raw
messages to committed rows, 1,000 per call, fresh tables, same run): the
ingester (parse, map, insert + latest + hourly) against parse, map and a
batched ``datastore_upsert`` (upsert, insert), which writes the observations
only. ``--rate`` paces the publisher (uplinks/s, 0 = as fast as
possible). ``--big-rows N`` first fills the observations table with N rows
(100 devices, one uplink per device every 5 min, 2025), so that ingestion is
measured against a large table, and afterwards times one-day queries over it
through HTTP against the running portal (``make run``): the download URL next
to ``datastore_search_sql`` with the same condition.
It creates an organization and datasets named ``bench-sensors-*`` in the
portal it points at and deletes them at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import sqlalchemy as sa
import yaml

from ckanext.udp import compat

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "sensors" / "fixtures" / "tts_uplink.json"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
META = {"title": "Benchmark Sensoren", "notes": "Benchmark-Datensatz, wird am Ende gelöscht."}


def uplinks(app_name: str, n: int, devices: int = 50) -> list[tuple[str, bytes]]:
    base = json.loads(FIXTURE.read_text())
    out = []
    for i in range(n):
        dev = f"bench-{i % devices:03d}"
        base["end_device_ids"]["device_id"] = dev
        base["received_at"] = (T0 + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        base["uplink_message"]["f_cnt"] = i + 1
        base["correlation_ids"][1] = f"as:up:{uuid.uuid4().hex}"
        base["uplink_message"]["decoded_payload"] = {
            "soil_moisture": round(20 + (i % 97) / 10, 1),
            "soil_temperature": 15 + (i % 13),
            "battery": 3.6,
        }
        out.append((f"v3/{app_name}@karlsruhe/devices/{dev}/up", json.dumps(base).encode()))
    return out


class Poller(threading.Thread):
    """Records when each f_cnt becomes visible in a table."""

    def __init__(self, engine: sa.engine.Engine, table: str, expect: int, margin: int = 0) -> None:
        super().__init__(daemon=True)
        self.engine, self.table, self.expect = engine, table, expect
        # several writers commit out of _id order: look back this many _ids each time
        self.margin = margin
        self.seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            last = conn.execute(sa.text(f'SELECT coalesce(max(_id), 0) FROM "{self.table}"')).scalar()
            conn.commit()
            while len(self.seen) < self.expect and not self.done.is_set():
                rows = conn.execute(
                    sa.text(f'SELECT _id, f_cnt FROM "{self.table}" WHERE _id > :l ORDER BY _id'),
                    {"l": last - self.margin},
                ).fetchall()
                conn.commit()
                now = time.monotonic()
                for _id, f_cnt in rows:
                    self.seen.setdefault(f_cnt, now)
                    last = max(last, _id)
                time.sleep(0.05)
        self.done.set()


def _consumer_child(
    config: str, sources: str, dataset: str, url: str, client_id: str, group: str, ready, stop, out
) -> None:
    """One consumer process of a shared subscription (``--consumers N``)."""
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(config))
    with app._wsgi_app.test_request_context():
        import ckan.model as model

        from ckanext.udp.datastore_sql import write_engine
        from ckanext.udp.sensors.logic.consumer import Consumer
        from ckanext.udp.sensors.logic.ingest import Ingester
        from ckanext.udp.sensors.logic.series import ensure_series
        from ckanext.udp.sensors.logic.sources import load_sources

        srcs = load_sources(pathlib.Path(sources))
        series = {dataset: ensure_series(srcs, dataset)}
        model.Session.remove()
        consumer = Consumer(
            Ingester(srcs, series, write_engine(), model.meta.engine),
            url,
            client_id,
            srcs.by_name("ours").topics,
            batch_size=1000,
            batch_wait=0.1,
            session_expiry=300,
            shared_group=group,
            on_ready=ready.set,
        )
        threading.Thread(target=lambda: (stop.wait(), consumer.stop.set()), daemon=True).start()
        consumer.run()
        out.put((consumer.totals.received, consumer.seconds_parsing, consumer.seconds_storing))


def publish(url: str, items: list[tuple[str, bytes]], rate: float) -> dict[int, float]:
    u = urlparse(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect(u.hostname, u.port)
    pub.loop_start()
    sent: dict[int, float] = {}
    infos = []
    start = time.monotonic()
    for i, (topic, payload) in enumerate(items):
        if rate:
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        sent[i + 1] = time.monotonic()
        infos.append(pub.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    pub.loop_stop()
    pub.disconnect()
    return sent


def _publish_child(url: str, app_name: str, n: int, rate: float, conn) -> None:
    conn.send(publish(url, uplinks(app_name, n), rate))
    conn.close()


def publish_elsewhere(url: str, app_name: str, n: int, rate: float) -> dict[int, float]:
    """Publish from a separate process (as a network server would): the
    publisher must not share the consumer's interpreter. CLOCK_MONOTONIC is
    system-wide, so its timestamps compare with this process's."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_publish_child, args=(url, app_name, n, rate, child))
    proc.start()
    sent = parent.recv()
    proc.join()
    return sent


def report(name: str, sent: dict[int, float], seen: dict[int, float]) -> float:
    lat = sorted(seen[k] - sent[k] for k in sent if k in seen)
    missing = len(sent) - len(lat)
    span = max(seen.values()) - min(sent.values())
    rate = len(lat) / span
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(
        f"{name:<12} {len(lat):>7} uplinks in {span:7.2f} s = {rate:9.1f} uplinks/s   "
        f"p50 {statistics.median(lat):6.3f} s   p95 {p95:6.3f} s   missing {missing}"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--config", "--ini", dest="config", required=True)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--n-stock", type=int, default=2000, help="uplinks for stock, one call per message")
    ap.add_argument("--n-batched", type=int, default=20000, help="uplinks for stock, 1,000 per call (each method)")
    ap.add_argument("--write-path", type=int, default=50000, help="uplinks per variant of the write path (0: skip)")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--big-rows", type=int, default=0)
    ap.add_argument(
        "--consumers",
        type=int,
        default=1,
        help="consumer processes on a shared subscription (default 1: one, in this process)",
    )
    ap.add_argument(
        "--no-fulltext",
        action="store_true",
        help="disable the DataStore's full-text trigger on the udp_sensors table (to see its cost)",
    )
    args = ap.parse_args()

    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(args.config))
    with app._wsgi_app.test_request_context():
        run(args)


def run(args: argparse.Namespace) -> None:
    import ckan.model as model
    import ckan.plugins.toolkit as tk

    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors.logic.consumer import Consumer
    from ckanext.udp.sensors.logic.ingest import Ingester
    from ckanext.udp.sensors.logic.series import ensure_all
    from ckanext.udp.sensors.logic.sources import load_sources

    tag = uuid.uuid4().hex[:8]
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
    ctx = lambda: {"user": site_user, "ignore_auth": True}  # noqa: E731
    org = tk.get_action("organization_create")(ctx(), {"name": f"bench-sensors-{tag}"})
    # published (public) datasets, as a harvester makes them: the query part reads them anonymously over HTTP
    pub = lambda: {**ctx(), "udp_initial_state": "published"}  # noqa: E731
    ours_ds = tk.get_action("package_create")(
        pub(), {"name": f"bench-sensors-{tag}-ours", "owner_org": org["id"], **META}
    )
    others = {
        name: tk.get_action("package_create")(
            pub(), {"name": f"bench-sensors-{tag}-{name}", "owner_org": org["id"], **META}
        )
        for name in ("stock", "upsert", "insert", "wp-ours", "wp-upsert", "wp-insert")
    }
    cols = [
        {"field": "soil_moisture", "name": "bodenfeuchte", "type": "numeric", "unit": "%"},
        {"field": "soil_temperature", "name": "bodentemperatur", "type": "numeric", "unit": "°C"},
        {"field": "battery", "name": "batterie", "type": "numeric", "unit": "V"},
    ]
    devices = [f"bench-{i:03d}" for i in range(100)]

    def source(name: str, ds: str) -> dict:
        return {
            "name": name,
            "flavour": "tts",
            "topics": [f"v3/{name}-{tag}@karlsruhe/devices/+/up"],
            "columns": cols,
            "devices": [{"id": d, "dataset": ds} for d in devices],
        }

    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "sources.yaml").write_text(
        yaml.safe_dump(
            {"sources": [source("ours", ours_ds["name"])] + [source(name, ds["name"]) for name, ds in others.items()]}
        )
    )
    srcs = load_sources(tmp / "sources.yaml")
    series = ensure_all(srcs)
    model.Session.remove()
    if args.no_fulltext:
        with write_engine().begin() as conn:
            compat.datastore_set_fulltext(conn, series[ours_ds["name"]].observations, False)
    read = sa.create_engine(tk.config["ckan.datastore.read_url"])
    url = tk.config["ckanext.udp.mqtt.url"]
    print(
        f"broker {url}; {args.n} uplinks (udp_sensors), {args.n_stock} (stock datastore_upsert per message), "
        f"{args.n_batched} (stock datastore_upsert, 1,000 per call, each method); "
        f"publisher rate {'max' if not args.rate else args.rate}"
    )

    try:
        if args.big_rows:  # ingestion then runs against a large table, as in production after a year
            load_big(write_engine(), series[ours_ds["name"]].observations, args.big_rows)
        # --- udp_sensors --------------------------------------------------
        poller = Poller(
            read,
            series[ours_ds["name"]].observations,
            args.n,
            margin=0 if args.consumers == 1 else 3000 * args.consumers,
        )
        if args.consumers == 1:
            ours = Ingester(srcs, {ours_ds["name"]: series[ours_ds["name"]]}, write_engine(), model.meta.engine)
            consumer = Consumer(
                ours,
                url,
                f"bench-ours-{tag}",
                srcs.by_name("ours").topics,
                batch_size=1000,
                batch_wait=0.1,
                session_expiry=300,
            )
            th = threading.Thread(target=consumer.run, daemon=True)
            th.start()
            consumer.subscribed.wait(20)
            poller.start()
            sent = publish_elsewhere(url, f"ours-{tag}", args.n, args.rate)
            poller.join(600)
            consumer.stop.set()
            th.join(30)
            rate_ours = report("udp_sensors", sent, poller.seen)
            print(
                f"             consumer: {consumer.seconds_parsing:.2f} s parsing, {consumer.seconds_storing:.2f} s "
                f"storing and acknowledging, {consumer.totals.received} received"
            )
        else:
            # several consumer processes on a shared subscription ($share/<group>/...)
            mp = multiprocessing.get_context("spawn")
            stop, out = mp.Event(), mp.Queue()
            readies = [mp.Event() for _ in range(args.consumers)]
            procs = [
                mp.Process(
                    target=_consumer_child,
                    args=(
                        args.config,
                        str(tmp / "sources.yaml"),
                        ours_ds["name"],
                        url,
                        f"bench-ours-{tag}-{k}",
                        f"bench-{tag}",
                        readies[k],
                        stop,
                        out,
                    ),
                )
                for k in range(args.consumers)
            ]
            for proc in procs:
                proc.start()
            for ready in readies:
                ready.wait(120)
            poller.start()
            sent = publish_elsewhere(url, f"ours-{tag}", args.n, args.rate)
            poller.join(600)
            stop.set()
            got = [out.get(timeout=60) for _ in procs]
            for proc in procs:
                proc.join(30)
            rate_ours = report(f"udp_sensors x{args.consumers}", sent, poller.seen)
            print(
                "             consumers received "
                + ", ".join(str(g[0]) for g in got)
                + "; storing "
                + ", ".join(f"{g[2]:.1f} s" for g in got)
            )

        # --- stock: datastore_upsert per message, and batched ---------------
        rates = {}
        for name, method, size, n in (
            ("stock", "upsert", 1, args.n_stock),
            ("upsert", "upsert", 1000, args.n_batched),
            ("insert", "insert", 1000, args.n_batched),
        ):
            if n:
                rates[name] = stock_mqtt(
                    srcs, series[others[name]["name"]], name, tag, url, read, n, args.rate, method, size, ctx
                )
        print(
            f"ratio        udp_sensors / stock per message {rate_ours / rates['stock']:.1f}x"
            + "".join(f"; / stock {m} x1000 {rate_ours / rates[m]:.2f}x" for m in ("upsert", "insert") if m in rates)
            + " (uplinks/s, end to end through the broker)"
        )
        if args.write_path:
            write_path(srcs, series, others, ours_ds, args.write_path, tag, ctx)

        if args.big_rows:
            big_query(
                series[ours_ds["name"]].observations,
                args.big_rows,
                tk.config["ckan.site_url"].rstrip("/"),
                ours_ds["name"],
            )
    finally:
        for ds in (ours_ds, *others.values()):
            for res in tk.get_action("package_show")(ctx(), {"id": ds["id"]})["resources"]:
                try:
                    tk.get_action("datastore_delete")(ctx(), {"resource_id": res["id"], "force": True})
                except tk.ObjectNotFound:
                    pass
            tk.get_action("dataset_purge")(ctx(), {"id": ds["id"]})
        tk.get_action("organization_purge")(ctx(), {"id": org["id"]})


def stock_mqtt(
    srcs, ser, name: str, tag: str, url: str, read, n: int, rate: float, method: str, size: int, ctx
) -> float:
    """The stock way through the broker: a paho subscriber that parses and maps each uplink
    like the consumer and calls ``datastore_upsert`` with ``size`` records (after at most
    0.1 s of waiting for more, as the consumer does)."""
    import ckan.plugins.toolkit as tk

    from ckanext.udp.sensors import lorawan
    from ckanext.udp.sensors.logic.sources import row_for

    src = srcs.by_name(name)
    inbox: list = []
    cond = threading.Condition()

    def on_message(client, userdata, msg):
        with cond:
            inbox.append(msg)
            cond.notify()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{tag}")
    sub.on_message = on_message
    u = urlparse(url)
    sub.connect(u.hostname, u.port)
    sub.subscribe(src.topics[0], qos=1)
    sub.loop_start()
    time.sleep(0.5)
    poller = Poller(read, ser.observations, n)
    poller.start()
    result: dict = {}
    pt = threading.Thread(target=lambda: result.update(sent=publish_elsewhere(url, f"{name}-{tag}", n, rate)))
    pt.start()
    handled = 0
    while handled < n:
        with cond:
            while not inbox:
                cond.wait(5)
            deadline = time.monotonic() + 0.1
            while size > 1 and len(inbox) < size and time.monotonic() < deadline:
                cond.wait(max(deadline - time.monotonic(), 0))
            batch, inbox[:] = inbox[:size], inbox[size:]
        rows = []
        for msg in batch:
            up = lorawan.parse("tts", msg.topic, msg.payload)
            rows.append(row_for(src, ser.columns, up, src.device(up), ser.radio, ser.eui))
        tk.get_action("datastore_upsert")(
            ctx(), {"resource_id": ser.observations, "method": method, "force": True, "records": rows}
        )
        handled += len(batch)
    pt.join()
    poller.join(600)
    sub.loop_stop()
    sub.disconnect()
    label = "stock" if size == 1 else f"{method} x{size}"
    return report(label, result["sent"], poller.seen)


def write_path(srcs, series, others, ours_ds, n: int, tag: str, ctx) -> None:
    """Raw messages to committed rows without the broker, 1,000 per call, into fresh tables:
    the ingester against parse + map + batched datastore_upsert (upsert and insert)."""
    import datetime as dt

    import ckan.model as model
    import ckan.plugins.toolkit as tk

    from ckanext.udp.datastore_sql import write_engine
    from ckanext.udp.sensors import lorawan
    from ckanext.udp.sensors.logic.ingest import Ingester, Message
    from ckanext.udp.sensors.logic.sources import row_for

    now = dt.datetime.now(dt.timezone.utc)
    timings = {}
    for name in ("wp-ours", "wp-upsert", "wp-insert"):
        ds = others[name]["name"]
        ser = series[ds]
        src = srcs.by_name(name)
        msgs = [Message(topic, payload, now) for topic, payload in uplinks(f"{name}-{tag}", n)]
        t0 = time.monotonic()
        if name == "wp-ours":
            engine = write_engine()
            ing = Ingester(srcs, {ds: ser}, engine, model.meta.engine)
            for k in range(0, n, 1000):
                ing.process(msgs[k : k + 1000])
            engine.dispose()
        else:
            method = name.split("-")[1]
            for k in range(0, n, 1000):
                rows = []
                for m in msgs[k : k + 1000]:
                    up = lorawan.parse("tts", m.topic, m.payload)
                    rows.append(row_for(src, ser.columns, up, src.device(up), ser.radio, ser.eui))
                tk.get_action("datastore_upsert")(
                    ctx(), {"resource_id": ser.observations, "method": method, "force": True, "records": rows}
                )
        timings[name] = time.monotonic() - t0
        print(f"write path   {name:<10} {n:>7} uplinks in {timings[name]:6.2f} s = {n / timings[name]:8.0f} uplinks/s")
    ours = timings["wp-ours"]
    print(
        f"ratio        write path, udp_sensors (observations + latest + hourly) / stock datastore_upsert "
        f"x1000 (observations only): upsert {timings['wp-upsert'] / ours:.2f}x, "
        f"insert {timings['wp-insert'] / ours:.2f}x"
    )


def load_big(write: sa.engine.Engine, table: str, n: int) -> None:
    """Fill the observations table with n rows of 2025 (100 devices, one uplink each every 5 minutes)."""
    devices = 100
    per_device = n // devices
    t = time.monotonic()
    with write.begin() as conn:
        # bulk load for the benchmark only: the DataStore's full-text trigger is off while loading,
        # then as udp_sensors set it (ckanext.udp.sensors.observations_fulltext, off by default)
        enabled = compat.datastore_fulltext_state(conn, table)
        compat.datastore_set_fulltext(conn, table, False)
        conn.execute(
            sa.text(
                f'INSERT INTO "{table}" (time, device, f_cnt, bodenfeuchte, bodentemperatur, batterie) '
                f"SELECT timestamp '2025-01-01' + (i * interval '5 minutes'), 'bench-' || lpad(d::text, 3, '0'), i, "
                f"20 + (i % 97) / 10.0, 15 + i % 13, 3.6 "
                f"FROM generate_series(0, {per_device - 1}) i, generate_series(0, {devices - 1}) d"
            )
        )
        if enabled:
            compat.datastore_set_fulltext(conn, table, True)
        compat.datastore_add_row_count(conn, table, per_device * devices)  # the table was empty
    with write.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
    # flush the bulk load's ~2 GB of WAL now, so that ingestion does not compete with that
    # checkpoint (a year of real uplinks arrives slowly); CHECKPOINT needs the superuser
    stack = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "stack.sh"
    done = subprocess.run([str(stack), "psql", "-d", "postgres", "-c", "CHECKPOINT"], capture_output=True)
    print(
        "checkpoint   "
        + (
            "done"
            if done.returncode == 0
            else "not possible (" + done.stderr.decode(errors="replace").strip()[:200] + ")"
        )
    )
    print(
        f"big series   {per_device * devices} rows loaded in {time.monotonic() - t:.1f} s "
        f"({per_device} per device, {per_device * 5 / 60 / 24:.0f} days of 2025); the ingestion below adds to it"
    )


def big_query(table: str, n: int, site: str, dataset: str) -> None:
    """Time one-day queries over the big series through HTTP against the running portal: the
    stable download URL (udp_sensors) next to the stock way to ask the DataStore for a time
    range (``datastore_search_sql``), same rows."""
    import requests

    per_device = n // 100
    first = dt.datetime(2025, 1, 1) + dt.timedelta(days=per_device * 5 // 60 // 24 // 2)
    days = [first + dt.timedelta(days=k * 3) for k in range(7)]
    if per_device * 5 < 60 * 24 * 40:  # a small run (less than 40 days loaded): the first day, 7 times
        days = [dt.datetime(2025, 1, 1)] * 7
    http = requests.Session()
    cols = "time, device, f_cnt, uplink_id, bodenfeuchte, bodentemperatur, batterie, extra"

    def ours(fmt: str, device: str | None):
        def get(a: dt.datetime) -> int:
            params = {"from": a.isoformat() + "Z", "to": (a + dt.timedelta(days=1)).isoformat() + "Z"}
            if device:
                params["device"] = device
            r = http.get(f"{site}/dataset/{dataset}/sensors/observations.{fmt}", params=params)
            r.raise_for_status()
            return r.text.count("\n") - (1 if fmt == "csv" else 2)

        return get

    def stock(device: str | None):
        def get(a: dt.datetime) -> int:
            where = f"time >= '{a.isoformat()}' AND time < '{(a + dt.timedelta(days=1)).isoformat()}'"
            if device:
                where += f" AND device = '{device}'"
            sql = f'SELECT {cols} FROM "{table}" WHERE {where} ORDER BY time, device'
            r = http.post(f"{site}/api/3/action/datastore_search_sql", json={"sql": sql})
            r.raise_for_status()
            return len(r.json()["result"]["records"])

        return get

    def timed(get) -> tuple[int, float, float]:
        get(days[0])  # warm up connection and caches
        times, rows = [], 0
        for a in days:
            t = time.monotonic()
            rows = get(a)
            times.append(time.monotonic() - t)
        return rows, statistics.median(times) * 1000, max(times) * 1000

    for label, device in (("all devices", None), ("one device", "bench-042")):
        rows_s, med_s, max_s = timed(stock(device))
        print(
            f"query        {label}, one day, stock datastore_search_sql (JSON): {rows_s} rows, "
            f"median {med_s:.1f} ms, max {max_s:.1f} ms"
        )
        for fmt in ("csv", "json"):
            rows_o, med_o, max_o = timed(ours(fmt, device))
            print(
                f"query        {label}, one day, udp_sensors download .{fmt}: {rows_o} rows, "
                f"median {med_o:.1f} ms, max {max_o:.1f} ms, {med_s / med_o:.1f}x faster than stock"
            )


if __name__ == "__main__":
    sys.exit(main())
