"""MapServer serving the city's district centroids as WMS and WFS
(``scripts/mapserver.py``, Debian's ``mapserver-bin``) on this stack's port
5000 + offset + 6, its PID in ``<UDP_STATE>/run/mapserver.pid`` (so
``make stop`` stops it too).

with mapserver.running(port) as url:   # http://127.0.0.1:<port>/
    ...
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "mapserver.py"
LAYER = "stadtteile"


def _state() -> pathlib.Path:
    return pathlib.Path(os.environ.get("UDP_STATE", REPO / ".udp"))


@contextlib.contextmanager
def running(port: int) -> Iterator[str]:
    if not os.path.exists("/usr/bin/mapserv"):
        raise RuntimeError("/usr/bin/mapserv is missing: scripts/stack.sh installs Debian's mapserver-bin")
    state = _state()
    folder, run, log = state / "mapserver", state / "run", state / "log" / "mapserver.log"
    run.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile = run / "mapserver.pid"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "serve", str(folder), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write_text(str(process.pid))
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"MapServer exited with {process.returncode}: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"MapServer did not open port {port}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        pidfile.unlink(missing_ok=True)
