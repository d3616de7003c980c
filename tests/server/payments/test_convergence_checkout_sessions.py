"""SPEC 8 + 3.1: Stripe Checkout Sessions' events converge with the PaymentIntent's, in any order.

A payment taken through Stripe Checkout sends both the Checkout Session's events
(`checkout.session.completed`, `...async_payment_succeeded|failed`) and the
PaymentIntent's own. Read by the stripe connector's parser (the server's code) and
folded with `convergence.merge`, every delivery order, duplicates included, ends in
the state the history implies, as in order.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import payedge
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.gateways.base import GatewayResult, InboundEvent
from payedge_server.gateways.stripe import StripeWebhooks
from payedge_server.payments.convergence import merge, refunded_status
from payedge_server.payments.model import Payment, PaymentStatus

from tests.support.lifecycles import Event, Expected, deliveries

pytestmark = pytest.mark.sqlite_only  # no store: the parser and the merge rule alone

SECRET = "whsec_sessions"
PARSER = StripeWebhooks([SECRET])
PAYMENT_ID = "pay_" + "1" * 24
PI = "pi_session"


def _inbound(event: Event) -> InboundEvent:
    body = orjson.dumps({"id": event.id, "object": "event", "type": event.type, "created": event.created,
                         "livemode": False, "data": {"object": event.object}})  # fmt: skip
    header = payedge.sign_stripe(body, SECRET, int(time.time()))
    return PARSER.parse(body, {"Stripe-Signature": header})


def _fold(p: Payment, fact: GatewayResult) -> Payment:
    merged = merge(p, fact, now_ms=0) or p
    if fact.amount_refunded is not None and merged.status.captured:
        refunded = max(merged.amount_refunded, min(fact.amount_refunded, merged.amount_captured))
        merged = merged.replace(
            amount_refunded=refunded, status=refunded_status(merged.amount_captured, refunded)
        )
    return merged


def _session(amount: int, paid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": paid,
        "payment_intent": PI,
        "client_reference_id": PAYMENT_ID,
        "amount_total": amount,
        "currency": "eur",
        "metadata": {},
        **extra,
    }


def _intent(amount: int, status: str, **extra: Any) -> dict[str, Any]:
    obj = {"id": PI, "object": "payment_intent", "amount": amount, "currency": "eur", "status": status}
    return {**obj, "metadata": {}, **extra}


@st.composite
def _history(draw: st.DrawFn) -> tuple[list[Event], Expected, int]:
    """A Checkout Session's payment: by card (paid at completion), or delayed (SEPA-like) that later
    succeeds or fails; then maybe refunds."""
    amount = draw(st.integers(1, 10**6))
    t = 1_700_000_000 + draw(st.integers(0, 10**6))
    kind = draw(st.sampled_from(["card", "delayed_ok", "delayed_failed"]))
    events: list[Event] = []
    if kind == "card":
        events.append(
            Event("payment_intent.succeeded", t + 1, _intent(amount, "succeeded", amount_received=amount))
        )
        events.append(
            Event("checkout.session.completed", t + draw(st.integers(1, 2)), _session(amount, "paid"))
        )
    else:
        events.append(Event("checkout.session.completed", t + 1, _session(amount, "unpaid")))
        events.append(Event("payment_intent.processing", t + 1, _intent(amount, "processing")))
        if kind == "delayed_failed":
            error = {"code": "payment_intent_payment_attempt_failed", "decline_code": "insufficient_funds"}
            failed = _intent(amount, "requires_payment_method", last_payment_error=error)
            events.append(Event("payment_intent.payment_failed", t + 3, failed))
            events.append(Event("checkout.session.async_payment_failed", t + 3, _session(amount, "unpaid")))
            return _numbered(events), Expected("requires_payment_method", 0, 0), amount
        events.append(Event("checkout.session.async_payment_succeeded", t + 3, _session(amount, "paid")))
        events.append(
            Event("payment_intent.succeeded", t + 3, _intent(amount, "succeeded", amount_received=amount))
        )
    refunded = 0
    if draw(st.booleans()) and amount > 1:
        refunded = draw(st.integers(1, amount))
        charge = {"id": "ch_1", "object": "charge", "payment_intent": PI, "amount": amount,
                  "amount_captured": amount, "amount_refunded": refunded, "currency": "eur",
                  "captured": True}  # fmt: skip
        events.append(Event("charge.refunded", t + 5, charge))
    status = "succeeded" if not refunded else ("refunded" if refunded == amount else "partially_refunded")
    return _numbered(events), Expected(status, amount, refunded), amount


def _numbered(events: list[Event]) -> list[Event]:
    return [Event(e.type, e.created, e.object, f"evt_{i}") for i, e in enumerate(events)]


def _payment(amount: int) -> Payment:
    return Payment(PAYMENT_ID, amount, "EUR", "stripe", PaymentStatus.REQUIRES_PAYMENT_METHOD, 1, 0, 0)


def _state(events: list[Event], amount: int) -> Payment:
    p = _payment(amount)
    for event in events:
        fact = _inbound(event).effect
        if fact is not None:
            p = _fold(p, fact)
    return p


@settings(max_examples=300, deadline=None)
@given(history=_history(), data=st.data())
def test_session_and_intent_events_converge_in_any_order(
    history: tuple[list[Event], Expected, int], data: st.DataObject
) -> None:
    events, expected, amount = history
    in_order = _state(events, amount)
    assert (in_order.status.value, in_order.amount_captured, in_order.amount_refunded) == (
        expected.status,
        expected.captured,
        expected.refunded,
    )
    shuffled = _state(data.draw(deliveries(events)), amount)
    assert (shuffled.status, shuffled.amount_captured, shuffled.amount_refunded) == (
        in_order.status,
        in_order.amount_captured,
        in_order.amount_refunded,
    )
    assert shuffled.gateway_ref == PI


def test_a_session_names_its_payment_by_intent_then_metadata_then_client_reference() -> None:
    completed = Event("checkout.session.completed", 100, _session(900, "paid"), "evt_a")
    found = _inbound(completed)
    assert (found.object_ref, found.payment_hint) == (PI, PAYMENT_ID)
    assert found.effect is not None and found.effect.amount_captured == 900
    meta = _session(
        900, "paid", payment_intent={"id": "pi_expanded"}, metadata={"payedge_payment_id": "pay_" + "2" * 24}
    )
    found = _inbound(Event("checkout.session.completed", 100, meta, "evt_b"))
    assert (found.object_ref, found.payment_hint) == ("pi_expanded", "pay_" + "2" * 24)
    bare = _session(900, "paid", payment_intent=None, client_reference_id="order-42")
    found = _inbound(Event("checkout.session.completed", 100, bare, "evt_c"))
    assert (found.object_ref, found.payment_hint) == (None, None)  # nothing names a payedge payment
    odd = _inbound(Event("checkout.session.completed", 100, _session(900, "weird"), "evt_d"))
    assert odd.effect is None and odd.problem is not None  # recorded and flagged, never applied half-read
    expired = _inbound(Event("checkout.session.expired", 100, _session(900, "unpaid"), "evt_e"))
    assert expired.effect is None and expired.problem is None  # a type payedge does not act on


def test_a_failed_delayed_payment_says_why_to_the_customer() -> None:
    failed = _inbound(Event("checkout.session.async_payment_failed", 100, _session(900, "unpaid"), "evt_f"))
    assert failed.effect is not None and failed.effect.error is not None
    p = _fold(_payment(900), failed.effect)
    view = p.view()
    assert view["status"] == "requires_payment_method"
    assert view["last_error"]["customer_message"].startswith("The payment could not be completed")
