"""The transparency sync's outbox and its mapping of hub datasets to portal copies

Revision ID: 7c2d5e8a1f40
Revises:
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "7c2d5e8a1f40"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_transparency_outbox",
        # the order in which changes were committed
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False, server_default=sa.text("(now() at time zone 'utc')")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt", sa.DateTime, nullable=False,
                  server_default=sa.text("(now() at time zone 'utc')")),
        sa.Column("last_error", sa.UnicodeText),
    )
    op.create_index("udp_transparency_outbox_package", "udp_transparency_outbox", ["package_id", "seq"])
    op.create_table(
        "udp_transparency_mapping",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("portal_id", sa.UnicodeText, nullable=False),
        sa.Column("portal_name", sa.UnicodeText),
        # True from just before a push until the portal confirmed a removal:
        # a crash between the two leaves it True, so the removal is never skipped
        sa.Column("live", sa.Boolean, nullable=False, server_default=sa.false()),
        # sha256 of what was last pushed (the fields compared by the drift report)
        sa.Column("pushed_hash", sa.UnicodeText),
        sa.Column("pushed", sa.JSON),
        sa.Column("pushed_at", sa.DateTime),
    )


def downgrade():
    op.drop_table("udp_transparency_mapping")
    op.drop_table("udp_transparency_outbox")
