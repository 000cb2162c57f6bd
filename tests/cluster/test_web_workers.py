"""Several web workers: the portal under gunicorn (``config/gunicorn.conf.py``, sync
workers, as ``make run`` and production serve it) with three workers; one is killed
(SIGKILL) while four clients keep asking. At most the request that worker was serving
fails (a sync worker serves one at a time); gunicorn's master starts a new worker and
every later request is answered.

Opt-in with the cluster tests (``UDP_TEST_CLUSTER=1``, ``make test-cluster``): three
workers boot the whole portal, over a minute on a loaded box."""

from __future__ import annotations

import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import ckan.plugins.toolkit as tk
import pytest
from udp_testing import stack_port

from .replica import opt_in

pytestmark = opt_in

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKERS = 3


def _children(pid: int) -> set[int]:
    try:
        text = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


@pytest.fixture
def portal(tmp_path: pathlib.Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = stack_port(9)
    url = f"http://127.0.0.1:{port}"
    ini = tmp_path / "live.ini"
    ini.write_text(
        f"[app:main]\nuse = config:{tk.config['__file__']}\ntesting = false\ndebug = false\nckan.site_url = {url}\n"
    )
    log = tmp_path / "gunicorn.log"
    env = dict(os.environ, CKAN_INI=str(ini), WEB_CONCURRENCY=str(WORKERS))
    gunicorn = pathlib.Path(sys.executable).parent / "gunicorn"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(gunicorn), "-c", str(REPO / "config" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}"
            try:
                with urllib.request.urlopen(f"{url}/api/3/action/status_show", timeout=10) as answer:
                    if answer.status == 200 and len(_children(proc.pid)) == WORKERS:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer on {url}: {log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.5)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def test_a_killed_web_worker_fails_at_most_its_own_request(portal: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, master = portal
    paths = ["/api/3/action/package_search?rows=5", "/api/3/action/status_show", "/dataset/"]
    stop = threading.Event()
    lock = threading.Lock()
    answered: list[tuple[float, int]] = []
    failed: list[tuple[float, str]] = []

    def client() -> None:
        while not stop.is_set():
            path = random.choice(paths)
            try:
                with urllib.request.urlopen(url + path, timeout=60) as answer:
                    answer.read()
                    status = answer.status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError as err:  # connection reset / closed without an answer
                with lock:
                    failed.append((time.monotonic(), f"{path}: {err!r}"))
                continue
            with lock:
                if status >= 500:
                    failed.append((time.monotonic(), f"{path}: HTTP {status}"))
                else:
                    answered.append((time.monotonic(), status))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(5)
        before = _children(master.pid)
        victim = random.choice(sorted(before))
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:  # the master replaces it
            now = _children(master.pid)
            if len(now) == WORKERS and victim not in now:
                break
            assert time.monotonic() < deadline, f"no new worker after 120 s: {now}"
            time.sleep(0.2)
        replaced_at = time.monotonic()
        time.sleep(5)
    finally:
        stop.set()
        for t in threads:
            t.join(70)
    after_kill = [a for a in answered if a[0] > killed_at]
    print(
        f"\n{len(answered)} answered ({len(after_kill)} after the kill), {len(failed)} failed;"
        f" new worker after {replaced_at - killed_at:.1f} s; failures: {failed}"
    )
    assert len(failed) <= 1, failed
    assert all(status == 200 for _, status in answered)
    assert len([a for a in answered if a[0] > replaced_at]) > 0
