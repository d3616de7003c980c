"""Starlette and FastAPI: a route endpoint and a FastAPI dependency (SPEC 10).

Starlette::

    Route("/webhooks/stripe", webhook_route(stripe_webhooks), methods=["POST"])

FastAPI (the dependency verifies, dedupes and dispatches; the path operation
returns its response, and may look at it first)::

    @app.post("/webhooks/stripe")
    async def stripe_webhook(reply: Response = Depends(webhook_dependency(stripe_webhooks))) -> Response:
        return reply

Coroutine handlers are awaited; plain functions run in the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from payedge.integrations._endpoint import E, Handler, WebhookEndpoint


def webhook_dependency(
    endpoint: WebhookEndpoint[E], fallback: Handler[E] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """A FastAPI dependency (and a Starlette endpoint): the response to send."""

    async def answer(request: Request) -> Response:
        body = await request.body()
        reply = await endpoint.handle_async(body, request.headers.get, fallback)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    return answer


webhook_route = webhook_dependency
"""The same callable, named for Starlette's `Route(path, endpoint)`."""
