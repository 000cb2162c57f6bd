"""Incremental sync latency to the transparency portal: while changes arrive
through the publishing workflow at ``--rate`` per second (default 10), how long
until each is visible on the portal (p50/p95; goal p95 <= 5 s).

The hub runs in this process with every plugin of the test ini (udp_governance
included) against the stack's test databases; the worker is the stack's own
process, ``ckan udp transparency worker``, woken by PostgreSQL LISTEN/NOTIFY;
the portal is the second stock CKAN (``scripts/second_ckan.sh``).

Changes (``--mode workflow``, the default): four of five are edits of a
published dataset (the editor proposes a new title, the reviewer approves: the
change is committed when the approval returns), one of five publishes a new
dataset (create, submit, approve). ``--mode direct``: every change is an edit
that applies at once (the site user's ``package_patch``, as a harvest run's
does), written with its outbox row in the same transaction, so the hub's
workflow is not what limits the offered rate. ``--mode model``: every change is
a title written through CKAN's model and committed (as a bulk tool writes: no
validation, no activity; the outbox hook and CKAN's index update on commit run
as for any change), so the hub's cost of making a change is left out and what
is measured is the delivery: outbox, worker, portal. ``--worker-procs``
transparency workers share the outbox (each dataset claimed by one at a time). ``--writers`` processes (each
with its own app and database connections) produce them on a fixed schedule;
the achieved rate is reported beside the offered one, and the outbox's backlog
is sampled (a growing backlog means the worker is the bottleneck). The second
CKAN runs with ``--portal-workers`` gunicorn workers. A poller asks the portal's search (anonymous,
as the public) every 0.1 s for the bench datasets and their titles; a change is
visible when the portal shows its version or a later one of the same dataset.

Every wait is bounded (``--timeout`` for the whole run, ``--settle`` for the
last changes to show): the bench always ends and lists the changes that never
arrived. The worker dies with the bench, even when the bench is killed
(``PR_SET_PDEATHSIG``; SIGTERM/SIGINT end the bench through its clean-up).

    .venv/bin/python bench/transparency_latency.py --ini .udp/test.ini --seconds 30
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import multiprocessing
import os
import pathlib
import queue as queue_mod
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
# the reference data as scripts/stack.sh finds it (the test ini names it through this variable)
os.environ.setdefault("UDP_SHARED_DIR", str((REPO.parent / "shared").resolve()))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the worker, before exec: SIGTERM when the bench process dies (Linux),
    so a bench killed with SIGKILL leaves no worker behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # through the finally blocks: the worker is stopped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ini", required=True)
    parser.add_argument("--rate", type=float, default=10.0, help="changes per second offered")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--datasets", type=int, default=20, help="published datasets that get edited")
    parser.add_argument("--writers", type=int, default=4, help="processes producing the changes")
    parser.add_argument("--mode", choices=("workflow", "direct", "model"), default="workflow")
    parser.add_argument("--portal-workers", type=int, default=4, help="gunicorn workers of the second CKAN")
    parser.add_argument(
        "--worker-procs", type=int, default=1, help="transparency worker processes (they share the outbox)"
    )
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between the public poller's searches")
    parser.add_argument("--settle", type=float, default=60.0, help="longest wait for the last changes to show")
    parser.add_argument("--timeout", type=float, default=420.0, help="the whole run ends after this (seconds)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    began = time.monotonic()
    args.deadline = began + args.timeout

    from localsources import second_ckan

    os.environ["UDP_SECOND_CKAN_WORKERS"] = str(args.portal_workers)
    remote = second_ckan.start()
    remote.reset()

    load_before = [round(x, 2) for x in os.getloadavg()]
    flask_app = _app(args.ini, remote.url)

    import ckan.model as model
    import ckan.plugins.toolkit as tk
    from ckan.tests import factories

    from ckanext.udp.transparency.model import mapping, outbox

    model.Session.execute(outbox.delete())
    model.Session.execute(mapping.delete())
    model.Session.commit()
    run = uuid.uuid4().hex[:6]
    editor = factories.User(name=f"bench-latenz-editor-{run}")
    reviewer = factories.User(name=f"bench-latenz-reviewer-{run}")
    admin = factories.User(name=f"bench-latenz-admin-{run}")
    org = factories.Organization(
        name=f"bench-latenz-{run}",
        users=[
            {"name": admin["name"], "capacity": "admin"},
            {"name": editor["name"], "capacity": "editor"},
            {"name": reviewer["name"], "capacity": "editor"},
        ],
    )

    def act(as_user: dict[str, Any], action: str, /, **data: Any) -> Any:
        return tk.get_action(action)({"user": as_user["name"], "ignore_auth": False}, data)

    act(admin, "udp_reviewer_add", organization_id=org["id"], user=reviewer["name"])

    def publish(i: int) -> dict[str, Any]:
        pkg = act(
            editor,
            "package_create",
            name=f"bench-latenz-{run}-{i:05d}",
            title=f"Latenz {i} v0",
            notes="Bench-Datensatz.",
            owner_org=org["id"],
            license_id="cc-by",
            license_attribution_by_text="Stadt Karlsruhe",
        )
        act(editor, "udp_submit", id=pkg["id"])
        act(reviewer, "udp_approve", id=pkg["id"])
        return pkg

    # the worker: the stack's command, woken by NOTIFY
    with tempfile.TemporaryDirectory() as tmp:
        ini = pathlib.Path(tmp) / "worker.ini"
        ini.write_text(
            f"[app:main]\nuse = config:{pathlib.Path(args.ini).resolve()}\n"
            f"ckanext.udp.transparency.url = {remote.url}\n"
        )
        ckan = pathlib.Path(sys.executable).with_name("ckan")
        log = open(pathlib.Path(tmp) / "worker.log", "wb")  # noqa: SIM115
        # several worker processes share the outbox: each dataset is claimed by one at a time
        workers = [
            subprocess.Popen(
                [str(ckan), "-c", str(ini), "udp", "transparency", "worker"],
                stdout=log,
                stderr=log,
                env=dict(os.environ, UDP_TRANSPARENCY_TOKEN=remote.token),
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads yet in this process)
            )
            for _ in range(max(args.worker_procs, 1))
        ]
        try:
            result = _measure(args, remote, org, publish, act, editor, reviewer, model, tk, flask_app)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            log.close()
            tail = (pathlib.Path(tmp) / "worker.log").read_text(errors="replace")[-1500:]
    result["load_before"] = load_before
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["run_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(result))
    if result["visible"] < result["changes"] or result.get("error"):
        print(f"never arrived (id, version): {result['never_arrived'][:20]}", file=sys.stderr)
        print(tail, file=sys.stderr)
        sys.exit(1)


def _app(ini: str, portal_url: str) -> Any:
    """The hub's app in this process (every plugin of the ini), a request context pushed."""
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    config = load_config(ini)
    config["ckanext.udp.transparency.url"] = portal_url
    app = make_app(config)
    flask_app = app._wsgi_app if hasattr(app, "_wsgi_app") else app.apps["flask_app"]._wsgi_app
    flask_app.test_request_context().push()
    return flask_app


def _writer_process(w: int, job: dict[str, Any], out: Any, go: Any, start_at: Any) -> None:
    """One writer: its own app and database connections (spawned, not forked).
    Produces changes number w, w + W, w + 2W ... on the schedule start + k / rate,
    edits only its own share of the pool, reports (id, version, commit time)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the run
    try:
        _app(job["ini"], job["portal_url"])
        import ckan.model as model
        import ckan.plugins.toolkit as tk

        site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]

        def act(user: str, action: str, /, **data: Any) -> Any:
            return tk.get_action(action)({"user": user, "ignore_auth": user == site_user}, data)

        model.Session.remove()
    except Exception as err:  # noqa: BLE001 (reported by the parent)
        out.put(("error", w, f"writer {w} setup: {type(err).__name__}: {str(err)[:300]}"))
        return
    out.put(("ready", w, None))
    if not go.wait(job["ready_timeout"]):
        return
    start = start_at.value
    rate, writers, total = job["rate"], job["writers"], job["total"]
    mine = list(job["shares"][w])
    versions = dict.fromkeys(mine, 0)
    k, j, n = w, 0, 0
    while k < total and time.monotonic() < job["produce_until"]:
        pause = start + k / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            if job["mode"] == "workflow" and (k % 5 == 4 or not mine):
                name = f"bench-latenz-{job['run']}-w{w}-{n:05d}"
                n += 1
                pkg = act(
                    job["editor"],
                    "package_create",
                    name=name,
                    title="Latenz neu v0",
                    notes="Bench-Datensatz.",
                    owner_org=job["org"],
                    license_id="cc-by",
                    license_attribution_by_text="Stadt Karlsruhe",
                )
                act(job["editor"], "udp_submit", id=pkg["id"])
                act(job["reviewer"], "udp_approve", id=pkg["id"])
                pid, version = pkg["id"], 0
            else:
                pid = mine[j % len(mine)]
                j += 1
                versions[pid] += 1
                version = versions[pid]
                title = f"Latenz {pid[:6]} v{version}"
                if job["mode"] == "direct":
                    # applies at once; the outbox row is written in the same transaction
                    act(site_user, "package_patch", id=pid, title=title)
                elif job["mode"] == "model":
                    # through CKAN's model, as a bulk tool writes (no validation, no activity):
                    # the hub's cost of a change left out, the outbox hook and CKAN's own
                    # index update on commit as for any change
                    obj = model.Package.get(pid)
                    obj.title = title
                    obj.metadata_modified = datetime.datetime.utcnow()
                    model.Session.commit()
                else:
                    act(job["editor"], "package_patch", id=pid, title=title)
                    act(job["reviewer"], "udp_approve", id=pid)
            out.put(("committed", w, (pid, version, time.monotonic())))
        except Exception as err:  # noqa: BLE001 (reported, and this writer stops)
            out.put(("error", w, f"writer {w}: {type(err).__name__}: {str(err)[:300]}"))
            return
        finally:
            model.Session.remove()
        k += writers


def _measure(args, remote, org, publish, act, editor, reviewer, model, tk, flask_app) -> dict[str, Any]:
    import sqlalchemy as sa

    from ckanext.udp.transparency.model import outbox

    t0 = time.monotonic()
    pool = [publish(i) for i in range(args.datasets)]
    setup_publish_s = time.monotonic() - t0
    # wait until the pool is on the portal (bounded)
    deadline = min(time.monotonic() + 180, args.deadline)
    while remote.action("package_search", q=f"organization:{org['name']}", rows=0)["count"] < len(pool):
        if time.monotonic() > deadline:
            raise SystemExit("the pool did not reach the portal in time")
        time.sleep(0.5)
    setup_s = time.monotonic() - t0

    lock = threading.Lock()
    first_seen: dict[tuple[str, int], float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                found = remote.action(
                    "package_search",
                    _anonymous=True,
                    q=f"organization:{org['name']}",
                    sort="metadata_modified desc",
                    rows=1000,
                    fl="id,title",
                )["results"]
            except Exception:  # noqa: BLE001 (a slow answer: ask again)
                stop.wait(args.poll)
                continue
            now = time.monotonic()
            with lock:
                for d in found:
                    try:
                        v = int(d["title"].rsplit(" v", 1)[1])
                    except (KeyError, IndexError, ValueError):
                        continue
                    first_seen.setdefault((d["id"], v), now)
            stop.wait(args.poll)

    backlog: list[int] = []

    def sample_backlog() -> None:
        while not stop.wait(0.5):
            try:
                backlog.append(model.Session.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())
                model.Session.commit()
            except Exception:  # noqa: BLE001 (a sample less)
                model.Session.rollback()

    total = int(args.rate * args.seconds)
    job = {
        "ini": str(pathlib.Path(args.ini).resolve()),
        "portal_url": remote.url,
        "rate": args.rate,
        "writers": args.writers,
        "total": total,
        "mode": args.mode,
        "run": uuid.uuid4().hex[:6],
        "org": org["id"],
        "editor": editor["name"],
        "reviewer": reviewer["name"],
        # each writer edits only its own share of the pool (no two writers on one dataset)
        "shares": [[p["id"] for p in pool[w :: args.writers]] for w in range(args.writers)],
        "ready_timeout": max(args.deadline - time.monotonic(), 1.0),
        # the writers stop producing at the run's deadline less the settle time
        "produce_until": args.deadline - args.settle,
    }
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(target=_writer_process, args=(w, job, out, go, start_at), daemon=True) for w in range(args.writers)
    ]
    for proc in procs:
        proc.start()
    committed: list[tuple[str, int, float]] = []
    errors: list[str] = []
    ready = 0
    # the writers load the app (several seconds each); the schedule starts when all are ready
    while ready + len(errors) < args.writers and time.monotonic() < args.deadline:
        try:
            kind, _w, payload = out.get(timeout=1.0)
        except queue_mod.Empty:
            if not any(p.is_alive() for p in procs):
                break
            continue
        if kind == "ready":
            ready += 1
        elif kind == "error":
            errors.append(payload)
    start = time.monotonic() + 0.5
    start_at.value = start
    go.set()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    sampler = threading.Thread(target=sample_backlog, daemon=True)
    sampler.start()

    def take() -> bool:
        """One report of a writer into committed/errors; False when none came within 0.5 s."""
        try:
            kind, _w, payload = out.get(timeout=0.5)
        except queue_mod.Empty:
            return False
        if kind == "committed":
            committed.append(tuple(payload))
        elif kind == "error":
            errors.append(payload)
        return True

    while any(p.is_alive() for p in procs) and time.monotonic() < args.deadline:
        take()
    while take():  # what the writers reported just before they ended
        pass
    for proc in procs:
        if proc.is_alive():
            errors.append("a writer was still busy at the deadline")
            proc.terminate()
        proc.join(10)
    produced_s = (max(c[2] for c in committed) - start) if committed else time.monotonic() - start
    # wait for the last changes to show (at most --settle, never past the deadline)
    deadline = min(time.monotonic() + args.settle, args.deadline)
    while time.monotonic() < deadline:
        with lock:
            missing = [c for c in committed if not _visible_at(first_seen, c)]
        if not missing:
            break
        time.sleep(0.2)
    stop.set()
    poller.join(30)
    sampler.join(5)
    latencies = []
    never = []
    with lock:
        changes = list(committed)
    for change in changes:
        at = _visible_at(first_seen, change)
        if at is not None:
            latencies.append(max(at - change[2], 0.0))
        else:
            never.append((change[0], change[1]))
    # the worker's throughput: changes that became visible per second of the run
    seen = sorted(t for t in (_visible_at(first_seen, c) for c in changes) if t is not None)
    delivered_s = (seen[-1] - start) if seen else None
    return {
        "bench": "transparency_latency",
        "mode": args.mode,
        "offered_per_s": args.rate,
        "achieved_per_s": round(len(committed) / produced_s, 2) if produced_s > 0 else None,
        "scheduled": total,
        "changes": len(changes),
        "visible": len(latencies),
        "lost": len(never),
        "never_arrived": never,
        "error": errors,
        "setup_publish_pool_s": round(setup_publish_s, 1),
        "setup_s": round(setup_s, 1),
        "poll_s": args.poll,
        "p50_s": round(pct(latencies, 0.50), 2),
        "p95_s": round(pct(latencies, 0.95), 2),
        "max_s": round(max(latencies), 2) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 2) if latencies else None,
        "goal_p95_s": 5.0,
        "delivered_per_s": round(len(seen) / delivered_s, 2) if delivered_s else None,
        "outbox_backlog_max": max(backlog) if backlog else None,
        "outbox_backlog_mean": round(statistics.fmean(backlog), 1) if backlog else None,
        "writers": f"{args.writers} processes",
        "portal": f"second stock CKAN, gunicorn, {args.portal_workers} workers",
        "worker": f"ckan udp transparency worker (LISTEN/NOTIFY), {args.worker_procs} process(es)",
    }


def _visible_at(first_seen: dict[tuple[str, int], float], change: tuple[str, int, float]) -> float | None:
    pid, version, _ = change
    times = [t for (i, v), t in first_seen.items() if i == pid and v >= version]
    return min(times) if times else None


if __name__ == "__main__":
    main()
