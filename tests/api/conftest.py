"""Fixtures of the udp_api tests."""

from __future__ import annotations

import pytest
from apiworld import Stewards


@pytest.fixture
def stewards(with_plugins: None, clean_db: None, clean_index: None) -> Stewards:
    return Stewards()
