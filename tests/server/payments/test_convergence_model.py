"""SPEC 3.1 on the merge rule itself: any delivery order of a payment's events gives the in-order state.

Events are real Stripe-shaped events, signed and read by the stripe connector's
webhook parser (the code the server runs); their effects are folded into a
payment with `convergence.merge` and the cumulative-refund rule of
`refunds.sync_in_tx` (whose store-backed version the end-to-end test drives).
"""

from __future__ import annotations

import time

import orjson
import payedge
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.gateways.base import GatewayResult
from payedge_server.gateways.stripe import StripeWebhooks
from payedge_server.payments.convergence import merge, refunded_status
from payedge_server.payments.model import Payment, PaymentStatus

from tests.support.lifecycles import Event, Intent, Lifecycle, deliveries, stripe_lifecycle

SECRET = "whsec_model"
PARSER = StripeWebhooks([SECRET])


def _fact(event: Event) -> GatewayResult | None:
    body = orjson.dumps({"id": event.id, "object": "event", "type": event.type, "created": event.created,
                         "livemode": False, "data": {"object": event.object}})  # fmt: skip
    header = payedge.sign_stripe(body, SECRET, int(time.time()))
    return PARSER.parse(body, {"Stripe-Signature": header}).effect


def _fold(p: Payment, fact: GatewayResult) -> Payment:
    merged = merge(p, fact, now_ms=0) or p
    if fact.amount_refunded is not None and merged.status.captured:
        refunded = max(merged.amount_refunded, min(fact.amount_refunded, merged.amount_captured))
        status = refunded_status(merged.amount_captured, refunded)
        merged = merged.replace(amount_refunded=refunded, status=status)
    return merged


def _payment(amount: int, currency: str) -> Payment:
    return Payment(
        "pay_" + "0" * 24, amount, currency, "stripe", PaymentStatus.REQUIRES_CONFIRMATION, 1, 0, 0
    )


def _numbered(life: Lifecycle) -> list[Event]:
    return [Event(e.type, e.created, e.object, f"evt_{i}") for i, e in enumerate(life.events)]


@st.composite
def _case(draw: st.DrawFn) -> tuple[Lifecycle, list[Event], int, str]:
    amount = draw(st.integers(1, 10**7))
    currency = draw(st.sampled_from(["eur", "jpy", "kwd"]))
    if currency == "kwd":
        amount *= 10  # Stripe's three-decimal currencies end in 0
    unit = 10 if currency == "kwd" else 1
    life = draw(stripe_lifecycle(Intent("pi_model", amount, currency.upper(), "pay_" + "0" * 24, unit)))
    order = draw(deliveries(_numbered(life)))
    return life, order, amount, currency


@settings(max_examples=400, deadline=None)
@given(_case())
def test_any_delivery_order_gives_the_in_order_state(case: tuple[Lifecycle, list[Event], int, str]) -> None:
    life, order, amount, currency = case
    facts_in_order = [_fact(e) for e in _numbered(life)]
    in_order = _payment(amount, currency.upper())
    for fact in facts_in_order:
        if fact is not None:
            in_order = _fold(in_order, fact)
    shuffled = _payment(amount, currency.upper())
    for event in order:
        fact = _fact(event)
        if fact is not None:
            shuffled = _fold(shuffled, fact)
    expected = life.expected
    assert (in_order.status.value, in_order.amount_captured, in_order.amount_refunded) == (
        expected.status,
        expected.captured,
        expected.refunded,
    )
    assert (shuffled.status, shuffled.amount_captured, shuffled.amount_refunded) == (
        in_order.status,
        in_order.amount_captured,
        in_order.amount_refunded,
    )


def test_a_failed_attempt_then_success_is_succeeded() -> None:
    """The reported fault: payment_failed (back to requires_payment_method), then succeeded."""
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1000, "currency": "eur"}
    error = {"code": "card_declined"}
    failed_pi = {**intent, "status": "requires_payment_method", "last_payment_error": error}
    failed = Event("payment_intent.payment_failed", 100, failed_pi, "evt_a")
    succeeded_pi = {**intent, "status": "succeeded", "amount_received": 1000}
    succeeded = Event("payment_intent.succeeded", 101, succeeded_pi, "evt_b")
    for order in ([failed, succeeded], [succeeded, failed]):
        p = _payment(1000, "EUR")
        for event in order:
            fact = _fact(event)
            assert fact is not None
            p = _fold(p, fact)
        assert (p.status, p.amount_captured, p.last_error) == (PaymentStatus.SUCCEEDED, 1000, None)
