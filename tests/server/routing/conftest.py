"""`payedge fakes` for the routing tests (one process for the session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.support import running_fakes
from tests.server.gateways.support import FAKES_FLAGS


@pytest.fixture(scope="session")
def routing_fakes() -> Iterator[dict[str, str]]:
    with running_fakes(FAKES_FLAGS) as env:
        yield env
