"""Products and orders as the domain sees them (SPEC 8): frozen dataclasses, integer minor units.

An order's status follows its payment (seed 002: `pending -> paid -> fulfilled | canceled |
refunded`): `status_for` is the one rule, applied in the payment's own write by the
payment hook, so whatever order a provider's events arrive in, the order shows what its
payment implies. Only `fulfilled` is the merchant's own step (on a paid order).
Times are UNIX milliseconds; the API shows seconds.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from payedge_server.payments.model import PaymentStatus


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELED = "canceled"
    REFUNDED = "refunded"


ORDER_STATUSES: tuple[str, ...] = tuple(s.value for s in OrderStatus)
ORDER_PREFIX = "ord_"


def status_for(payment: PaymentStatus, fulfilled: bool) -> OrderStatus:
    """The order's status implied by its payment's (and whether the merchant fulfilled it).

    Money taken and kept: paid (fulfilled once the merchant says so); all of it given back:
    refunded; a payment that ended without taking money: canceled; anything else: pending.
    A partial refund leaves the order paid (its view shows `amount_refunded`).
    """
    if payment is PaymentStatus.REFUNDED:
        return OrderStatus.REFUNDED
    if payment.captured:
        return OrderStatus.FULFILLED if fulfilled else OrderStatus.PAID
    if payment in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        return OrderStatus.CANCELED
    return OrderStatus.PENDING


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_order_id() -> str:
    """`ord_` + 24 hex digits: milliseconds (11), then 52 random bits (13); later ids sort later."""
    return f"{ORDER_PREFIX}{time.time_ns() // 1_000_000:011x}{secrets.randbits(52):013x}"


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog entry: a price per currency (minor units), from the config file or the API."""

    id: str
    name: str
    prices: Mapping[str, int]
    active: bool
    source: str  # "config" | "api"
    created_at: int
    updated_at: int

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "product",
            "name": self.name,
            "prices": dict(self.prices),
            "active": self.active,
            "source": self.source,
            "created": self.created_at // 1000,
            "updated": self.updated_at // 1000,
        }


@dataclass(frozen=True, slots=True)
class ProductDraft:
    """A validated product to create or replace."""

    id: str
    name: str
    prices: Mapping[str, int]
    active: bool = True


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One item as priced by the server when the order was made (the price is kept with it)."""

    product_id: str
    name: str
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    def view(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """A validated `POST /v1/orders`: what to sell, to whom, in which currency (no price: SPEC 8)."""

    items: tuple[tuple[str, int], ...]  # (product_id, quantity), in the request's order
    currency: str
    customer: Customer
    payee: str
    gateway: str | None = None  # None: routed (SPEC 5), the sandbox when no rules are configured
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    status: OrderStatus
    version: int
    amount: int
    currency: str
    lines: tuple[OrderLine, ...]
    customer: Customer
    payee: str
    locale: str | None
    payment_id: str
    created_at: int
    updated_at: int
    paid_at: int | None = None
    fulfilled_at: int | None = None

    @property
    def receipt_number(self) -> str:
        """The receipt's reference: the order id's digits, in groups of four to be read out
        (`R-1A22-D5B6-E15E-2A69-421D-4930`; unique, like the order id)."""
        digits = self.id.removeprefix(ORDER_PREFIX).upper()
        return "R-" + "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What an order view shows of its payment."""

    status: PaymentStatus
    gateway: str
    amount_refunded: int
    last_error: dict[str, Any] | None


def order_view(order: Order, payment: PaymentFacts) -> dict[str, Any]:
    """`GET /v1/orders/{id}`: the order's own `status` and its payment's `payment_status` (SPEC 8)."""
    receipt = None
    if order.paid_at is not None:
        receipt = {"number": order.receipt_number, "issued": order.paid_at // 1000}
    return {
        "id": order.id,
        "object": "order",
        "status": order.status.value,
        "payment_status": payment.status.value,
        "amount": order.amount,
        "currency": order.currency,
        "amount_refunded": payment.amount_refunded,
        "items": [line.view() for line in order.lines],
        "customer": {"email": order.customer.email, "name": order.customer.name},
        "payee": order.payee,
        "locale": order.locale,
        "payment_id": order.payment_id,
        "gateway": payment.gateway,
        "last_error": payment.last_error,
        "created": order.created_at // 1000,
        "updated": order.updated_at // 1000,
        "paid_at": order.paid_at // 1000 if order.paid_at is not None else None,
        "fulfilled_at": order.fulfilled_at // 1000 if order.fulfilled_at is not None else None,
        "receipt": receipt,
    }
