"""Fixtures shared by all ckanext-udp tests.

Tests run against the real services that ``make test`` starts (PostgreSQL,
Solr core ``ckan_test``, Redis DB 1, Mosquitto); nothing is mocked.
"""
from __future__ import annotations

import os
import pathlib

import pytest
import sqlalchemy as sa

import ckan.model as model

# Plugins with database migrations of their own (ckan db init does not run them).
MIGRATED_PLUGINS = ("activity", "harvest", "udp_sensors")

REPO = pathlib.Path(__file__).resolve().parent.parent


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
                n for n in sa.inspect(conn).get_table_names()
                if n not in core and not n.endswith("alembic_version")
            ]
            if names:
                conn.execute(sa.text("TRUNCATE {} CASCADE".format(", ".join(f'"{n}"' for n in names))))

    return reset
