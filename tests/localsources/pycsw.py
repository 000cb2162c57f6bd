"""pycsw serving the five real GDI-DE ISO 19139 records (``scripts/pycsw.sh``).

url = pycsw.start()    # the CSW endpoint, http://127.0.0.1:<port>/csw
"""

from __future__ import annotations

import os
import pathlib
import subprocess

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "pycsw.sh"


def _run(command: str) -> str:
    done = subprocess.run([str(SCRIPT), command], capture_output=True, text=True, env=dict(os.environ), timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"pycsw.sh {command} failed: {done.stderr[-2000:] or done.stdout[-2000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def start() -> str:
    return _run("start")


def stop() -> None:
    _run("stop")
