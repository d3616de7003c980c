"""payedge.integrations.starlette through Starlette's and FastAPI's own test clients (SPEC 10)."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient as FastAPIClient
from payedge.integrations.starlette import webhook_dependency, webhook_route
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.integrations.scenario import STEPS, Endpoints, check, make_endpoints


def play(client: TestClient, endpoints: Endpoints) -> None:
    for step in STEPS:
        delivery = step.delivery()
        before = len(endpoints.seen.calls)
        response = client.post(delivery.path, content=delivery.body, headers=dict(delivery.headers))
        content_type = response.headers["content-type"]
        check(step, response.status_code, response.content, content_type, endpoints.seen, before=before)


@pytest.mark.parametrize("async_handlers", [False, True])
def test_starlette_route(async_handlers: bool) -> None:
    endpoints = make_endpoints(async_handlers)
    app = Starlette(
        routes=[
            Route("/stripe", webhook_route(endpoints.stripe, endpoints.stripe_fallback), methods=["POST"]),
            Route(
                "/standard", webhook_route(endpoints.standard, endpoints.standard_fallback), methods=["POST"]
            ),
        ]
    )
    with TestClient(app) as client:
        play(client, endpoints)
        assert client.get("/stripe").status_code == 405


@pytest.mark.parametrize("async_handlers", [False, True])
def test_fastapi_dependency(async_handlers: bool) -> None:
    endpoints = make_endpoints(async_handlers)
    app = FastAPI()
    stripe_reply = webhook_dependency(endpoints.stripe, endpoints.stripe_fallback)
    standard_reply = webhook_dependency(endpoints.standard, endpoints.standard_fallback)

    @app.post("/stripe")
    async def stripe_webhook(reply: Response = Depends(stripe_reply)) -> Response:  # noqa: B008
        return reply

    @app.post("/standard")
    async def standard_webhook(reply: Response = Depends(standard_reply)) -> Response:  # noqa: B008
        return reply

    with FastAPIClient(app) as client:
        play(client, endpoints)
