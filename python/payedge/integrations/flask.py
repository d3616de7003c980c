"""Flask: a view decorator (SPEC 10).

    @app.post("/webhooks/stripe")
    @webhook_view(stripe_webhooks)
    def stripe_webhook(event):
        ...   # events whose type has no handler of its own (may be empty)

The decorated function is the fallback handler; the decorator's view verifies,
dedupes, dispatches and answers. Handlers run in the request's thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Response, request

from payedge.integrations._endpoint import E, Handler, WebhookEndpoint


def webhook_view(endpoint: WebhookEndpoint[E]) -> Callable[[Handler[E]], Callable[[], Response]]:
    """Decorator: the view answering `endpoint`'s deliveries, with the decorated
    function as the handler of types that have none of their own."""

    def decorate(fallback: Handler[E]) -> Callable[[], Response]:
        @functools.wraps(fallback)
        def view() -> Response:
            reply = endpoint.handle(request.get_data(cache=False), request.headers.get, fallback)
            return Response(reply.body, status=reply.status, content_type=reply.content_type)

        return view

    return decorate
