"""Series resources per dataset and the dead-letter table

Revision ID: 5a1c0e2b7d11
Revises:
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "5a1c0e2b7d11"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_sensor_series",
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("kind", sa.UnicodeText, nullable=False),
        sa.Column("resource_id", sa.UnicodeText, nullable=False),
        sa.PrimaryKeyConstraint("package_id", "kind"),
    )
    op.create_table(
        "udp_sensor_dead_letter",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.UnicodeText),
        sa.Column("topic", sa.UnicodeText),
        sa.Column("reason", sa.UnicodeText, nullable=False),
        sa.Column("detail", sa.UnicodeText),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("udp_sensor_dead_letter_received_at", "udp_sensor_dead_letter", ["received_at"])


def downgrade():
    op.drop_table("udp_sensor_dead_letter")
    op.drop_table("udp_sensor_series")
