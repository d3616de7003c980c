"""PaymentService: the payment state on the store, changed only inside store writes.

Every change goes through `save_in_tx`: it bumps `version`, appends to the status
history and the audit log, runs the registered hooks in the same transaction
(parking, ledger postings, webhook events waiting for this payment), and
publishes to `payment:<id>` after the commit. What a provider says is merged by
`apply_in_tx` (SPEC 3.1, `convergence.merge`). Gateway calls never run inside a
write: `operations.py` and `refunds.py` claim the payment, call the gateway, then
write the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from payedge_server import metrics
from payedge_server.contracts import LivePublisher, Store, Tx
from payedge_server.errors import NotFoundError, RequestError
from payedge_server.gateways.base import Gateway, GatewayResult, LocalGateway
from payedge_server.payments import refunds, repository
from payedge_server.payments.convergence import merge
from payedge_server.payments.model import (
    DEFAULT_PAYEE,
    Payment,
    PaymentChange,
    PaymentStatus,
    client_secret_hash,
    new_client_secret,
    new_payment_id,
    now_ms,
)
from payedge_server.payments.refunds import RefundHook
from payedge_server.store.records import append_audit

if TYPE_CHECKING:
    from payedge_server.routing.router import Routing

PaymentHook = Callable[[Tx, PaymentChange], None]
"""Runs inside the write that changed a payment; what it writes commits or rolls back with it."""

CreateCheck = Callable[["NewPayment"], None]
"""May refuse a payment before anything is done (raise a DomainError): the ledger refuses a commission
type without a rate at creation, not when the payment succeeds."""


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A validated request to create a payment (amount in the currency's minor units)."""

    amount: int
    currency: str
    gateway: str = "sandbox"
    user_id: str | None = None
    order_ref: str | None = None
    payment_method: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    payee: str = DEFAULT_PAYEE
    commission_type: str | None = None
    locale: str | None = None  # the customer's language (payments/declines.py), None: English
    routed: bool = False  # named no gateway: the routing rules choose (SPEC 5), when configured


def not_found(payment_id: str) -> NotFoundError:
    return NotFoundError("payment_not_found", f"no payment {payment_id}", "id")


class PaymentService:
    def __init__(
        self, store: Store, gateways: Mapping[str, Gateway], live: LivePublisher | None = None
    ) -> None:
        self.store = store
        self.gateways = dict(gateways)
        # Gateways that decide in-process (checked once: a runtime Protocol check is slow).
        self.local: dict[str, LocalGateway] = {
            name: gw for name, gw in self.gateways.items() if isinstance(gw, LocalGateway)
        }
        self.live = live
        self._hooks: list[PaymentHook] = []
        self._create_checks: list[CreateCheck] = []
        self.refund_hooks: list[RefundHook] = []
        self.routing: Routing | None = None  # SPEC 5: set by the app (routing/__init__.py)

    def add_hook(self, hook: PaymentHook) -> None:
        """`hook(tx, change)` runs inside every write that changes a payment (creation included)."""
        self._hooks.append(hook)

    def add_create_check(self, check: CreateCheck) -> None:
        self._create_checks.append(check)

    def add_refund_hook(self, hook: RefundHook) -> None:
        """`hook` runs inside an API refund's reserve, success and failure writes (refunds.RefundHook)."""
        self.refund_hooks.append(hook)

    def check_new(self, new: NewPayment) -> None:
        for check in self._create_checks:
            check(new)

    def gateway(self, name: str) -> Gateway:
        gw = self.gateways.get(name)
        if gw is None:
            configured = ", ".join(sorted(self.gateways))
            raise RequestError(
                "gateway_invalid", f"unknown gateway {name!r}; configured: {configured}", "gateway"
            )
        return gw

    # -- reads ------------------------------------------------------------------------
    def load_in_tx(self, tx: Tx, payment_id: str) -> Payment | None:
        return repository.load(tx, payment_id)

    def require_in_tx(self, tx: Tx, payment_id: str) -> Payment:
        p = repository.load(tx, payment_id)
        if p is None:
            raise not_found(payment_id)
        return p

    def find_in_tx(self, tx: Tx, gateway: str, ref: str | None, hint: str | None) -> Payment | None:
        """The payment a provider's event is about: by its object id, else by the payedge id it echoes."""
        p = repository.find_by_ref(tx, gateway, ref) if ref else None
        if p is None and hint:
            p = repository.load(tx, hint)
            if p is not None and p.gateway != gateway:
                p = None
        return p

    # -- writes -----------------------------------------------------------------------
    def create_in_tx(
        self,
        tx: Tx,
        new: NewPayment,
        *,
        payment_id: str | None = None,
        result: GatewayResult | None = None,
        source: str = "api",
    ) -> Payment:
        """Create a payment inside the caller's transaction (the API, parking).

        `result` is the gateway's answer to its create call, when it was made first.
        The payment returned carries its new `client_secret` (SPEC 8: shown once; only its
        hash is stored).
        """
        self.gateway(new.gateway)
        self.check_new(new)
        status = (
            PaymentStatus.REQUIRES_CONFIRMATION
            if new.payment_method
            else PaymentStatus.REQUIRES_PAYMENT_METHOD
        )
        if result is not None:
            status = result.status
        now = now_ms()
        pid = payment_id or new_payment_id()
        secret = new_client_secret(pid)
        p = Payment(
            id=pid,
            amount=new.amount,
            currency=new.currency,
            gateway=new.gateway,
            status=status,
            version=1,
            created_at=now,
            updated_at=now,
            user_id=new.user_id,
            order_ref=new.order_ref,
            payment_method=new.payment_method,
            metadata=dict(new.metadata),
            gateway_ref=result.gateway_ref if result else None,
            payee=new.payee,
            commission_type=new.commission_type,
            client_secret_hash=client_secret_hash(secret),
            locale=new.locale,
            client_secret=secret,
        )
        repository.insert(tx, p)
        repository.append_history(tx, p, source)
        return self._changed(tx, PaymentChange(None, p, source))

    def save_in_tx(self, tx: Tx, before: Payment, after: Payment, *, source: str) -> Payment:
        """Write a change of `before` (a new version: history, audit, hooks, live)."""
        saved = after.replace(version=before.version + 1, updated_at=now_ms())
        repository.update(tx, before, saved)
        repository.append_history(tx, saved, source)
        if saved.status is not before.status:
            data = {"from": before.status.value, "to": saved.status.value, "version": saved.version}
            append_audit(tx, actor=source, action="payment.status_changed", subject=saved.id, data=data)
        return self._changed(tx, PaymentChange(before, saved, source))

    def hold_in_tx(self, tx: Tx, before: Payment, after: Payment) -> Payment:
        """Write bookkeeping fields (the operation lock, the payment method being tried): no new version."""
        if after != before:
            repository.update(tx, before, after)
        return after

    def apply_in_tx(self, tx: Tx, p: Payment, fact: GatewayResult, *, source: str) -> Payment:
        """Merge what the provider says into the payment (SPEC 3.1); returns the payment after it."""
        merged = merge(p, fact, now_ms=now_ms())
        out = p
        if merged is not None:
            if merged.status.captured and p.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
                data = {"status": p.status.value, "captured": merged.amount_captured}
                append_audit(tx, actor=source, action="payment.captured_after_final", subject=p.id, data=data)
            out = self.save_in_tx(tx, p, merged, source=source)
        if fact.amount_refunded is not None:
            out = refunds.sync_in_tx(tx, out, fact.amount_refunded, save=self.save_in_tx, source=source)
        if out is p:
            data = {"status": p.status.value, "reported": fact.status.value, "version": p.version}
            append_audit(tx, actor=source, action="payment.report_ignored", subject=p.id, data=data)
        return out

    def _changed(self, tx: Tx, change: PaymentChange) -> Payment:
        # Published first: a hook may change the payment again, and its version must go out after.
        self._publish_after(tx, change.after)
        for hook in self._hooks:
            hook(tx, change)
        return change.after

    def _publish_after(self, tx: Tx, p: Payment) -> None:
        """Once committed: count the new status and publish the change on `payment:<id>`."""
        status = p.status.value
        live = self.live
        if live is None:
            tx.after_commit(lambda: metrics.PAYMENT_TRANSITIONS.inc(status))
            return
        event = {"type": "payment.updated", "version": p.version, "payment": p.view()}
        channel = "payment:" + p.id

        def after() -> None:
            metrics.PAYMENT_TRANSITIONS.inc(status)
            live.publish(channel, event)

        tx.after_commit(after)

    # -- reads for the API ------------------------------------------------------------
    async def get(self, payment_id: str, *, history: bool = False) -> dict[str, Any]:
        def read(tx: Tx) -> dict[str, Any] | None:
            p = repository.load(tx, payment_id)
            if p is None:
                return None
            view: dict[str, Any] = p.view()
            if history:
                view["history"] = repository.history(tx, payment_id)
                view["attempts"] = [a.view() for a in repository.attempts(tx, payment_id)]
                view["routing"] = repository.route(tx, payment_id)
            return view

        found = await self.store.read(read)
        if found is None:
            raise not_found(payment_id)
        return found

    async def status_lookup(self, payment_id: str) -> dict[str, Any] | None:
        """`contracts.StatusLookup`: the public payment, or None."""
        from payedge_server.payments.validation import PAYMENT_ID

        if not PAYMENT_ID.fullmatch(payment_id):
            return None

        def read(tx: Tx) -> dict[str, Any] | None:
            p = repository.load(tx, payment_id)
            return p.view() if p else None

        return await self.store.read(read)
