"""Fixtures of the udp_governance tests."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from govworld import World, act


@pytest.fixture
def world(with_plugins: None, clean_db: None, clean_index: None) -> World:
    return World()


@pytest.fixture
def call() -> Callable[..., Any]:
    return act
