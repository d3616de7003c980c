"""OrderService: orders priced from the catalog, each with its payment, moving with it (SPEC 8, seed 002).

- `create`: the server prices the items (a client never sends a price), asks the gateway
  to take the payment (as `POST /v1/payments` does), then writes the order, its payment
  and the Idempotency-Key's response in ONE write: a retried request finds the order
  already made, never a second one.
- `on_payment_change` is a payment hook: inside every write that changes a payment of
  an order, it moves the order to what `model.status_for` says, in the same
  transaction (so an order is never paid without its payment, nor the other way).
- `fulfill` is the merchant's step on a paid order; `cancel` cancels the payment of a
  pending order (and the hook cancels the order).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from payedge_server.contracts import Store, Tx
from payedge_server.errors import DomainError, NotFoundError, RequestError
from payedge_server.orders import catalog, repository
from payedge_server.orders.model import (
    ORDER_PREFIX,
    Order,
    OrderDraft,
    OrderLine,
    OrderStatus,
    PaymentFacts,
    new_order_id,
    now_ms,
    order_view,
    status_for,
)
from payedge_server.payments import operations
from payedge_server.payments import repository as payments_repository
from payedge_server.payments.model import Payment, PaymentChange, new_payment_id
from payedge_server.payments.service import NewPayment, PaymentService
from payedge_server.payments.validation import MAX_AMOUNT
from payedge_server.store.records import append_audit


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """`POST /v1/orders`'s result: the order as shown, and its payment's client secret (shown once)."""

    view: dict[str, Any]
    client_secret: str


def render_created(created: CreatedOrder) -> tuple[int, dict[str, Any]]:
    return 201, {**created.view, "client_secret": created.client_secret}


def not_found(order_id: str) -> NotFoundError:
    return NotFoundError("order_not_found", f"no order {order_id[:64]!r}", "id")


def price_in_tx(tx: Tx, draft: OrderDraft) -> tuple[OrderLine, ...]:
    """Each item at the catalog's price in the order's currency; 400 naming the item otherwise."""
    products = catalog.load_many_in_tx(tx, (pid for pid, _ in draft.items))
    lines = []
    for index, (pid, quantity) in enumerate(draft.items):
        product = products.get(pid)
        param = f"items[{index}].product_id"
        if product is None or not product.active:
            raise RequestError("product_unavailable", f"no active product {pid!r}", param)
        unit = product.prices.get(draft.currency)
        if unit is None:
            offered = ", ".join(sorted(product.prices)) or "none"
            raise RequestError(
                "price_unavailable",
                f"product {pid!r} has no {draft.currency} price (it has: {offered})",
                param,
            )
        lines.append(OrderLine(pid, product.name, quantity, unit))
    if sum(line.amount for line in lines) > MAX_AMOUNT:
        raise RequestError(
            "parameter_invalid", f"the order's total exceeds {MAX_AMOUNT} minor units", "items"
        )
    return tuple(lines)


class OrderService:
    def __init__(self, store: Store, payments: PaymentService) -> None:
        self.store = store
        self.payments = payments

    # -- the payment hook ---------------------------------------------------------------
    def on_payment_change(self, tx: Tx, change: PaymentChange) -> None:
        """Runs in every write that changes a payment: its order (if any) follows it."""
        p = change.after
        ref = p.order_ref
        if ref is None or not ref.startswith(ORDER_PREFIX):
            return  # not an order's payment: one string test on the hot path
        if change.before is not None and change.before.status is p.status:
            return
        order = repository.load_by_payment(tx, p.id)
        if order is not None:
            self._follow_in_tx(tx, order, p, change.source)

    def _follow_in_tx(self, tx: Tx, order: Order, p: Payment, source: str) -> None:
        status = status_for(p.status, order.fulfilled_at is not None)
        if status is order.status:
            return
        now = now_ms()
        paid_at = order.paid_at if order.paid_at is not None or not p.status.captured else now
        after = _moved(order, status, now, paid_at=paid_at)
        repository.update(tx, order, after)
        data = {"from": order.status.value, "to": status.value, "payment_status": p.status.value}
        append_audit(tx, actor=source, action="order.status_changed", subject=order.id, data=data)

    # -- writes -------------------------------------------------------------------------
    async def create(self, draft: OrderDraft, key: operations.RequestKey | None) -> CreatedOrder:
        lines = await self.store.read(lambda tx: price_in_tx(tx, draft))
        oid, pid = new_order_id(), new_payment_id()
        new = NewPayment(
            amount=sum(line.amount for line in lines),
            currency=draft.currency,
            gateway=draft.gateway or "sandbox",
            routed=draft.gateway is None,  # the routing rules choose, when configured (SPEC 5)
            order_ref=oid,
            metadata={"order_id": oid},
            payee=draft.payee,
            locale=draft.locale,
        )
        opened = await operations.open_payment(self.payments, new, pid, key)

        def write(tx: Tx) -> CreatedOrder:
            now = now_ms()
            order = Order(
                oid, OrderStatus.PENDING, 1, new.amount, draft.currency, lines, draft.customer,
                draft.payee, draft.locale, pid, now, now,
            )  # fmt: skip
            repository.insert(tx, order)
            p = opened.create_in_tx(tx, self.payments, pid, source="api:order")
            assert p.client_secret is not None
            created = CreatedOrder(self.view_in_tx(tx, oid), p.client_secret)
            if key:
                key.save_in_tx(tx, created)
            return created

        return await self.store.write(write)

    async def fulfill(self, order_id: str) -> dict[str, Any]:
        def write(tx: Tx) -> dict[str, Any]:
            order = self.require_in_tx(tx, order_id)
            if order.status is not OrderStatus.PAID:
                raise DomainError(
                    "order_unexpected_state",
                    f"only a paid order can be fulfilled; this one is {order.status}",
                )
            now = now_ms()
            repository.update(tx, order, _moved(order, OrderStatus.FULFILLED, now, fulfilled_at=now))
            append_audit(tx, actor="api", action="order.fulfilled", subject=order.id, data={})
            return self.view_in_tx(tx, order_id)

        return await self.store.write(write)

    async def cancel(self, order_id: str) -> dict[str, Any]:
        """Cancel a pending order's payment; the payment hook cancels the order in the same write."""
        order = await self.store.read(lambda tx: self.require_in_tx(tx, order_id))
        if order.status is not OrderStatus.PENDING:
            raise DomainError(
                "order_unexpected_state", f"only a pending order can be canceled; this one is {order.status}"
            )
        await operations.cancel(self.payments, order.payment_id, None)
        return await self.get(order_id)

    # -- reads --------------------------------------------------------------------------
    def require_in_tx(self, tx: Tx, order_id: str) -> Order:
        order = repository.load(tx, order_id)
        if order is None:
            raise not_found(order_id)
        return order

    def view_in_tx(self, tx: Tx, order_id: str) -> dict[str, Any]:
        order = self.require_in_tx(tx, order_id)
        p = payments_repository.load(tx, order.payment_id)
        assert p is not None, order.payment_id
        error = p.last_error.view(p.locale, p.payment_method) if p.last_error else None
        return order_view(order, PaymentFacts(p.status, p.gateway, p.amount_refunded, error))

    async def get(self, order_id: str, *, payment_id: str | None = None) -> dict[str, Any]:
        """The order as shown; with `payment_id` (a client secret's) only if it is that payment's."""

        def read(tx: Tx) -> dict[str, Any]:
            view = self.view_in_tx(tx, order_id)
            if payment_id is not None and view["payment_id"] != payment_id:
                raise not_found(order_id)
            return view

        return await self.store.read(read)

    async def list(self, *, limit: int, starting_after: str | None, status: str | None) -> dict[str, Any]:
        def read(tx: Tx) -> dict[str, Any]:
            orders = repository.page(tx, limit=limit + 1, starting_after=starting_after, status=status)
            views = [self.view_in_tx(tx, o.id) for o in orders[:limit]]
            return {"object": "list", "data": views, "has_more": len(orders) > limit}

        return await self.store.read(read)


def _moved(
    order: Order,
    status: OrderStatus,
    now: int,
    *,
    paid_at: int | None = None,
    fulfilled_at: int | None = None,
) -> Order:
    """The order at `status` (a new version); a time not given keeps the order's own."""
    return replace(
        order,
        status=status,
        version=order.version + 1,
        updated_at=now,
        paid_at=paid_at if paid_at is not None else order.paid_at,
        fulfilled_at=fulfilled_at if fulfilled_at is not None else order.fulfilled_at,
    )
