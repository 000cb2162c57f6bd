"""The Klimadashboard's tiles

Revision ID: 3b7e1f0c9a21
Revises:
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "3b7e1f0c9a21"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_klima_tile",
        sa.Column("id", sa.UnicodeText, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.UnicodeText, nullable=False),
        sa.Column("kind", sa.UnicodeText, nullable=False),
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("resource_id", sa.UnicodeText, nullable=False),
        sa.Column("value_column", sa.UnicodeText),
        sa.Column("time_column", sa.UnicodeText),
        sa.Column("aggregation", sa.UnicodeText),
        sa.Column("unit", sa.UnicodeText, nullable=False, server_default=""),
        sa.Column("bands", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("udp_klima_tile_position", "udp_klima_tile", ["position"])


def downgrade():
    op.drop_table("udp_klima_tile")
