"""A `payedge serve` with a catalog (config file) for the orders tests; an HTTP client with the API key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.server.support import API_KEY, Server, running_server

CATALOG = """
[[catalog.products]]
id = "basic"
name = "Consultation basique"
prices = { EUR = 2900, XOF = 19000 }

[[catalog.products]]
id = "vip"
name = "Consultation VIP"
prices = { EUR = 14900 }

[[catalog.products]]
id = "retired"
name = "Old offer"
prices = { EUR = 100 }
active = false
"""


@pytest.fixture(scope="module")
def shop(store_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("orders")
    (work / "payedge.toml").write_text(CATALOG)
    with running_server(work / "data", "--config", str(work / "payedge.toml")) as srv:
        yield srv


@pytest.fixture
async def api(shop: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(shop.url, headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        yield session


@pytest.fixture
async def anonymous(shop: Server) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser: no API key."""
    async with aiohttp.ClientSession(shop.url) as session:
        yield session


async def call(
    session: aiohttp.ClientSession, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    async with session.request(method, path, json=body, headers=headers or None) as resp:
        return resp.status, await resp.json(content_type=None)


def order_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "items": [{"product_id": "basic", "quantity": 2}, {"product_id": "vip", "quantity": 1}],
        "currency": "EUR",
        "customer": {"email": "ada@example.com", "name": "Ada"},
    }
    body.update(changes)
    return body
