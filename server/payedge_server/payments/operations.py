"""Payment operations that call a gateway: create, confirm, cancel.

A remote gateway is called between a write that claims the payment (a short lock
in `locked_until`) and a write that applies its answer; an in-process gateway
(`LocalGateway`: the sandbox) decides inside the one write that checks the
payment. Each confirm call is kept as an `Attempt`. The request's
Idempotency-Key (`RequestKey`) is checked in the first write and its response
saved in the last, so a payment and the key that made it commit together.
"""

from __future__ import annotations

import asyncio
import time
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
    CONFIRMABLE,
    Attempt,
    LastError,
    Payment,
    PaymentStatus,
    new_payment_id,
    now_ms,
)
from payedge_server.payments.service import NewPayment, PaymentService

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


async def create(service: PaymentService, new: NewPayment, key: RequestKey | None) -> Payment:
    gw = check_new(service, new)
    pid = new_payment_id()
    draft = draft_of(new, pid)
    if key:
        key.mark_started()
    try:
        result = await gw.create(draft, idempotency_key=pid + ":create")
    except GatewayError as exc:
        raise gateway_error(exc) from None

    def write(tx: Tx) -> Payment:
        p = service.create_in_tx(tx, new, payment_id=pid, result=result)
        if key:
            key.save_in_tx(tx, p)
        return p

    return await service.store.write(write)


def _claim_in_tx(
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


def _method_in_tx(service: PaymentService, p: Payment, payment_method: str | None) -> str:
    pm = payment_method or p.payment_method
    if pm is None:
        raise RequestError("parameter_missing", "a payment_method is needed to confirm", "payment_method")
    problem = service.gateway(p.gateway).check_payment_method(pm)
    if problem:
        raise RequestError("payment_method_invalid", problem, "payment_method")
    return pm


def _attempt_in_tx(tx: Tx, p: Payment, outcome: str, error: LastError | None, started: float) -> None:
    latency = int((time.perf_counter() - started) * 1000)
    attempt = Attempt(p.gateway, outcome, error.code if error else None, latency, now_ms())
    repository.insert_attempt(tx, p.id, attempt)


def _declined(p: Payment) -> DomainError | None:
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


def _applied(
    tx: Tx, service: PaymentService, p: Payment, result: GatewayResult, started: float
) -> Confirmation:
    """Apply a confirm's answer (lock released) and keep the attempt.

    The answer names the provider's object of this attempt (a hosted provider makes a
    new one per attempt) and what the payer must do next (`next_action`).
    """
    held = p.replace(
        locked_until=None, next_action=result.next_action, gateway_ref=result.gateway_ref or p.gateway_ref
    )
    released = service.hold_in_tx(tx, p, held)
    after = service.apply_in_tx(tx, released, result, source="api:confirm")
    _attempt_in_tx(tx, after, result.status.value, result.error, started)
    return Confirmation(after, _declined(after) if result.error else None)


def _unavailable_in_tx(
    tx: Tx, service: PaymentService, p: Payment, exc: GatewayError, started: float
) -> DomainError:
    error = gateway_error(exc)
    last = LastError(error.code, error.message)
    service.hold_in_tx(tx, p, p.replace(locked_until=None, last_error=last))
    _attempt_in_tx(tx, p, "error", last, started)
    return error


async def confirm(
    service: PaymentService, payment_id: str, payment_method: str | None, key: RequestKey | None
) -> Confirmation:
    """Confirm through the gateway: one write for an in-process gateway, claim/call/apply otherwise."""
    started = time.perf_counter()

    def claim(tx: Tx) -> tuple[Payment, Confirmation | None]:
        if key:
            key.check_in_tx(tx)
        p = _claim_in_tx(tx, service, payment_id, CONFIRMABLE, "confirm")
        pm = _method_in_tx(service, p, payment_method)
        local = service.local.get(p.gateway)
        held = p.replace(payment_method=pm, locked_until=None if local else now_ms() + LOCK_MS)
        if p.status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
            held = service.save_in_tx(
                tx,
                p,
                held.replace(status=PaymentStatus.REQUIRES_CONFIRMATION, last_error=None),
                source="api:confirm",
            )
        else:
            held = service.hold_in_tx(tx, p, held)
        if local is None:
            return held, None
        try:
            result = local.confirm_now(held)
        except GatewayUnavailableError as exc:
            done = Confirmation(held, _unavailable_in_tx(tx, service, held, exc, started))
        else:
            done = _applied(tx, service, held, result, started)
            local.after_confirm_in_tx(tx, done.payment, result)
        if key:
            key.save_in_tx(tx, done)
        return held, done

    p, done = await service.store.write(claim)
    if key:
        key.mark_started()
    if done is not None:
        return done
    return await _confirm_remote(service, p, key, started)


async def _confirm_remote(
    service: PaymentService, p: Payment, key: RequestKey | None, started: float
) -> Confirmation:
    gw = service.gateway(p.gateway)
    try:
        if p.gateway_ref is None:
            created = await gw.create(p, idempotency_key=p.id + ":create")
            p = p.replace(gateway_ref=created.gateway_ref)
        unknown: GatewayTimeoutError | None = None
        try:
            result = await gw.confirm(p, idempotency_key=f"{p.id}:confirm:{p.version}")
        except GatewayTimeoutError as exc:
            settled = await settle_unknown(gw, p)
            unknown = exc if settled is None else None
            result = settled or GatewayResult(PaymentStatus.PROCESSING, p.gateway_ref)
    except GatewayError as exc:
        failure = exc
        error = await service.store.write(
            lambda tx: _unavailable_in_tx(tx, service, service.require_in_tx(tx, p.id), failure, started)
        )
        raise error from None

    def apply(tx: Tx) -> Confirmation:
        cur = service.require_in_tx(tx, p.id)
        if p.gateway_ref and not cur.gateway_ref:
            cur = service.hold_in_tx(tx, cur, cur.replace(gateway_ref=p.gateway_ref))
        done = _applied(tx, service, cur, result, started)
        if unknown is not None:  # processing: never confirmed elsewhere; status reads settle it
            error = gateway_error(unknown)
            done = Confirmation(
                done.payment, DomainError(error.code, error.message, attach={"payment": done.payment.view()})
            )
        if key:
            key.save_in_tx(tx, done)
        return done

    return await service.store.write(apply)


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
        p = _claim_in_tx(tx, service, payment_id, CANCELABLE, "cancel")
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
