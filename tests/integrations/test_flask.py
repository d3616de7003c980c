"""payedge.integrations.flask through Flask's own test client (SPEC 10)."""

from __future__ import annotations

import json

from flask import Flask
from payedge.integrations import StandardEvent
from payedge.integrations.flask import webhook_view
from payedge.stripe_compat import Event

from tests.integrations.scenario import STEPS, check, make_endpoints, stripe_delivery


def test_delivery_story() -> None:
    endpoints = make_endpoints()
    app = Flask(__name__)

    @app.post("/stripe")
    @webhook_view(endpoints.stripe)
    def stripe_webhook(event: Event) -> None:
        endpoints.stripe_fallback(event)

    @app.post("/standard")
    @webhook_view(endpoints.standard)
    def standard_webhook(event: StandardEvent) -> None:
        endpoints.standard_fallback(event)

    client = app.test_client()
    for step in STEPS:
        delivery = step.delivery()
        before = len(endpoints.seen.calls)
        response = client.post(delivery.path, data=delivery.body, headers=dict(delivery.headers))
        check(step, response.status_code, response.data, response.content_type, endpoints.seen, before=before)
    assert client.get("/stripe").status_code == 405


def test_an_async_handler_in_a_sync_framework_is_a_500() -> None:
    endpoints = make_endpoints(async_handlers=True)
    app = Flask(__name__)

    @app.post("/stripe")
    @webhook_view(endpoints.stripe)
    def stripe_webhook(event: Event) -> None:
        raise AssertionError("not reached")

    delivery = stripe_delivery("evt_9", "payment_intent.succeeded")
    response = app.test_client().post("/stripe", data=delivery.body, headers=dict(delivery.headers))
    assert response.status_code == 500
    assert json.loads(response.data)["error"]["code"] == "handler_failed"
    # not marked handled: a retry (after the fix) runs it
    assert not endpoints.stripe.deduper.contains("evt_9")
