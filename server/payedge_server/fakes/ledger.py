"""Money moved at a fake, per payment: what the tests of the fallback feature count.

A "capture" is the moment the fake took the payer's money (PayPal capture, CinetPay
ACCEPTED, MoMo SUCCESSFUL, Orange SUCCESS), whether or not its HTTP answer reached
the caller: a test asserting "one capture in total" reads these counters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal


@dataclass(frozen=True)
class Movement:
    """Counters of one payment (keyed by the provider's id for it)."""

    currency: str
    reference: str | None
    captures: int = 0
    refunds: int = 0
    captured: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)

    def as_json(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "reference": self.reference,
            "captures": self.captures,
            "refunds": self.refunds,
            "captured_amount": str(self.captured),
            "refunded_amount": str(self.refunded),
        }


class Ledger:
    def __init__(self) -> None:
        self._movements: dict[str, Movement] = {}

    def capture(self, payment_id: str, amount: Decimal, currency: str, reference: str | None) -> None:
        moved = self._movements.get(payment_id) or Movement(currency=currency, reference=reference)
        self._movements[payment_id] = replace(
            moved, captures=moved.captures + 1, captured=moved.captured + amount
        )

    def refund(self, payment_id: str, amount: Decimal, currency: str) -> None:
        moved = self._movements.get(payment_id) or Movement(currency=currency, reference=None)
        self._movements[payment_id] = replace(
            moved, refunds=moved.refunds + 1, refunded=moved.refunded + amount
        )

    def clear(self) -> None:
        self._movements.clear()

    def stats(self) -> dict[str, object]:
        return {
            "totals": {
                "payments": len(self._movements),
                "captures": sum(m.captures for m in self._movements.values()),
                "refunds": sum(m.refunds for m in self._movements.values()),
            },
            "payments": {key: m.as_json() for key, m in self._movements.items()},
        }
