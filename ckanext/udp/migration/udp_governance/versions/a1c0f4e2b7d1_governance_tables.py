"""udp_governance: workflow state, audit trail, reviewers, organization settings, pending edits

Revision ID: a1c0f4e2b7d1
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c0f4e2b7d1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_governance_dataset",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("state", sa.UnicodeText, nullable=False),
        sa.Column("access_class", sa.UnicodeText, nullable=False),
        sa.Column("submitted_by", sa.UnicodeText),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("last_editor", sa.UnicodeText),
        sa.Column("published_at", sa.DateTime),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("modified", sa.DateTime, nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'in_review', 'published', 'archived', 'withdrawn')",
            name="udp_governance_dataset_state_check",
        ),
        sa.CheckConstraint(
            "access_class IN ('open', 'internal', 'restricted')", name="udp_governance_dataset_access_class_check"
        ),
    )
    op.create_index("udp_governance_dataset_state_idx", "udp_governance_dataset", ["state"])

    op.create_table(
        "udp_governance_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.UnicodeText),
        sa.Column("actor_name", sa.UnicodeText),
        sa.Column("action", sa.UnicodeText, nullable=False),
        sa.Column("from_state", sa.UnicodeText),
        sa.Column("to_state", sa.UnicodeText),
        sa.Column("comment", sa.UnicodeText),
        sa.Column("details", sa.UnicodeText),
    )
    op.create_index("udp_governance_audit_package_idx", "udp_governance_audit", ["package_id", "created"])
    # The audit trail is append-only: no row can be changed or removed, not even
    # by code that bypasses the API (TRUNCATE by an operator stays possible).
    op.execute("""
        CREATE OR REPLACE FUNCTION udp_governance_audit_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'udp_governance_audit is append-only';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER udp_governance_audit_no_change
        BEFORE UPDATE OR DELETE ON udp_governance_audit
        FOR EACH ROW EXECUTE FUNCTION udp_governance_audit_append_only()
    """)

    op.create_table(
        "udp_governance_reviewer",
        sa.Column("organization_id", sa.UnicodeText, primary_key=True),
        sa.Column("user_id", sa.UnicodeText, primary_key=True),
        sa.Column("created", sa.DateTime, nullable=False),
    )
    op.create_table(
        "udp_governance_org_setting",
        sa.Column("organization_id", sa.UnicodeText, primary_key=True),
        sa.Column("four_eyes", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("modified", sa.DateTime, nullable=False),
    )
    op.create_table(
        "udp_governance_pending_edit",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        sa.Column("proposed", sa.UnicodeText, nullable=False),
        sa.Column("proposed_by", sa.UnicodeText, nullable=False),
        sa.Column("base_modified", sa.UnicodeText),
        sa.Column("created", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("udp_governance_pending_edit")
    op.drop_table("udp_governance_org_setting")
    op.drop_table("udp_governance_reviewer")
    op.execute("DROP TRIGGER IF EXISTS udp_governance_audit_no_change ON udp_governance_audit")
    op.execute("DROP FUNCTION IF EXISTS udp_governance_audit_append_only()")
    op.drop_table("udp_governance_audit")
    op.drop_table("udp_governance_dataset")
