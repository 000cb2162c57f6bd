"""Alembic environment of the udp_transparency plugin (own version table)."""

from ckanext.udp.alembic_env import run

run(__file__)
