"""The change feed's log: one row per dataset, moved to the end on every change

Revision ID: 3b9e1f4a6c20
Revises:
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "3b9e1f4a6c20"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_api_change",
        sa.Column("package_id", sa.UnicodeText, primary_key=True),
        # position in the feed: the latest change of this dataset
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("changed", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # was the dataset ever in public view? Only then may a tombstone name it.
        sa.Column("was_public", sa.Boolean, nullable=False, server_default=sa.false()),
        # public at its last change, and the position where it (last) entered public view
        sa.Column("public_now", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("public_since", sa.BigInteger),
    )
    # owned by the column: dropped with the table
    op.execute("DROP SEQUENCE IF EXISTS udp_api_change_seq")
    op.execute("CREATE SEQUENCE udp_api_change_seq OWNED BY udp_api_change.seq")
    # datasets that exist already: public in CKAN's sense (active, not private;
    # the governance plugin keeps ``private`` equal to "not published+open"),
    # in creation order; later writes and index rebuilds correct the rest
    op.execute("""
        INSERT INTO udp_api_change (package_id, seq, was_public, public_now, public_since)
        SELECT id, nextval('udp_api_change_seq'), true, true, NULL
        FROM (SELECT id FROM package WHERE state = 'active' AND NOT private
              ORDER BY metadata_created, id) AS existing
    """)
    op.execute("UPDATE udp_api_change SET public_since = seq")


def downgrade():
    op.drop_table("udp_api_change")
