"""Order rows in the store: SQL only, typed in and out (`Order`). Every function takes the caller's Tx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.orders.model import Customer, Order, OrderLine, OrderStatus

_COLUMNS = (
    "id, status, version, amount, currency, items, customer_email, customer_name, payee, locale, "
    "payment_id, created_at, updated_at, paid_at, fulfilled_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM orders"


def _lines(text: str) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(item["product_id"], item["name"], item["quantity"], item["unit_amount"])
        for item in orjson.loads(text)
    )


def from_row(row: Sequence[Any]) -> Order:
    (oid, status, version, amount, currency, items, email, name, payee, locale, payment_id, created,
     updated, paid_at, fulfilled_at) = row  # fmt: skip
    return Order(
        id=oid,
        status=OrderStatus(status),
        version=version,
        amount=amount,
        currency=currency,
        lines=_lines(items),
        customer=Customer(email, name),
        payee=payee,
        locale=locale,
        payment_id=payment_id,
        created_at=created,
        updated_at=updated,
        paid_at=paid_at,
        fulfilled_at=fulfilled_at,
    )


def insert(tx: Tx, order: Order) -> None:
    items = [
        {"product_id": li.product_id, "name": li.name, "quantity": li.quantity, "unit_amount": li.unit_amount}
        for li in order.lines
    ]
    tx.execute(
        f"INSERT INTO orders ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
        (
            order.id,
            order.status.value,
            order.version,
            order.amount,
            order.currency,
            orjson.dumps(items).decode(),
            order.customer.email,
            order.customer.name,
            order.payee,
            order.locale,
            order.payment_id,
            order.created_at,
            order.updated_at,
            order.paid_at,
            order.fulfilled_at,
        ),
    )


def load(tx: Tx, order_id: str) -> Order | None:
    row = tx.fetchone(f"{_SELECT} WHERE id = ?", (order_id,))
    return from_row(row) if row else None


def load_by_payment(tx: Tx, payment_id: str) -> Order | None:
    row = tx.fetchone(f"{_SELECT} WHERE payment_id = ?", (payment_id,))
    return from_row(row) if row else None


def update(tx: Tx, before: Order, after: Order) -> None:
    """Write `after`'s status and times over `before`; the row must still be at `before.version`."""
    changed = tx.execute(
        "UPDATE orders SET status = ?, version = ?, updated_at = ?, paid_at = ?, fulfilled_at = ? "
        "WHERE id = ? AND version = ?",
        (
            after.status.value,
            after.version,
            after.updated_at,
            after.paid_at,
            after.fulfilled_at,
            before.id,
            before.version,
        ),
    )
    if changed != 1:
        raise RuntimeError(f"order {before.id} changed under a write (version {before.version})")


def page(tx: Tx, *, limit: int, starting_after: str | None, status: str | None) -> list[Order]:
    """Newest first (ids sort by time), `limit` of them older than `starting_after`."""
    where: list[str] = []
    params: list[Any] = []
    if starting_after is not None:
        where.append("id < ?")
        params.append(starting_after)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(f"{_SELECT}{clause} ORDER BY id DESC LIMIT ?", [*params, limit])
    return [from_row(row) for row in rows]
