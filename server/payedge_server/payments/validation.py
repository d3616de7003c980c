"""Validation of payment API input: each bad field is a 400 with a stable code and its name."""

from __future__ import annotations

import re
from typing import Any

from payedge_server.errors import RequestError
from payedge_server.payments.currencies import minor_units
from payedge_server.payments.declines import LOCALES

MAX_AMOUNT = 99_999_999_999  # minor units; fits every currency's real-world amounts
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_REF = 255

PAYMENT_ID = re.compile(r"pay_[0-9a-f]{24}")
_CARD_LIKE = re.compile(r"[0-9][0-9 -]{11,22}[0-9]")
# A mobile-money payer (`msisdn:<E.164 digits>`, MTN MoMo): up to 15 digits, so the
# 13-15 digit numbers of Côte d'Ivoire or Benin (225/229 + 10 digits) would trip the
# card guard. Such a number is refused only if it could be a card number: 13-15
# digits (Visa 13, Diners 14, Amex 15) whose first digit is a card network's (3-6,
# ISO/IEC 7812's major industry identifiers for banking and travel) and that pass
# the Luhn check. A European number that happens to look like that is refused (the
# payer is told why) rather than risk storing a card number.
_MSISDN = re.compile(r"msisdn:([0-9]{5,15})")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every card number passes (ISO/IEC 7812-1 annex B)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def could_be_card_data(value: str) -> bool:
    """True if `value` may hold a card number (the guard on payment_method and metadata)."""
    msisdn = _MSISDN.fullmatch(value)
    if msisdn is None:
        return _CARD_LIKE.search(value) is not None
    digits = msisdn.group(1)
    return len(digits) >= 13 and digits[0] in "3456" and luhn_valid(digits)


CREATE_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "gateway",
        "user_id",
        "order_ref",
        "payment_method",
        "metadata",
        "payee",
        "commission_type",
        "locale",
    }
)
# SPEC 6: owner and commission-type ids (a wallet is `wallet:<payee>:<CUR>`)
LEDGER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def bad(param: str, message: str, code: str = "parameter_invalid") -> RequestError:
    return RequestError(code, message, param)


def check_payment_id(value: str) -> str:
    if not PAYMENT_ID.fullmatch(value):
        raise bad("id", f"{value[:64]!r} is not a payment id (pay_ followed by 24 hex digits)", "invalid_id")
    return value


def check_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise bad(key, f"unknown parameter {key[:64]!r}", "parameter_unknown")


def amount(value: Any, param: str = "amount", *, minimum: int = 1) -> int:
    if value is None:
        raise bad(param, f"{param} is required", "parameter_missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(param, f"{param} must be an integer number of minor units (e.g. cents)", "amount_invalid")
    if value < minimum:
        raise bad(param, f"{param} must be at least {minimum}", "amount_invalid")
    if value > MAX_AMOUNT:
        raise bad(param, f"{param} must be at most {MAX_AMOUNT}", "amount_invalid")
    return value


def currency(value: Any) -> str:
    if value is None:
        raise bad("currency", "currency is required", "parameter_missing")
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise bad("currency", "currency must be a three-letter ISO 4217 code", "currency_invalid")
    code = value.upper()
    if minor_units(code) is None:
        raise bad("currency", f"unknown currency {value!r}", "currency_invalid")
    return code


def currency_as_carried(value: Any) -> str | None:
    """The code a payment created with `value` carries (upper case), or None if it is refused."""
    try:
        return currency(value)
    except RequestError:
        return None


def optional_ref(body: dict[str, Any], param: str) -> str | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_REF or not value.isprintable():
        raise bad(param, f"{param} must be a printable string of 1 to {MAX_REF} characters")
    return value


def payment_method(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_REF or not value.isprintable():
        raise bad(
            "payment_method", f"payment_method must be a payment-method id of 1 to {MAX_REF} characters"
        )
    if could_be_card_data(value):
        # Never accept (nor store, nor log) raw card numbers: only tokens/ids.
        raise bad(
            "payment_method",
            "payment_method must be a payment-method id (e.g. pm_...), never card data",
            "card_data_refused",
        )
    return value


def ledger_id(body: dict[str, Any], param: str) -> str | None:
    """`payee` / `commission_type` (SPEC 6): 1-64 characters of [A-Za-z0-9_.:-], or absent."""
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, str) or not LEDGER_ID.fullmatch(value):
        raise bad(param, f"{param} must be 1 to 64 characters of [A-Za-z0-9_.:-]")
    return value


def metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("metadata", "metadata must be an object of string keys and string values")
    if len(value) > MAX_METADATA_KEYS:
        raise bad("metadata", f"metadata may hold at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY:
            raise bad(f"metadata[{key[:40]}]", f"metadata keys must have 1 to {MAX_METADATA_KEY} characters")
        if not isinstance(item, str):
            raise bad(f"metadata[{key}]", "metadata values must be strings")
        if len(item) > MAX_METADATA_VALUE:
            raise bad(f"metadata[{key}]", f"metadata values may have at most {MAX_METADATA_VALUE} characters")
        if could_be_card_data(item):
            raise bad(f"metadata[{key}]", "metadata must not hold card data", "card_data_refused")
    return value


def locale(value: Any, param: str = "locale") -> str | None:
    """The customer's language for customer messages: one of LOCALES, or absent (English)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in LOCALES:
        raise bad(param, f"{param} must be one of {', '.join(LOCALES)}")
    return value
