"""Realistic Stripe webhook bodies for signature tests and benchmarks."""

from __future__ import annotations

import json
from typing import Any

SECRET = "whsec_5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d"


def payment_intent_event(
    *,
    event_id: str = "evt_3PqRsTuVwXyZ0123abcdEFGH",
    created: int = 1_763_700_000,
    amount: int = 2_000,
    currency: str = "eur",
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A `payment_intent.succeeded` event shaped like the ones Stripe sends."""
    pi_id = "pi_3PqRsTuVwXyZ0123abcd4567"
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {
            "object": {
                "id": pi_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "client_secret": pi_id + "_secret_Zq9wXy8vUt7sRq6pOn5m",
                "created": created - 3,
                "currency": currency,
                "customer": "cus_QwErTyUiOp1234",
                "description": "Parking session P-0042, Lot B",
                "latest_charge": "ch_3PqRsTuVwXyZ0123abcd8901",
                "livemode": False,
                "metadata": metadata if metadata is not None else {"order_id": "ord_8812", "site": "lot-b"},
                "payment_method": "pm_1PqRsTuVwXyZ0123abcdPM00",
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Ab12Cd34Ef56Gh", "idempotency_key": "b7c1e0a4-5f2d-4c3b-9a8e-1d2c3b4a5f6e"},
        "type": "payment_intent.succeeded",
    }


def payload_of(event: dict[str, Any]) -> bytes:
    """Serialise like Stripe does: pretty-printed JSON, about 1 KB for the event above."""
    return json.dumps(event, indent=2).encode()


ONE_KB_EVENT = payload_of(payment_intent_event())
