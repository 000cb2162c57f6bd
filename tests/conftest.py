"""Fixtures shared by all ckanext-udp tests.

Tests run against the real services that ``make test`` starts (PostgreSQL,
Solr core ``ckan_test``, Redis DB 1, Mosquitto); nothing is mocked.
"""

from __future__ import annotations

import http.server
import os
import pathlib
import threading
from collections.abc import Callable, Iterator

import ckan.model as model
import pytest
import sqlalchemy as sa

# Plugins with database migrations of their own (ckan db init does not run them).
MIGRATED_PLUGINS = (
    "activity",
    "harvest",
    "udp_governance",
    "udp_sensors",
    "udp_sensorthings",
    "udp_api",
    "udp_transparency",
)

REPO = pathlib.Path(__file__).resolve().parent.parent
# udp_dcatde's reference-data options default to folders of UDP_SHARED_DIR
# (scripts/stack.sh exports it; this covers pytest called directly)
os.environ.setdefault("UDP_SHARED_DIR", str((REPO.parent / "shared").resolve()))


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    """The project's reference data (``../shared`` beside the checkout)."""
    path = pathlib.Path(os.environ.get("UDP_SHARED_DIR", REPO.parent / "shared"))
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set UDP_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def reset_db(reset_db, migrate_db_for):
    """CKAN's reset plus the plugins' own tables: migrated, then emptied."""

    def reset() -> None:
        reset_db()
        for plugin in MIGRATED_PLUGINS:
            migrate_db_for(plugin)
        # CKAN's own tables (model.repo.metadata; model.meta.metadata may have
        # been replaced by a reflection of the whole database, plugin tables included)
        core = set(model.repo.metadata.tables)
        engine = model.meta.engine
        with engine.begin() as conn:
            names = [
                n for n in sa.inspect(conn).get_table_names() if n not in core and not n.endswith("alembic_version")
            ]
            if names:
                conn.execute(sa.text("TRUNCATE {} CASCADE".format(", ".join(f'"{n}"' for n in names))))

    return reset


@pytest.fixture
def reset_redis(reset_redis):
    """CKAN's reset (its own Redis database) plus the catalog's cache database."""

    def reset(pattern: str = "*") -> int:
        from ckanext.udp.catalog import cache

        conn = cache.connect()
        keys = conn.keys(pattern)
        return reset_redis(pattern) + (conn.delete(*keys) if keys else 0)

    return reset


class LocalHTTPServer:
    """A real HTTP server on loopback standing in for a remote source.
    ``responder(path) -> (status, content_type, body)`` decides the answers."""

    def __init__(self) -> None:
        self.url = ""
        self.responder: Callable[[str], tuple[int, str, bytes]] = lambda path: (404, "text/plain", b"")


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    local = LocalHTTPServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = local.responder(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield local
    finally:
        server.shutdown()
        server.server_close()
