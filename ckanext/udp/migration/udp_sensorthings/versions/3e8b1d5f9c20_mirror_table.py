"""Which resource mirrors which Datastream (udp_sensorthings' own table)

Mirrors recorded by earlier versions in udp_sensors' table (rows of kind
``sta:<Datastream id>`` in ``udp_sensor_series``) are copied over, if that table
exists; udp_sensorthings reads and writes only its own table from then on.

Revision ID: 3e8b1d5f9c20
Revises:
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "3e8b1d5f9c20"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_sta_mirror",
        sa.Column("package_id", sa.UnicodeText, nullable=False),
        sa.Column("datastream", sa.UnicodeText, nullable=False),
        sa.Column("resource_id", sa.UnicodeText, nullable=False),
        sa.PrimaryKeyConstraint("package_id", "datastream"),
    )
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT to_regclass('udp_sensor_series')")).scalar() is not None:
        conn.execute(sa.text(
            "INSERT INTO udp_sta_mirror (package_id, datastream, resource_id) "
            "SELECT package_id, substr(kind, 5), resource_id FROM udp_sensor_series WHERE kind LIKE 'sta:%' "
            "ON CONFLICT DO NOTHING"))


def downgrade():
    op.drop_table("udp_sta_mirror")
