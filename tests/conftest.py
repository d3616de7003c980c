"""Shared fixtures: real servers on free loopback ports, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import services


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
