"""Fixtures of the udp_governance tests (defined in ``govworld.py``)."""

from govworld import call, world  # noqa: F401
