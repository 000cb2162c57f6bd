from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "big: generates a large file once (the 50 MB CityJSON upload), timed")


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls run in a limited child process (``sandbox.run``), in order."""
    from ckanext.udp import sandbox

    calls: list[str] = []
    run = sandbox.run

    def counted(call: str, kwargs: dict[str, Any], limits: Any = None) -> Any:
        calls.append(call)
        return run(call, kwargs, limits)

    monkeypatch.setattr(sandbox, "run", counted)
    return calls
