"""The PayPal fake's state (orders, captures, refunds, tokens, idempotent answers) and request parsing."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from payedge_server.fakes.base import JSON, Reject, new_id
from payedge_server.fakes.paypal_errors import error, money_error
from payedge_server.fakes.paypal_money import Money, MoneyIssue, format_value, parse_money


def timestamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Order:
    id: str
    status: str  # CREATED, APPROVED, COMPLETED
    amount: Money
    reference_id: str
    custom_id: str | None
    invoice_id: str | None
    return_url: str | None
    cancel_url: str | None
    create_time: str
    update_time: str
    capture_id: str | None = None


@dataclass(frozen=True)
class Capture:
    id: str
    order_id: str
    status: str  # COMPLETED, PARTIALLY_REFUNDED, REFUNDED
    amount: Money
    refunded: Decimal
    custom_id: str | None
    invoice_id: str | None
    create_time: str
    update_time: str


@dataclass(frozen=True)
class Refund:
    id: str
    capture_id: str
    status: str
    amount: Money
    note_to_payer: str | None
    create_time: str


@dataclass(frozen=True)
class Stored:
    """A 2xx answer kept for replay under its (path, PayPal-Request-Id)."""

    body: JSON


@dataclass
class State:
    orders: dict[str, Order] = field(default_factory=dict)
    captures: dict[str, Capture] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    replies: dict[tuple[str, str], Stored] = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    transmissions: dict[str, bytes] = field(default_factory=dict)

    def clear(self) -> None:
        for holder in (self.orders, self.captures, self.refunds, self.replies, self.transmissions):
            holder.clear()
        self.in_flight.clear()


def _text(body: JSON, name: str, pointer: str, limit: int = 127) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Reject(error(400, "INVALID_PARAMETER_SYNTAX", field=pointer, value=str(value)))
    if not 1 <= len(value) <= limit:
        raise Reject(error(400, "INVALID_STRING_LENGTH", field=pointer, value=value))
    return value


def _urls(body: JSON) -> tuple[str | None, str | None]:
    """return_url / cancel_url from payment_source.paypal.experience_context or application_context."""
    source = body.get("payment_source")
    paypal = source.get("paypal") if isinstance(source, dict) else None
    context = paypal.get("experience_context") if isinstance(paypal, dict) else None
    if not isinstance(context, dict):
        context = body.get("application_context")
    if not isinstance(context, dict):
        return None, None
    return _http_url(context.get("return_url")), _http_url(context.get("cancel_url"))


def _http_url(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def _purchase_unit(body: JSON) -> JSON:
    intent = body.get("intent")
    if intent is None:
        raise Reject(error(400, "MISSING_REQUIRED_PARAMETER", field="/intent"))
    if intent != "CAPTURE":
        # AUTHORIZE exists at PayPal; the fake (and payedge) only captures.
        raise Reject(
            error(
                400,
                "NOT_SUPPORTED" if intent == "AUTHORIZE" else "INVALID_PARAMETER_VALUE",
                field="/intent",
                value=str(intent),
            )
        )
    units = body.get("purchase_units")
    if not isinstance(units, list) or not units:
        raise Reject(error(400, "MISSING_REQUIRED_PARAMETER", field="/purchase_units"))
    if len(units) > 1:
        raise Reject(
            error(400, "NOT_SUPPORTED", field="/purchase_units", value=f"{len(units)} purchase units")
        )
    unit = units[0]
    if not isinstance(unit, dict):
        raise Reject(error(400, "INVALID_PARAMETER_SYNTAX", field="/purchase_units/0"))
    return unit


def order_from(body: JSON) -> Order:
    unit = _purchase_unit(body)
    reference_id = _text(unit, "reference_id", "/purchase_units/0/reference_id", 256) or "default"
    money = parse_money(unit.get("amount"), f"/purchase_units/@reference_id=='{reference_id}'/amount")
    if isinstance(money, MoneyIssue):
        raise money_error(money)
    custom_id = _text(unit, "custom_id", "/purchase_units/0/custom_id")
    invoice_id = _text(unit, "invoice_id", "/purchase_units/0/invoice_id")
    return_url, cancel_url = _urls(body)
    now = timestamp()
    return Order(
        new_id(17), "CREATED", money, reference_id, custom_id, invoice_id, return_url, cancel_url, now, now
    )


def refund_amount(body: JSON, capture: Capture) -> Money:
    remaining = capture.amount.amount - capture.refunded
    if remaining <= 0:
        raise Reject(error(422, "CAPTURE_FULLY_REFUNDED"))
    if body.get("amount") is None:
        return Money(capture.amount.currency, format_value(remaining, capture.amount.currency))
    money = parse_money(body.get("amount"), "/amount")
    if isinstance(money, MoneyIssue):
        raise money_error(money)
    if money.currency != capture.amount.currency:
        raise Reject(
            error(
                422, "REFUND_CAPTURE_CURRENCY_MISMATCH", field="/amount/currency_code", value=money.currency
            )
        )
    if money.amount > remaining:
        raise Reject(error(422, "REFUND_AMOUNT_EXCEEDED", field="/amount/value", value=money.value))
    return money
