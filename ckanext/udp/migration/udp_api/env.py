"""Alembic environment of the udp_api plugin (own version table)."""

from ckanext.udp.alembic_env import run

run(__file__)
