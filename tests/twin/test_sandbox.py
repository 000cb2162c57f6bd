"""The limited child process that reads files from outside (``ckanext.udp.sandbox``):
each limit stops a child that exceeds it and says which; a child inherits no secrets
from the web process's environment; only ``ckanext.udp`` callables run."""

from __future__ import annotations

import pytest

from ckanext.udp import sandbox

EXERCISE = "ckanext.udp.sandbox:exercise"
TIGHT = sandbox.Limits(memory_mb=256, cpu_seconds=1, wall_seconds=60, output_bytes=1 << 20)


def test_an_answer_comes_back_as_json() -> None:
    assert sandbox.run(EXERCISE, {"what": "echo", "amount": 7}, TIGHT) == 7


@pytest.mark.parametrize(
    ("what", "amount", "reason", "detail"),
    [
        ("allocate", 2 << 30, "memory", "256 MB"),
        ("spin", 0, "time", "1 CPU seconds"),  # the CPU limit, long before the wall clock's 60 s
        ("flood", 4 << 20, "output", "1048576 bytes"),
    ],
    ids=["2 GB under 256 MB", "endless loop under 1 CPU second", "4 MB answer under 1 MB"],
)
def test_each_limit_stops_the_child_and_says_which(what: str, amount: int, reason: str, detail: str) -> None:
    with pytest.raises(sandbox.LimitExceeded) as stopped:
        sandbox.run(EXERCISE, {"what": what, "amount": amount}, TIGHT)
    assert stopped.value.reason == reason and detail in str(stopped.value), stopped.value


def test_a_sleeping_child_is_killed_at_the_wall_clock_limit() -> None:
    """CPU time does not run while a child waits: the wall clock stops it."""
    with pytest.raises(sandbox.LimitExceeded) as stopped:
        sandbox.run(EXERCISE, {"what": "sleep", "amount": 120}, sandbox.Limits(cpu_seconds=5, wall_seconds=2))
    assert stopped.value.reason == "time"


def test_the_child_inherits_no_secrets_and_runs_only_udp_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CKAN_INI", "/etc/ckan/geheim.ini")
    monkeypatch.setenv("CKAN_SQLALCHEMY_URL", "postgresql://ckan:geheim@db/ckan")
    names = sandbox.run(EXERCISE, {"what": "env"}, TIGHT)
    assert "PATH" in names and not {"CKAN_INI", "CKAN_SQLALCHEMY_URL"} & set(names)
    with pytest.raises(sandbox.LimitExceeded) as refused:
        sandbox.run("os:system", {"command": "true"}, TIGHT)
    assert refused.value.reason == "crashed"
