"""Every parking test that starts a server runs once per store (tests/support/stores.py)."""

from __future__ import annotations

import pytest

from tests.support import stores


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    stores.generate(metafunc)


@pytest.fixture(autouse=True, scope="module")
def _every_store(store_backend: str) -> str:
    return store_backend
