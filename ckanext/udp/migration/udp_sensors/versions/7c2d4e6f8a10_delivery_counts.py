"""Delivery counts of redelivered MQTT messages (poison messages end a crash loop)

A message the broker delivers again (DUP flag) is counted here, keyed by a
hash of topic and payload, before the consumer tries it; after
``ckanext.udp.sensors.max_deliveries`` it becomes a dead letter instead of
being tried again. The count survives restarts, so a message that kills the
consumer cannot keep it in a crash loop.

Revision ID: 7c2d4e6f8a10
Revises: 5a1c0e2b7d11
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "7c2d4e6f8a10"
down_revision = "5a1c0e2b7d11"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "udp_sensor_delivery",
        sa.Column("message_key", sa.LargeBinary, primary_key=True),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("udp_sensor_delivery_last_seen", "udp_sensor_delivery", ["last_seen"])


def downgrade():
    op.drop_table("udp_sensor_delivery")
