"""Webhook receivers for the web frameworks apps already use (SPEC 10).

One endpoint object per provider holds the secrets, the handlers by event type
and the events already handled::

    from payedge.integrations import StripeWebhooks

    stripe_webhooks = StripeWebhooks("whsec_...")

    @stripe_webhooks.on("payment_intent.succeeded")
    def paid(event):                      # a payedge.stripe_compat.Event
        mark_paid(event.data.object.metadata["order_id"])

and one helper per framework turns it into a route that verifies the
signature, drops duplicates, calls the handler for the event's type and
answers as the provider expects (see `_endpoint` for the statuses):

- aiohttp: `payedge.integrations.aiohttp.webhook_handler(endpoint)`
- Starlette / FastAPI: `payedge.integrations.starlette.webhook_route(endpoint)`
  and the FastAPI dependency `webhook_dependency(endpoint)`
- Django: the view decorator `payedge.integrations.django.webhook_view(endpoint)`
- Flask: the view decorator `payedge.integrations.flask.webhook_view(endpoint)`

The frameworks are optional: each helper module imports only its own.
docs/embedding.md has runnable examples.
"""

from __future__ import annotations

from payedge.integrations._endpoint import (
    Reply,
    SeenEvents,
    StandardEvent,
    StandardWebhooks,
    StripeWebhooks,
    WebhookEndpoint,
)

__all__ = ["Reply", "SeenEvents", "StandardEvent", "StandardWebhooks", "StripeWebhooks", "WebhookEndpoint"]
