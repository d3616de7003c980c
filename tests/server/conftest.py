"""Fixtures: the REAL server process on a free port (temp data dir) and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.server.support import Server, running_server
from tests.support import stores


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    stores.generate(metafunc)


@pytest.fixture(autouse=True, scope="module")
def _every_store(store_backend: str) -> str:
    """Every test here runs once per store (tests/support/stores.py)."""
    return store_backend


@pytest.fixture(scope="module")
def server(store_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module (tests create their own payments, so they don't collide)."""
    with running_server(tmp_path_factory.mktemp("payedge") / "data") as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
