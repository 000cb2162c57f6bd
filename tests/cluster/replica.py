"""Helpers for the tests on the PostgreSQL streaming replica of the test stack
(``scripts/cluster.sh replica-start|stop|replay``): start it, point the
DataStore's ``read_url`` at it (alone, or first with the primary as fallback)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "cluster.sh"

opt_in = pytest.mark.skipif(
    os.environ.get("UDP_TEST_CLUSTER") != "1",
    reason="replica tests are opt-in: UDP_TEST_CLUSTER=1 (make test-cluster)",
)


def cluster_sh(*args: str) -> str:
    offset = (urlsplit(tk.config["ckan.redis.url"]).port or 6380) - 6380
    done = subprocess.run(
        [str(SCRIPT), *args],
        env=dict(os.environ, UDP_PORT_OFFSET=str(offset)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed: {done.stderr[-3000:] or done.stdout[-3000:]}")
    return done.stdout


def replica_url(fallback: bool = False) -> str:
    """The DataStore's read URL on the replica (same user and database as the
    primary's); with ``fallback`` libpq's multi-host form: the standby first,
    the primary when the standby cannot be reached."""
    port = int(cluster_sh("replica-port"))
    primary = urlsplit(tk.config["ckan.datastore.read_url"])
    if not fallback:
        return urlunsplit(primary._replace(netloc=f"{primary.username}:{primary.password}@127.0.0.1:{port}"))
    query = (
        f"host=127.0.0.1:{port}&host={primary.hostname}:{primary.port}"
        "&target_session_attrs=prefer-standby&connect_timeout=3"
    )
    return urlunsplit(primary._replace(netloc=f"{primary.username}:{primary.password}@", query=query))


@contextlib.contextmanager
def reading_from(url: str) -> Iterator[None]:
    """The DataStore (and the plugins' own read engines) on ``url`` while inside.
    The DataStore takes its read_url when it is configured: set, then load."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tk.config, "ckan.datastore.read_url", url)
        plugins.load_all()
        try:
            yield
        finally:
            plugins.unload_all()


def ensure_running() -> None:
    cluster_sh("replica-start")
    cluster_sh("replica-replay", "resume")
