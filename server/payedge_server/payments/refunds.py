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
from typing import TYPE_CHECKING, Protocol

from payedge import format_money

from payedge_server.contracts import Tx
from payedge_server.errors import DomainError
from payedge_server.gateways.base import GatewayError, GatewayTimeoutError
from payedge_server.payments import repository
from payedge_server.payments.convergence import refunded_status
from payedge_server.payments.model import REFUNDABLE, Payment, Refund, new_refund_id, now_ms

if TYPE_CHECKING:
    from payedge_server.payments.operations import RequestKey
    from payedge_server.payments.service import PaymentService

Save = Callable[..., Payment]


class RefundHook(Protocol):
    """Runs inside the writes of an API refund (the ledger holds the merchant's share).

    `reserve_in_tx` runs in the write that reserves the refund, before the gateway is
    called (raise a DomainError to refuse it with nothing done: a wallet that cannot
    cover it); `settle_in_tx` in the write that records its success, before the
    payment's change; `release_in_tx` in the one that records its failure.
    """

    def reserve_in_tx(self, tx: Tx, payment: Payment, refund_id: str, amount: int) -> None: ...

    def settle_in_tx(self, tx: Tx, payment: Payment, refund_id: str) -> None: ...

    def release_in_tx(self, tx: Tx, payment_id: str, refund_id: str) -> None: ...


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
            f"refund of {format_money(want, p.currency)} exceeds what is left to refund "
            f"({format_money(available, p.currency)} of "
            f"{format_money(p.amount_captured, p.currency)} captured)",
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
        refund_id, want = _reserve_in_tx(tx, p, amount, request_key)
        for hook in service.refund_hooks:
            hook.reserve_in_tx(tx, p, refund_id, want)
        return p, refund_id, want

    p, refund_id, want = await service.store.write(reserve)
    if key:
        key.mark_started()
    gw = service.gateway(p.gateway)
    try:
        ref = await gw.refund(p, want, refund_id=refund_id, idempotency_key=f"{refund_id}:refund")
    except GatewayTimeoutError as exc:
        # It may have been refunded: the refund stays pending (its amount reserved), never "failed".
        raise gateway_error(exc) from None
    except GatewayError as exc:

        def failed(tx: Tx) -> None:
            repository.settle_refund(tx, refund_id, "failed")
            for hook in service.refund_hooks:
                hook.release_in_tx(tx, payment_id, refund_id)

        await service.store.write(failed)
        raise gateway_error(exc) from None

    def apply(tx: Tx) -> Refund:
        repository.settle_refund(tx, refund_id, "succeeded", ref)
        cur = service.require_in_tx(tx, payment_id)
        for hook in service.refund_hooks:  # before the payment's change (and its hooks) records it
            hook.settle_in_tx(tx, cur, refund_id)
        updated = add_refunded_in_tx(tx, cur, want, save=service.save_in_tx, source="api:refund")
        done = Refund(refund_id, payment_id, want, cur.currency, "succeeded", ref, updated)
        if key:
            key.save_in_tx(tx, done)
        return done

    return await service.store.write(apply)
