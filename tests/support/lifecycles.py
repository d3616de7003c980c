"""Valid provider histories of one payment, as hypothesis strategies, with the state each implies.

A Stripe PaymentIntent's history: failed attempts (each may pass through
`processing`, then `payment_intent.payment_failed`, the intent back to
`requires_payment_method`), then an ending: success (then partial refunds through
`charge.refunded` with the charge's cumulative `amount_refunded`), cancellation,
an attempt still processing, or an abandoned failed attempt. Events are dated
one second apart, as Stripe dates them (`created`, UNIX seconds).

`expected` is the plain reading of SPEC 3.1: the state the provider's latest
object implies, which is what payedge must show once every event was delivered,
in any order and with duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Event:
    type: str
    created: int
    object: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Expected:
    status: str
    captured: int
    refunded: int


@dataclass
class Lifecycle:
    events: list[Event] = field(default_factory=list)
    expected: Expected = Expected("requires_payment_method", 0, 0)


def _intent(pi: str, amount: int, currency: str, status: str, **extra: Any) -> dict[str, Any]:
    obj = {"id": pi, "object": "payment_intent", "amount": amount, "currency": currency, "status": status}
    return {**obj, **extra}


@dataclass(frozen=True)
class Intent:
    """The PaymentIntent a history is about; amounts in Stripe's units.

    `unit` is the provider's smallest step for the currency, in its units (Stripe
    takes ISK in whole kronur: 100; three-decimal currencies in tens).
    """

    pi: str
    amount: int
    currency: str
    hint: str
    unit: int = 1

    def at(self, status: str, **extra: Any) -> dict[str, Any]:
        meta = {"payedge_payment_id": self.hint}
        return _intent(self.pi, self.amount, self.currency, status, metadata=meta, **extra)


@st.composite
def stripe_lifecycle(draw: st.DrawFn, intent: Intent) -> Lifecycle:
    """A valid history of `intent` (events without ids: the caller numbers them)."""
    t = 1_700_000_000 + draw(st.integers(0, 10**6))
    events: list[Event] = []

    def add(kind: str, obj: dict[str, Any]) -> None:
        nonlocal t
        t += 1
        events.append(Event(kind, t, obj))

    declines = st.sampled_from(["generic_decline", "insufficient_funds"])
    for _ in range(draw(st.integers(0, 2))):  # failed attempts
        if draw(st.booleans()):
            add("payment_intent.processing", intent.at("processing"))
        error = {"code": "card_declined", "decline_code": draw(declines)}
        add("payment_intent.payment_failed", intent.at("requires_payment_method", last_payment_error=error))
    ending = draw(st.sampled_from(["succeeded", "canceled", "processing", "abandoned"]))
    if ending == "abandoned" and not events:
        ending = "canceled"
    return Lifecycle(events, _ending(draw, add, ending, intent))


def _ending(draw: st.DrawFn, add: Any, ending: str, intent: Intent) -> Expected:
    if ending == "abandoned":
        return Expected("requires_payment_method", 0, 0)
    if ending in ("processing", "canceled"):
        add(f"payment_intent.{ending}", intent.at(ending))
        return Expected(ending, 0, 0)
    if draw(st.booleans()):
        add("payment_intent.processing", intent.at("processing"))
    amount, unit = intent.amount, intent.unit
    add("payment_intent.succeeded", intent.at("succeeded", amount_received=amount))
    refunded = 0
    for _ in range(draw(st.integers(0, 3))):
        if refunded >= amount:
            break
        refunded = unit * draw(st.integers(refunded // unit + 1, amount // unit))
        charge = {
            "id": "ch_" + intent.pi[3:],
            "object": "charge",
            "payment_intent": intent.pi,
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": refunded,
            "currency": intent.currency,
            "captured": True,
            "refunded": refunded == amount,
        }
        add("charge.refunded", charge)
    if refunded == 0:
        return Expected("succeeded", amount, 0)
    return Expected("refunded" if refunded == amount else "partially_refunded", amount, refunded)


@st.composite
def deliveries(draw: st.DrawFn, events: list[Event]) -> list[Event]:
    """The events in a random order, some delivered more than once."""
    repeated = [e for e in events for _ in range(draw(st.integers(1, 2)))]
    return draw(st.permutations(repeated))
