"""Fixtures of the harvester tests: real local sources (``tests/localsources``)."""
from __future__ import annotations

import pathlib
import sys
from typing import Iterator

import pytest

from ckan.tests import factories

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from localsources.site import Site  # noqa: E402


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def org() -> dict:
    return factories.Organization()
