"""Fixtures of the udp_security tests: the governance tests' organization
(``tests/governance/govworld.py``)."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "governance"))

from govworld import call, world  # noqa: E402,F401
