"""aiohttp: a request handler for a webhook endpoint (SPEC 10).

    app.router.add_post("/webhooks/stripe", webhook_handler(stripe_webhooks))

Coroutine handlers are awaited; plain functions run in the event loop (keep
them quick). The body is read whole (aiohttp's `client_max_size` bounds it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from payedge.integrations._endpoint import E, Handler, WebhookEndpoint


def webhook_handler(
    endpoint: WebhookEndpoint[E], fallback: Handler[E] | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler that answers each delivery with `endpoint`'s reply;
    `fallback` handles event types with no handler of their own."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        reply = await endpoint.handle_async(body, request.headers.get, fallback)
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)

    return handle
