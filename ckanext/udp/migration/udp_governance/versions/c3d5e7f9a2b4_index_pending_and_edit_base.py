"""udp_governance: index markers of transitions (repair after a Solr failure), the base of pending edits

Revision ID: c3d5e7f9a2b4
Revises: a1c0f4e2b7d1
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "c3d5e7f9a2b4"
down_revision = "a1c0f4e2b7d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_governance_index_pending",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("token", sa.UnicodeText, nullable=False),
        sa.Column("marked_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.UnicodeText),
    )
    op.add_column("udp_governance_pending_edit", sa.Column("base", sa.UnicodeText))


def downgrade():
    op.drop_column("udp_governance_pending_edit", "base")
    op.drop_table("udp_governance_index_pending")
