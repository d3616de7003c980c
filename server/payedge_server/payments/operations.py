"""Payment operations that call a gateway: create, confirm, cancel.

A remote gateway is called between a write that claims the payment (a short lock
in `locked_until`) and a write that applies its answer; an in-process gateway
(`LocalGateway`: the sandbox) decides inside the one write that checks the
payment. Confirm (with its fallback to the next gateway) is payments/confirm.py. The request's
Idempotency-Key (`RequestKey`) is checked in the first write and its response
saved in the last, so a payment and the key that made it commit together.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Protocol

from payedge_server.contracts import Tx
from payedge_server.errors import DomainError, RequestError
from payedge_server.gateways.base import (
    Gateway,
    GatewayError,
    GatewayRejectedError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from payedge_server.payments import repository
from payedge_server.payments.model import (
    CANCELABLE,
    Payment,
    PaymentStatus,
    new_payment_id,
    now_ms,
)
from payedge_server.payments.service import NewPayment, PaymentService
from payedge_server.routing.plan import Plan

LOCK_MS = 60_000


class RequestKey(Protocol):
    """The request's Idempotency-Key, as operations use it (idempotency.IdempotencyContext).

    `check_in_tx` raises if a response is already saved under the key (the request
    is then replayed instead of redone); `save_in_tx` saves the result in the
    write that produces it; `mark_started` says the work has begun.
    """

    key: str

    def check_in_tx(self, tx: Tx) -> None: ...

    def save_in_tx(self, tx: Tx, result: object) -> None: ...

    def mark_started(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A confirm's outcome: the payment, and the error of this attempt when it did not go through."""

    payment: Payment
    error: DomainError | None = None


def gateway_error(exc: GatewayError) -> DomainError:
    """A gateway failure as the client sees it (same mapping for create, confirm, cancel, refund)."""
    if isinstance(exc, GatewayRejectedError):
        details = {"gateway_code": exc.gateway_code} if exc.gateway_code else None
        return DomainError(exc.code, exc.message, exc.param, details=details)
    if isinstance(exc, GatewayTimeoutError):
        return DomainError("gateway_timeout", f"the payment gateway did not answer in time: {exc}")
    return DomainError("gateway_unavailable", f"the payment gateway is unavailable, retry later: {exc}")


def check_new(service: PaymentService, new: NewPayment) -> Gateway:
    """The gateway can take this payment: its amount exactly, its payment method."""
    gw = service.gateway(new.gateway)
    service.check_new(new)
    try:
        gw.check_amount(new.amount, new.currency)
    except GatewayRejectedError as exc:
        raise gateway_error(exc) from None
    if new.payment_method is not None:
        problem = gw.check_payment_method(new.payment_method)
        if problem:
            raise RequestError("payment_method_invalid", problem, "payment_method")
    return gw


def routed(service: PaymentService, new: NewPayment, payment_id: str) -> tuple[NewPayment, Plan | None]:
    """SPEC 5: a payment that names no gateway gets the routing rules' choice, when rules are configured.

    Provisional (`Routing.provisional`: no probe taken) and shown as the payment's gateway
    until the confirm decides again with the health of that moment.
    """
    routing = service.routing
    if not new.routed or routing is None or not routing.routes:
        return new, None
    plan = routing.provisional(
        payment_id,
        new.amount,
        new.currency,
        payment_method=new.payment_method,
        country=new.metadata.get("country"),
        metadata=new.metadata,
    )
    return dataclasses.replace(new, gateway=plan.gateways[0]), plan


def draft_of(new: NewPayment, pid: str) -> Payment:
    """The payment as the gateway's create call sees it, before it is stored (version 0)."""
    now = now_ms()
    return Payment(
        id=pid,
        amount=new.amount,
        currency=new.currency,
        gateway=new.gateway,
        status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        version=0,
        created_at=now,
        updated_at=now,
        user_id=new.user_id,
        order_ref=new.order_ref,
        payment_method=new.payment_method,
        metadata=dict(new.metadata),
        payee=new.payee,
        commission_type=new.commission_type,
        locale=new.locale,
    )


@dataclass(frozen=True, slots=True)
class Opened:
    """A new payment past its gateway: routed (`plan`) or created at the provider (`result`)."""

    new: NewPayment
    plan: Plan | None
    result: GatewayResult | None

    def create_in_tx(self, tx: Tx, service: PaymentService, pid: str, source: str = "api") -> Payment:
        """Store the payment (and its routing decision) in the caller's write."""
        p = service.create_in_tx(tx, self.new, payment_id=pid, result=self.result, source=source)
        if self.plan is not None:
            repository.save_route(tx, pid, self.plan.view(), p.created_at)
        return p


async def open_payment(service: PaymentService, new: NewPayment, pid: str, key: RequestKey | None) -> Opened:
    """Route, check and (for a payment whose gateway is known) create it at the provider.

    Shared by `POST /v1/payments` and `POST /v1/orders`. A routed payment meets a
    provider at confirm, once its gateway is decided with the health of that moment.
    """
    new, plan = routed(service, new, pid)
    gw = check_new(service, new)
    if key:
        key.mark_started()
    result = None
    try:
        if plan is None:
            result = await gw.create(draft_of(new, pid), idempotency_key=pid + ":create")
    except GatewayError as exc:
        raise gateway_error(exc) from None
    return Opened(new, plan, result)


async def create(service: PaymentService, new: NewPayment, key: RequestKey | None) -> Payment:
    pid = new_payment_id()
    opened = await open_payment(service, new, pid, key)

    def write(tx: Tx) -> Payment:
        p = opened.create_in_tx(tx, service, pid)
        if key:
            key.save_in_tx(tx, p)
        return p

    return await service.store.write(write)


def claim_in_tx(
    tx: Tx, service: PaymentService, payment_id: str, allowed: frozenset[PaymentStatus], action: str
) -> Payment:
    p = service.require_in_tx(tx, payment_id)
    if p.status not in allowed:
        raise DomainError(
            "payment_unexpected_state", f"cannot {action} a payment in status {p.status}", "status"
        )
    if p.locked_until is not None and p.locked_until > now_ms():
        raise DomainError("payment_busy", "another operation on this payment is in progress")
    return p


def declined(p: Payment) -> DomainError | None:
    """The 402 of a confirm whose attempt did not go through (the payment is attached)."""
    error = p.last_error
    if p.status not in (PaymentStatus.FAILED, PaymentStatus.REQUIRES_PAYMENT_METHOD) or error is None:
        return None
    code = error.code if error.code in ("card_declined", "payment_failed") else "payment_failed"
    details = {"gateway_code": error.gateway_code} if error.gateway_code else None
    return DomainError(
        code,
        error.message or "the payment failed",
        "payment_method",
        details=details,
        attach={"payment": p.view()},
    )


async def confirm(
    service: PaymentService, payment_id: str, payment_method: str | None, key: RequestKey | None
) -> Confirmation:
    """Confirm through the payment's gateways, in order, with fallback (payments/confirm.py)."""
    from payedge_server.payments import confirm as flow  # it builds on this module

    return await flow.confirm(service, payment_id, payment_method, key)


async def settle_unknown(gw: Gateway, p: Payment, reads: int = 2) -> GatewayResult | None:
    """A confirm whose outcome is unknown (GatewayTimeoutError), settled by status reads.

    The provider's answer if a read gets one; GatewayUnavailableError if the provider
    has no object for the payment (nothing was created: nothing was taken); None when
    the reads fail too: the outcome stays unknown (the payment is then `processing`,
    never confirmed elsewhere, and callbacks and status reads settle it later).
    """
    for attempt in range(reads):
        try:
            found = await gw.retrieve(p)
        except GatewayError:
            if attempt + 1 < reads:
                await asyncio.sleep(0.5)
            continue
        if found is None:
            raise GatewayUnavailableError(f"{p.gateway} has no trace of the request: nothing was taken")
        return found
    return None


def _release_in_tx(tx: Tx, service: PaymentService, payment_id: str) -> Payment:
    cur = service.require_in_tx(tx, payment_id)
    return service.hold_in_tx(tx, cur, cur.replace(locked_until=None))


async def cancel(service: PaymentService, payment_id: str, key: RequestKey | None) -> Payment:
    def claim(tx: Tx) -> Payment:
        if key:
            key.check_in_tx(tx)
        p = claim_in_tx(tx, service, payment_id, CANCELABLE, "cancel")
        return service.hold_in_tx(tx, p, p.replace(locked_until=now_ms() + LOCK_MS))

    p = await service.store.write(claim)
    if key:
        key.mark_started()
    if p.gateway_ref is None:
        result = GatewayResult(PaymentStatus.CANCELED)
    else:
        try:
            result = await service.gateway(p.gateway).cancel(p, idempotency_key=f"{payment_id}:cancel")
        except GatewayError as exc:
            await service.store.write(lambda tx: _release_in_tx(tx, service, payment_id))
            raise gateway_error(exc) from None

    def apply(tx: Tx) -> Payment:
        released = _release_in_tx(tx, service, payment_id)
        after = service.apply_in_tx(tx, released, result, source="api:cancel")
        if key:
            key.save_in_tx(tx, after)
        return after

    return await service.store.write(apply)
