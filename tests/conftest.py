"""Fixtures shared by all ckanext-udp tests.

Tests run against the real services that ``make test`` starts (PostgreSQL,
Solr core ``ckan_test``, Redis DB 1, Mosquitto); nothing is mocked.
"""

from __future__ import annotations

import http.server
import os
import pathlib
import re
import threading
from collections.abc import Callable, Iterator

import ckan.model as model
import pytest
import sqlalchemy as sa
from plugin_loading import install as install_quick_plugin_loading
from sharding import whole_files

# Plugins with database migrations of their own (ckan db init does not run them).
MIGRATED_PLUGINS = (
    "activity",
    "harvest",
    "udp_governance",
    "udp_sensors",
    "udp_sensorthings",
    "udp_api",
    "udp_transparency",
    "udp_klima",
)

REPO = pathlib.Path(__file__).resolve().parent.parent
# udp_dcatde's reference-data options default to folders of UDP_SHARED_DIR
# (scripts/stack.sh exports it; this covers pytest called directly)
os.environ.setdefault("UDP_SHARED_DIR", str((REPO.parent / "shared").resolve()))

# CKAN loads every plugin again for each test; tests/plugin_loading.py drops the three
# costs of that loading which the tests' many loadings make heavy
install_quick_plugin_loading()


def pytest_configure(config: pytest.Config) -> None:
    """The stack of the test ini, for what tests start with scripts/stack.sh's
    helpers (second CKAN, pycsw) and for the browser tests' files: ``make test`` sets
    UDP_STATE and UDP_PORT_OFFSET; a direct ``pytest --ckan-ini=.udp/shard2/test.ini``
    gets them from the ini that scripts/stack.sh generated in the stack's state folder."""
    ini = config.getoption("ckan_ini", default=None)
    if not ini:
        return
    path = (pathlib.Path(config.invocation_params.dir) / ini).resolve()
    if not (path.parent / "run").is_dir() or not path.is_file():
        return
    found = re.search(r"test\.ini moved to port offset (\d+)", path.read_text())
    if found:
        os.environ.setdefault("UDP_STATE", str(path.parent))
        os.environ.setdefault("UDP_PORT_OFFSET", found.group(1))


def _test_file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


_DESELECTED: list[list[pytest.Item]] = []  # the deselections reported, one list per report


def pytest_deselected(items: list[pytest.Item]) -> None:
    _DESELECTED.append(list(items))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Whole files per shard: ``make test`` runs the suite in shards (pytest-split,
    ``--splits N --group K``, scripts/stack.sh). Its default algorithm cuts the
    collected tests into consecutive chunks of about equal recorded duration, which
    may cut through a file (its module fixtures would then be built in two shards,
    and its later tests would run without its earlier ones). A file cut like that
    goes wholly to the shard that holds its first test. Every test still runs in
    exactly one shard, also a new file without recorded durations."""
    ordered = list(items)  # as collected: no hook here reorders
    calls = len(_DESELECTED)
    result = yield
    if not (getattr(config.option, "splits", None) and getattr(config.option, "group", None)):
        return result
    if getattr(config.option, "splitting_algorithm", "") != "duration_based_chunks":
        return result
    if not items:
        return result
    # pytest-split cut the collection itself only if nothing else deselected (-k, -m,
    # --deselect run before it): else its chunks are left as they are
    if len(_DESELECTED) != calls + 1 or len(items) + len(_DESELECTED[-1]) != len(ordered):
        return result
    position = {id(item): n for n, item in enumerate(ordered)}
    start, end = position[id(items[0])], position[id(items[-1])] + 1
    if end - start != len(items):  # not one consecutive chunk: leave it as it is
        return result
    start, end = whole_files([_test_file(item) for item in ordered], start, end)
    chosen = ordered[start:end]
    kept = {id(item) for item in chosen}
    dropped = [item for item in items if id(item) not in kept]
    added = {id(item) for item in chosen} - {id(item) for item in items}
    items[:] = chosen
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if added and reporter is not None:  # pytest-split reported them as deselected
        reporter.stats["deselected"] = [i for i in reporter.stats.get("deselected", []) if id(i) not in added]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    return result


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

    migrated: set[str] = set()

    def reset() -> None:
        # CKAN's first reset of a session drops every table, the later ones only empty
        # them: the plugins' migrations run after a drop only (each run costs ~0.1 s)
        if not model.repo.tables_created_and_initialised:
            migrated.clear()
        reset_db()
        for plugin in MIGRATED_PLUGINS:
            if plugin not in migrated:
                migrate_db_for(plugin)
                migrated.add(plugin)
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
        _site_user_now()

    return reset


def _site_user_now() -> None:
    """Create CKAN's site user right after the reset. Background workers of the browser
    tests (the live server's job worker) ask for it too, and ``get_site_user`` creates it
    when missing: two processes creating it at once fail one with a duplicate key (a
    fresh-clone run failed a test's setup so). The loser finds it made by the other."""
    import ckan.plugins.toolkit as tk

    for attempt in range(3):
        try:
            tk.get_action("get_site_user")({"ignore_auth": True}, {})
            return
        except sa.exc.IntegrityError:
            model.Session.rollback()
            if attempt == 2:
                raise


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
