"""One delivery story every framework helper must tell the same way (SPEC 10).

Each framework's test builds an app with `make_endpoints()` at `/stripe` and
`/standard` (the fallback handler given the framework's way), then plays
`STEPS` through that framework's own test client and checks each answer and
what the handlers saw. Stripe and Standard Webhooks both count a 2xx as
delivered and retry anything else; a bad signature is a 400.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import payedge
from payedge.integrations import StandardEvent, StandardWebhooks, StripeWebhooks
from payedge.stripe_compat import Event

from tests.support.stripe_events import payment_intent_event

STRIPE_SECRET = "whsec_integration_stripe_0123456789"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"integration-standard-secret-32b!").decode()
OTHER_STANDARD_SECRET = "whsec_" + base64.b64encode(b"another-standard-secret-32bytes!").decode()


@dataclass
class Seen:
    """What the handlers were called with, in order."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    failed_once: set[str] = field(default_factory=set)

    def record(self, who: str, key: str) -> None:
        self.calls.append((who, key))


@dataclass(frozen=True)
class Endpoints:
    stripe: StripeWebhooks
    standard: StandardWebhooks
    seen: Seen

    def stripe_fallback(self, event: Event) -> None:
        self.seen.record("stripe-other", str(event.type))

    def standard_fallback(self, event: StandardEvent) -> None:
        self.seen.record("standard-other", event.type)


def make_endpoints(async_handlers: bool = False) -> Endpoints:
    """Both endpoints with recording handlers (coroutines when `async_handlers`)."""
    seen = Seen()
    stripe_webhooks = StripeWebhooks(["whsec_rotated_out", STRIPE_SECRET])
    standard_webhooks = StandardWebhooks(STANDARD_SECRET)

    def paid(event: Event) -> None:
        seen.record("stripe-paid", f"{event.id}:{event.data.object.amount}")

    def flaky(event: Event) -> None:
        if event.id not in seen.failed_once:
            seen.failed_once.add(event.id)
            raise RuntimeError("database unavailable")
        seen.record("stripe-flaky", event.id)

    def standard_paid(event: StandardEvent) -> None:
        seen.record("standard-paid", f"{event.id}:{event.data['amount']}")

    async def paid_async(event: Event) -> None:
        paid(event)

    async def standard_paid_async(event: StandardEvent) -> None:
        standard_paid(event)

    stripe_webhooks.on("payment_intent.succeeded")(paid_async if async_handlers else paid)
    stripe_webhooks.on("charge.failed_once")(flaky)
    standard_webhooks.on("payment.succeeded")(standard_paid_async if async_handlers else standard_paid)
    return Endpoints(stripe_webhooks, standard_webhooks, seen)


# ------------------------------------------------------------------ deliveries


@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    headers: Mapping[str, str]


def stripe_delivery(
    event_id: str, event_type: str, *, secret: str = STRIPE_SECRET, body: bytes | None = None
) -> Delivery:
    if body is None:
        document = payment_intent_event(event_id=event_id, amount=4200)
        document["type"] = event_type
        body = json.dumps(document, indent=2).encode()
    header = payedge.sign_stripe(body, secret, int(time.time()))
    return Delivery("/stripe", body, {"Stripe-Signature": header, "Content-Type": "application/json"})


def standard_delivery(msg_id: str, event_type: str, *, secret: str = STANDARD_SECRET) -> Delivery:
    body = json.dumps(
        {"type": event_type, "timestamp": "2026-11-21T10:00:00Z", "data": {"amount": 700}}
    ).encode()
    ts = int(time.time())
    return Delivery(
        "/standard",
        body,
        {
            "Webhook-Id": msg_id,
            "Webhook-Timestamp": str(ts),
            "Webhook-Signature": payedge.sign_standard(msg_id, ts, body, secret),
            "Content-Type": "application/json",
        },
    )


@dataclass(frozen=True)
class Step:
    what: str
    delivery: Callable[[], Delivery]
    status: int
    body: Mapping[str, Any]  # expected keys of the JSON answer (error: its code)
    calls: list[tuple[str, str]]  # handler calls this step adds


def error(code: str) -> dict[str, Any]:
    return {"error": code}


RECEIVED = {"received": True, "duplicate": False}
DUPLICATE = {"received": True, "duplicate": True}

PAID, FLAKY = "payment_intent.succeeded", "charge.failed_once"

STEPS = [
    Step("stripe event", lambda: stripe_delivery("evt_1", PAID), 200, RECEIVED,
         [("stripe-paid", "evt_1:4200")]),
    Step("stripe retry of it", lambda: stripe_delivery("evt_1", PAID), 200, DUPLICATE, []),
    Step("stripe bad signature", lambda: stripe_delivery("evt_2", PAID, secret="whsec_x"), 400,
         error("signature_mismatch"), []),
    Step("stripe no header", lambda: Delivery("/stripe", b"{}", {}), 400, error("missing_header"), []),
    Step("stripe signed, not JSON", lambda: stripe_delivery("-", "-", body=b"{oops"), 400,
         error("invalid_payload"), []),
    Step("stripe handler fails", lambda: stripe_delivery("evt_3", FLAKY), 500, error("handler_failed"), []),
    Step("stripe retry succeeds", lambda: stripe_delivery("evt_3", FLAKY), 200, RECEIVED,
         [("stripe-flaky", "evt_3")]),
    Step("stripe type with no handler", lambda: stripe_delivery("evt_4", "customer.created"), 200, RECEIVED,
         [("stripe-other", "customer.created")]),
    Step("standard event", lambda: standard_delivery("msg_1", "payment.succeeded"), 200, RECEIVED,
         [("standard-paid", "msg_1:700")]),
    Step("standard retry of it", lambda: standard_delivery("msg_1", "payment.succeeded"), 200, DUPLICATE, []),
    Step("standard bad signature",
         lambda: standard_delivery("msg_2", "payment.succeeded", secret=OTHER_STANDARD_SECRET), 400,
         error("signature_mismatch"), []),
    Step("standard other type", lambda: standard_delivery("msg_3", "payment.refunded"), 200, RECEIVED,
         [("standard-other", "payment.refunded")]),
]  # fmt: skip


def check(step: Step, status: int, body: bytes, content_type: str, seen: Seen, *, before: int) -> None:
    """One answer against its step (`before`: how many handler calls preceded it)."""
    assert status == step.status, (step.what, status, body)
    assert content_type.startswith("application/json"), (step.what, content_type)
    answer = json.loads(body)
    for key, value in step.body.items():
        if key == "error":
            assert answer["error"]["code"] == value, (step.what, answer)
            assert answer["error"]["message"]
        else:
            assert answer[key] == value, (step.what, answer)
    assert seen.calls[before:] == step.calls, (step.what, seen.calls)
