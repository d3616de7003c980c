"""SPEC 3.1: what a provider says is merged into the payment so that delivery order does not matter.

Providers deliver events at least once, late and in any order. `merge` is the one
rule for folding a `GatewayResult` (an API answer or a webhook) into a payment,
built so that the result of folding all of a payment's events is the same in any
order, duplicates included:

- the captured amount only merges upwards (max), and once money is captured the
  payment is `succeeded` (or refunded since): a capture is the truth about money,
  so it wins over a failed or canceled status the provider reported earlier
  (audited by the caller), and no pre-capture state is applied over it;
- `failed` (a provider with no second attempt) and `canceled` are final for every
  state before capture;
- among the states before capture, which can come and go (a Stripe
  PaymentIntent goes back to `requires_payment_method` after a failed attempt and
  may be confirmed again), the newest wins: ordered by the provider's time
  (`occurred_at`, seconds), and within one second by the order they take in one
  attempt (`requires_confirmation` < `processing` < failed attempt). A synchronous
  API answer is the newest thing known and always applies.

Refunded amounts are cumulative and merge upwards too; they are applied by the
refunds module (they need refund rows), after this merge.
"""

from __future__ import annotations

from payedge_server.gateways.base import GatewayResult
from payedge_server.payments.model import Payment, PaymentStatus

# Order of the states before capture within one provider second (see the module doc).
_WITHIN_SECOND = {
    PaymentStatus.REQUIRES_CONFIRMATION: 0,
    PaymentStatus.PROCESSING: 1,
    PaymentStatus.REQUIRES_PAYMENT_METHOD: 2,
}


def _pre_capture_rank(p: Payment) -> int:
    """Within one second: a failed attempt ranks above a plain requires_payment_method."""
    if p.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and p.last_error is None:
        return -1
    return _WITHIN_SECOND.get(p.status, -1)


def _newer(p: Payment, fact: GatewayResult) -> bool:
    """Whether a pre-capture state reported at `fact.occurred_at` is newer than the payment's."""
    if fact.occurred_at is None:
        return True
    at, current = fact.occurred_at * 1000, p.provider_at or 0
    if at != current:
        return at > current
    return _WITHIN_SECOND.get(fact.status, -1) > _pre_capture_rank(p)


def _captured(p: Payment, fact: GatewayResult) -> Payment | None:
    reported = fact.amount_captured if fact.amount_captured is not None else p.amount
    captured = max(p.amount_captured, reported)
    if p.status.captured and captured == p.amount_captured:
        return None
    status = p.status if p.status.captured else PaymentStatus.SUCCEEDED
    return p.replace(status=status, amount_captured=captured, last_error=None)


def merge(p: Payment, fact: GatewayResult, *, now_ms: int) -> Payment | None:
    """The payment once `fact` is merged (version not bumped); None when it changes nothing."""
    if fact.status is PaymentStatus.SUCCEEDED or (fact.amount_captured or 0) > 0:
        merged = _captured(p, fact)
    elif p.status.final:
        merged = None  # nothing before capture moves a final payment
    elif fact.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        merged = p.replace(status=fact.status, last_error=fact.error or p.last_error)
    elif _newer(p, fact):
        # Whole seconds: providers date their events to the second (a synchronous answer is "now").
        at = fact.occurred_at * 1000 if fact.occurred_at is not None else now_ms // 1000 * 1000
        merged = p.replace(status=fact.status, last_error=fact.error, provider_at=max(at, p.provider_at or 0))
    else:
        merged = None
    if merged is not None and fact.gateway_ref and not merged.gateway_ref:
        merged = merged.replace(gateway_ref=fact.gateway_ref)
    if merged is None and fact.gateway_ref and not p.gateway_ref:
        merged = p.replace(gateway_ref=fact.gateway_ref)
    return merged if merged != p else None


def refunded_status(captured: int, refunded: int) -> PaymentStatus:
    if refunded <= 0:
        return PaymentStatus.SUCCEEDED
    return PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
