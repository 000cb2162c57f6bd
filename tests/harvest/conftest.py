"""Fixtures of the harvester tests: real local sources (``tests/localsources``)."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
from ckan.tests import factories

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from localsources import pycsw as pycsw_server  # noqa: E402
from localsources import second_ckan as second  # noqa: E402
from localsources.site import Site  # noqa: E402


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def org() -> dict:
    return factories.Organization()


@pytest.fixture(scope="session")
def second_ckan_server() -> second.SecondCkan:
    """A second stock CKAN 2.12 (started once per session, left running for the next)."""
    return second.start()


@pytest.fixture
def second_ckan(second_ckan_server: second.SecondCkan) -> second.SecondCkan:
    """The second CKAN, emptied."""
    second_ckan_server.reset()
    return second_ckan_server


@pytest.fixture(scope="session")
def pycsw() -> str:
    """The CSW endpoint of pycsw with the five GDI-DE records (started once per session)."""
    return pycsw_server.start()
