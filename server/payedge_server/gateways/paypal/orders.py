"""PayPal's objects in payedge's terms: amounts, an order or capture as a `GatewayResult`.

Amounts (developer.paypal.com/reference/currency-codes): `value` is a decimal
string; HUF, JPY and TWD take no decimals at PayPal (ISO gives HUF and TWD two:
payedge sends whole forints and dollars only, and refuses the rest), the other
currencies two. PayPal takes only the currencies of that list.

Orders v2 (developer.paypal.com/docs/api/orders/v2): an order is CREATED (or
PAYER_ACTION_REQUIRED) until the payer approves it, APPROVED until the merchant
captures it, COMPLETED once captured; the capture then says whether money moved
(COMPLETED, PENDING, DECLINED, FAILED, PARTIALLY_REFUNDED, REFUNDED): PayPal warns
that a COMPLETED order can hold a declined capture, so the capture decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payedge_server.gateways.amounts import Scale
from payedge_server.gateways.base import GatewayResult, GatewayUnavailableError
from payedge_server.gateways.http import field, text
from payedge_server.payments.model import LastError, NextAction, NextActionType, Payment, PaymentStatus

NAME = "paypal"
CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR"}
    | {"MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"}
)
SCALE = Scale(NAME, exponents={"HUF": 0, "JPY": 0, "TWD": 0}, currencies=CURRENCIES)

_CAPTURED = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
_WAITING = ("CREATED", "SAVED", "PAYER_ACTION_REQUIRED")


def money(amount: int, currency: str) -> dict[str, str]:
    """`amount` minor units as PayPal's `{currency_code, value}` (refused unless exact)."""
    return {"currency_code": currency, "value": SCALE.to_decimal(amount, currency)}


def minor(obj: Any) -> int | None:
    """A PayPal `{currency_code, value}` as ISO minor units; None unless exact and readable."""
    currency, value = field(obj, "currency_code"), field(obj, "value")
    if not isinstance(currency, str) or currency not in CURRENCIES or not isinstance(value, str):
        return None
    whole, dot, frac = value.partition(".")
    frac = frac.rstrip("0")  # "1500.00" JPY is 1500 JPY
    return SCALE.from_decimal(whole + (dot + frac if frac else ""), currency)


def approve_url(order: Mapping[str, Any]) -> str | None:
    links = order.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") in ("approve", "payer-action"):
            return text(link.get("href"))
    return None


def first_capture(order: Mapping[str, Any]) -> dict[str, Any] | None:
    units = order.get("purchase_units")
    unit = units[0] if isinstance(units, list) and units and isinstance(units[0], dict) else {}
    captures = field(unit, "payments", "captures")
    if isinstance(captures, list) and captures and isinstance(captures[-1], dict):
        return captures[-1]
    return None


def refunded_total(order: Mapping[str, Any]) -> int | None:
    """The order's refunded amount from its refunds list (PayPal lists them once refunded)."""
    units = order.get("purchase_units")
    unit = units[0] if isinstance(units, list) and units and isinstance(units[0], dict) else {}
    refunds = field(unit, "payments", "refunds")
    if not isinstance(refunds, list):
        return None
    total = 0
    for refund in refunds:
        amount = minor(field(refund, "amount")) if field(refund, "status") == "COMPLETED" else 0
        if amount is None:
            return None
        total += amount
    return total


def declined(code: str, message: str = "PayPal declined the payment") -> LastError:
    return LastError("card_declined", message, code)


def capture_result(capture: Mapping[str, Any], order_id: str, order: Mapping[str, Any]) -> GatewayResult:
    status = text(capture.get("status"))
    if status in _CAPTURED:
        captured = minor(capture.get("amount"))
        if captured is None:
            raise GatewayUnavailableError("paypal answered a capture without a readable amount")
        refunded = refunded_total(order)
        if refunded is None and status == "REFUNDED":
            refunded = captured
        return GatewayResult(
            PaymentStatus.SUCCEEDED, order_id, amount_captured=captured, amount_refunded=refunded
        )
    if status == "PENDING":
        return GatewayResult(PaymentStatus.PROCESSING, order_id)
    if status in ("DECLINED", "FAILED"):
        reason = text(field(capture, "status_details", "reason")) or str(status)
        return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, order_id, error=declined(reason))
    raise GatewayUnavailableError(f"paypal answered a capture in an unknown status {str(status)[:40]!r}")


def order_result(order: Mapping[str, Any], payment: Payment) -> GatewayResult:
    """What an order says about `payment` (raise GatewayUnavailableError for an unreadable one)."""
    order_id, status = text(order.get("id")), order.get("status")
    if order_id is None or not isinstance(status, str):
        raise GatewayUnavailableError("paypal answered an order without id or status")
    if status == "COMPLETED":
        capture = first_capture(order)
        if capture is None:
            raise GatewayUnavailableError("paypal answered a completed order without a capture")
        return capture_result(capture, order_id, order)
    if status == "APPROVED":
        return GatewayResult(PaymentStatus.PROCESSING, order_id)  # approved: payedge captures it
    if status in _WAITING:
        if payment.status is not PaymentStatus.PROCESSING:
            return GatewayResult(payment.status, order_id, error=payment.last_error)  # nothing new
        url = approve_url(order)
        action = NextAction(NextActionType.REDIRECT, url) if url else payment.next_action
        return GatewayResult(PaymentStatus.PROCESSING, order_id, next_action=action)
    if status == "VOIDED":
        error = LastError("payment_failed", "the PayPal order was voided", "VOIDED")
        return GatewayResult(PaymentStatus.FAILED, order_id, error=error)
    raise GatewayUnavailableError(f"paypal answered an order in an unknown status {status[:40]!r}")
