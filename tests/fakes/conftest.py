"""One `payedge fakes` process for the session (a real subprocess on free ports), reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.fakes.support import Fakes, Receiver, receiver, running_fakes

#: Short hangs keep the timeout tests quick; clients use a 0.5 s timeout against them.
FAKES_FLAGS = ("--hang-seconds", "3", "--momo-ongoing-seconds", "1", "--callback-attempts", "3")


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    with running_fakes(FAKES_FLAGS) as env:
        yield Fakes(env)


@pytest.fixture
async def http(fakes: Fakes) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session; every fake is reset first so each test starts from nothing."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for base in fakes.all_bases():
            async with session.post(f"{base}/_fake/reset") as response:
                assert response.status == 200
        yield session


@pytest.fixture
async def listener(fakes: Fakes, http: aiohttp.ClientSession) -> AsyncIterator[Receiver]:
    """A callback receiver, also registered as PayPal's webhook listener."""
    async with receiver() as recv:
        async with http.post(f"{fakes.paypal}/_fake/callback-url", json={"url": recv.url + "/paypal"}) as r:
            assert r.status == 200
        yield recv
