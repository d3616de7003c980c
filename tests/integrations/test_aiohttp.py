"""payedge.integrations.aiohttp through aiohttp's own test client (SPEC 10)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from payedge.integrations.aiohttp import webhook_handler

from tests.integrations.scenario import STEPS, check, make_endpoints

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.mark.parametrize("async_handlers", [False, True])
async def test_delivery_story(aiohttp_client: AiohttpClient, async_handlers: bool) -> None:
    endpoints = make_endpoints(async_handlers)
    app = web.Application()
    app.router.add_post("/stripe", webhook_handler(endpoints.stripe, endpoints.stripe_fallback))
    app.router.add_post("/standard", webhook_handler(endpoints.standard, endpoints.standard_fallback))
    client = await aiohttp_client(app)
    for step in STEPS:
        delivery = step.delivery()
        before = len(endpoints.seen.calls)
        response = await client.post(delivery.path, data=delivery.body, headers=dict(delivery.headers))
        check(
            step, response.status, await response.read(), response.content_type, endpoints.seen, before=before
        )
