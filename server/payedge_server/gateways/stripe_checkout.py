"""Stripe Checkout Sessions' events (SPEC 8, seed 001), read into the state they report.

A merchant may take a payedge payment through Stripe Checkout (Stripe's hosted page)
instead of a PaymentIntent confirmed through payedge. Its events name a Checkout
Session (`cs_...`), not the payment; payedge finds the payment by, in this order:

1. the session's `payment_intent` (an id, or the expanded object's `id`): the
   payment's `gateway_ref` when payedge created the PaymentIntent, or the one the
   payment takes from this event;
2. the payedge payment id the session echoes: `metadata.payedge_payment_id`, else
   `client_reference_id` when it is a payment id (`pay_` + 24 hex digits).

What each event says, converging with the PaymentIntent's own events (SPEC 3.1: same
statuses, same provider time `created`):

- `checkout.session.completed` with `payment_status` `paid` (or `no_payment_required`):
  succeeded, `amount_total` captured; with `unpaid` (a delayed method, e.g. SEPA):
  processing;
- `checkout.session.async_payment_succeeded`: succeeded, `amount_total` captured;
- `checkout.session.async_payment_failed`: the attempt failed, the PaymentIntent is
  back to `requires_payment_method` (as `payment_intent.payment_failed` says).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from payedge_server.gateways.base import GatewayResult, InboundEvent
from payedge_server.payments.model import LastError, PaymentStatus
from payedge_server.payments.validation import PAYMENT_ID

COMPLETED: Final = "checkout.session.completed"
ASYNC_SUCCEEDED: Final = "checkout.session.async_payment_succeeded"
ASYNC_FAILED: Final = "checkout.session.async_payment_failed"
SESSION_EVENTS: Final = frozenset({COMPLETED, ASYNC_SUCCEEDED, ASYNC_FAILED})


def _session(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    obj = (
        data.get("data", {}).get("object")
        if isinstance(data, dict) and isinstance(data.get("data"), dict)
        else None
    )
    return obj if isinstance(obj, dict) else {}


def _intent_id(session: dict[str, Any]) -> str | None:
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return intent if isinstance(intent, str) and intent else None


def _hint(session: dict[str, Any], metadata_hint: str | None) -> str | None:
    if metadata_hint:
        return metadata_hint
    reference = session.get("client_reference_id")
    return reference if isinstance(reference, str) and PAYMENT_ID.fullmatch(reference) else None


def _reported(event_type: str, session: dict[str, Any]) -> PaymentStatus | None:
    if event_type == ASYNC_SUCCEEDED:
        return PaymentStatus.SUCCEEDED
    if event_type == ASYNC_FAILED:
        return PaymentStatus.REQUIRES_PAYMENT_METHOD
    paid = session.get("payment_status")
    if paid in ("paid", "no_payment_required"):
        return PaymentStatus.SUCCEEDED
    return PaymentStatus.PROCESSING if paid == "unpaid" else None


def session_inbound(
    event_id: str, event_type: str, created: int | None, metadata_hint: str | None, raw: bytes, *, minor: Any
) -> InboundEvent:
    """A Checkout Session event as an InboundEvent; `minor(units, currency)` converts Stripe's amounts."""
    session = _session(raw)
    ref, hint = _intent_id(session), _hint(session, metadata_hint)
    status = _reported(event_type, session)
    if status is None:
        problem = f"a {event_type} event with an unknown payment_status {session.get('payment_status')!r}"
        return InboundEvent(event_id, event_type, ref, hint, problem=problem)
    captured = None
    if status is PaymentStatus.SUCCEEDED:
        currency = session.get("currency")
        captured = minor(session.get("amount_total"), currency if isinstance(currency, str) else None)
        if captured is None:
            problem = f"a {event_type} event without an exact amount_total in its currency"
            return InboundEvent(event_id, event_type, ref, hint, problem=problem)
    error = None
    if status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
        error = LastError("payment_failed", "the delayed payment failed at stripe", "async_payment_failed")
    effect = GatewayResult(status, ref, amount_captured=captured, error=error, occurred_at=created)
    return InboundEvent(event_id, event_type, ref, hint, effect)
