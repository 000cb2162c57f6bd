"""Fixtures of the udp_security tests: the governance tests' organization
(``tests/governance/govworld.py``)."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Callable

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "governance"))

from govworld import World, act  # noqa: E402


@pytest.fixture
def world(with_plugins: None, clean_db: None, clean_index: None) -> World:
    return World()


@pytest.fixture
def call() -> Callable[..., Any]:
    return act
