"""Refunds: through the API (never more than captured, a gateway refunds once) and from the gateway.

`refund` reserves the amount (a `pending` refund row) before the gateway is
called. With the request's Idempotency-Key, a retry after a crash between the
gateway call and the final write finds that pending refund and resumes it with
the same gateway idempotency key: the gateway refunds once.

`sync_in_tx` brings a payment up to the provider's cumulative refunded amount (a
refund made in the provider's dashboard, or the webhook about one payedge made):
refunds payedge knows are counted, so only the difference is recorded, never
beyond the captured amount, never downwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from payedge_server.contracts import Tx
from payedge_server.errors import DomainError
from payedge_server.gateways.base import GatewayError
from payedge_server.payments import repository
from payedge_server.payments.convergence import refunded_status
from payedge_server.payments.model import REFUNDABLE, Payment, Refund, new_refund_id, now_ms

if TYPE_CHECKING:
    from payedge_server.payments.operations import RequestKey
    from payedge_server.payments.service import PaymentService

Save = Callable[..., Payment]


def add_refunded_in_tx(tx: Tx, p: Payment, amount: int, *, save: Save, source: str) -> Payment:
    """`amount` more refunded: `partially_refunded`, or `refunded` once it reaches the captured amount."""
    refunded = p.amount_refunded + amount
    after = p.replace(amount_refunded=refunded, status=refunded_status(p.amount_captured, refunded))
    result: Payment = save(tx, p, after, source=source)
    return result


def sync_in_tx(tx: Tx, p: Payment, gateway_refunded: int, *, save: Save, source: str) -> Payment:
    """Bring `p` up to the provider's cumulative refunded amount."""
    if not p.status.captured:
        return p
    delta = min(gateway_refunded, p.amount_captured) - repository.refunds_counted(tx, p.id)
    if delta <= 0:
        return p
    repository.insert_refund(tx, new_refund_id(), p.id, delta, "succeeded", at=now_ms())
    return add_refunded_in_tx(tx, p, delta, save=save, source=source)


def _unexpected_state(p: Payment) -> DomainError:
    return DomainError("payment_unexpected_state", f"cannot refund a payment in status {p.status}", "status")


def _reserve_in_tx(tx: Tx, p: Payment, amount: int | None, request_key: str | None) -> tuple[str, int]:
    if request_key is not None:
        resumed = repository.pending_refund(tx, p.id, request_key)
        if resumed is not None:
            return resumed
    if p.status not in REFUNDABLE:
        raise _unexpected_state(p)
    available = p.amount_captured - repository.refunds_counted(tx, p.id)
    want = available if amount is None else amount
    if want <= 0 or want > available:
        raise DomainError(
            "refund_exceeds_captured",
            f"refund of {want} exceeds what is left to refund ({available} of {p.amount_captured} captured)",
            "amount",
        )
    refund_id = new_refund_id()
    repository.insert_refund(tx, refund_id, p.id, want, "pending", at=now_ms(), request_key=request_key)
    return refund_id, want


async def refund(
    service: PaymentService, payment_id: str, amount: int | None, key: RequestKey | None
) -> Refund:
    """Refund (partially); never more than captured, concurrent refunds included."""
    from payedge_server.payments.operations import gateway_error

    request_key = key.key if key else None

    def reserve(tx: Tx) -> tuple[Payment, str, int]:
        if key:
            key.check_in_tx(tx)
        p = service.require_in_tx(tx, payment_id)
        return (p, *_reserve_in_tx(tx, p, amount, request_key))

    p, refund_id, want = await service.store.write(reserve)
    if key:
        key.mark_started()
    gw = service.gateway(p.gateway)
    try:
        ref = await gw.refund(p, want, refund_id=refund_id, idempotency_key=f"{refund_id}:refund")
    except GatewayError as exc:
        await service.store.write(lambda tx: repository.settle_refund(tx, refund_id, "failed"))
        raise gateway_error(exc) from None

    def apply(tx: Tx) -> Refund:
        repository.settle_refund(tx, refund_id, "succeeded", ref)
        cur = service.require_in_tx(tx, payment_id)
        updated = add_refunded_in_tx(tx, cur, want, save=service.save_in_tx, source="api:refund")
        done = Refund(refund_id, payment_id, want, cur.currency, "succeeded", ref, updated)
        if key:
            key.save_in_tx(tx, done)
        return done

    return await service.store.write(apply)
