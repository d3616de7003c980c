"""PayPal's money: `{"currency_code", "value"}` with a decimal string, validated as PayPal does.

Rules (PayPal Orders v2 / Payments v2 OpenAPI and the currency-codes reference): ``value``
is a string matching ``^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$``, at most 32 characters;
HUF, JPY and TWD take no decimals (``DECIMALS_NOT_SUPPORTED``), the other currencies at
most two (``DECIMAL_PRECISION``); zero or less is ``CANNOT_BE_ZERO_OR_NEGATIVE``; above
999999999999999.99 ``MAX_VALUE_EXCEEDED``; a currency PayPal does not take is
``INVALID_CURRENCY_CODE``. Syntax problems are 400 INVALID_REQUEST, the rest 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: PayPal's supported currencies (developer.paypal.com, "Currency codes").
CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR"}
    | {"MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"}
)
NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
VALUE_PATTERN = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
MAX_VALUE = Decimal("999999999999999.99")


@dataclass(frozen=True)
class MoneyIssue:
    """Why an amount is refused: HTTP status, PayPal issue, the JSON pointer and the bad value."""

    status: int
    issue: str
    field: str
    value: str


@dataclass(frozen=True)
class Money:
    currency: str
    value: str

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value)

    def as_json(self) -> dict[str, str]:
        return {"currency_code": self.currency, "value": self.value}


def format_value(amount: Decimal, currency: str) -> str:
    """PayPal's rendering of an amount: no decimals for HUF/JPY/TWD, two otherwise."""
    return f"{amount:.0f}" if currency in NO_DECIMALS else f"{amount:.2f}"


def parse_money(raw: Any, pointer: str) -> Money | MoneyIssue:
    """A valid `Money` from the request's amount object at JSON pointer `pointer`, or the issue."""
    if not isinstance(raw, dict):
        return MoneyIssue(
            400, "MISSING_REQUIRED_PARAMETER" if raw is None else "INVALID_PARAMETER_SYNTAX", pointer, ""
        )
    currency, value = raw.get("currency_code"), raw.get("value")
    for name, item in (("currency_code", currency), ("value", value)):
        if item is None:
            return MoneyIssue(400, "MISSING_REQUIRED_PARAMETER", f"{pointer}/{name}", "")
        if not isinstance(item, str):
            return MoneyIssue(400, "INVALID_PARAMETER_SYNTAX", f"{pointer}/{name}", str(item))
    assert isinstance(currency, str) and isinstance(value, str)
    return _check_value(currency, value, pointer)


def _check_value(currency: str, value: str, pointer: str) -> Money | MoneyIssue:
    where = f"{pointer}/value"
    if len(value) > 32:
        return MoneyIssue(400, "INVALID_STRING_LENGTH", where, value)
    if not VALUE_PATTERN.match(value):
        return MoneyIssue(400, "INVALID_PARAMETER_SYNTAX", where, value)
    if len(currency) != 3 or currency not in CURRENCIES:
        return MoneyIssue(422, "INVALID_CURRENCY_CODE", f"{pointer}/currency_code", currency)
    decimals = len(value.partition(".")[2])
    if currency in NO_DECIMALS and "." in value:
        return MoneyIssue(422, "DECIMALS_NOT_SUPPORTED", where, value)
    if decimals > 2:
        return MoneyIssue(422, "DECIMAL_PRECISION", where, value)
    amount = Decimal(value)
    if amount <= 0:
        return MoneyIssue(422, "CANNOT_BE_ZERO_OR_NEGATIVE", where, value)
    if amount > MAX_VALUE:
        return MoneyIssue(422, "MAX_VALUE_EXCEEDED", where, value)
    return Money(currency, format_value(amount, currency))  # PayPal answers "10" as "10.00"
