"""The payment state machine (SPEC 3).

requires_payment_method -> requires_confirmation -> processing -> succeeded | failed | canceled;
succeeded -> partially_refunded -> refunded. Before a final state a payment only moves
forward (a late `processing` after `succeeded` is ignored); `failed`, `canceled` and
`refunded` never change again; `succeeded` only moves on to the refund states.
"""

from __future__ import annotations

STATUSES = (
    "requires_payment_method",
    "requires_confirmation",
    "processing",
    "succeeded",
    "failed",
    "canceled",
    "partially_refunded",
    "refunded",
)

_RANK = {
    "requires_payment_method": 0,
    "requires_confirmation": 1,
    "processing": 2,
    "succeeded": 3,
    "failed": 3,
    "canceled": 3,
}
TERMINAL = frozenset({"failed", "canceled", "refunded"})
REFUNDABLE = frozenset({"succeeded", "partially_refunded"})
CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation"})
CANCELABLE = frozenset({"requires_payment_method", "requires_confirmation"})


def allowed(current: str, new: str) -> bool:
    """Whether `current -> new` is a legal change (`partially_refunded` may repeat)."""
    if current in TERMINAL:
        return False
    if current in REFUNDABLE:
        return new in {"refunded", "partially_refunded"}
    if new not in _RANK:
        return False
    return _RANK[new] > _RANK[current]
