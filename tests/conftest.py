"""Shared fixtures: real servers on free loopback ports, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import services, stores


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with services.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def mosquitto_port() -> Iterator[int]:
    with services.mosquitto() as port:
        yield port


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with services.localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def store_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store this module's servers use (parametrised by tests/support/stores.py)."""
    name = getattr(request, "param", "sqlite")
    with stores.using(name):
        yield name


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stores.stop_shared()
