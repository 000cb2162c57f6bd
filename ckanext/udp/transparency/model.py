"""Tables of udp_transparency (created by its alembic migration in
``ckanext/udp/migration/udp_transparency``), as Core tables on a MetaData of
their own: ``ckan db init`` does not create them and CKAN's ORM flush never
sees them, so writing the outbox from a flush hook cannot recurse."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

metadata = sa.MetaData()

outbox = sa.Table(
    "udp_transparency_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("package_id", sa.UnicodeText, nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.UnicodeText),
)

mapping = sa.Table(
    "udp_transparency_mapping",
    metadata,
    sa.Column("package_id", sa.UnicodeText, primary_key=True),
    sa.Column("portal_id", sa.UnicodeText, nullable=False),
    sa.Column("portal_name", sa.UnicodeText),
    sa.Column("live", sa.Boolean, nullable=False),
    sa.Column("pushed_hash", sa.UnicodeText),
    sa.Column("pushed", sa.JSON),
    sa.Column("pushed_at", sa.DateTime),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
