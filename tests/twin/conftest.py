import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "big: generates a large file once (the 50 MB CityJSON upload), timed")
