"""The one Alembic environment of every plugin's migrations.

Each plugin keeps its migrations in ``ckanext/udp/migration/<plugin>/`` with a
version table of its own (``<plugin>_alembic_version``), so plugins can be
enabled, upgraded and downgraded alone. Their ``env.py`` only calls :func:`run`.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool


def run(env_file: str) -> None:
    """Run the migrations of the plugin whose ``env.py`` is ``env_file``."""
    config = context.config
    if config.config_file_name:
        fileConfig(config.config_file_name)
    version_table = f"{os.path.basename(os.path.dirname(os.path.abspath(env_file)))}_alembic_version"
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
