"""Django: a view decorator (SPEC 10).

    @csrf_exempt
    @webhook_view(stripe_webhooks)
    def stripe_webhook(request, event):
        ...   # events whose type has no handler of its own (may be empty)

    urlpatterns = [path("webhooks/stripe", stripe_webhook)]

The decorated function is the fallback handler and gets the request too; the
decorator's view accepts POST only (405 otherwise), verifies, dedupes,
dispatches and answers. Providers post without a CSRF token: exempt the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from payedge.integrations._endpoint import E, WebhookEndpoint

DjangoHandler = Callable[[HttpRequest, Any], object]


def webhook_view(
    endpoint: WebhookEndpoint[E],
) -> Callable[[DjangoHandler], Callable[[HttpRequest], HttpResponse]]:
    """Decorator: the view answering `endpoint`'s deliveries, with the decorated
    `(request, event)` function as the handler of types that have none of their own."""

    def decorate(fallback: DjangoHandler) -> Callable[[HttpRequest], HttpResponse]:
        @functools.wraps(fallback)
        def view(request: HttpRequest) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            reply = endpoint.handle(request.body, request.headers.get, lambda event: fallback(request, event))
            return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)

        return view

    return decorate
