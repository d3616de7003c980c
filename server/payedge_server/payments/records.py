"""Payment rows: column list, row -> dict, the public view, id generation."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

COLUMNS = (
    "id, amount, currency, gateway, status, version, user_id, order_ref, payment_method, metadata, "
    "gateway_ref, amount_captured, amount_refunded, last_error_code, last_error_message, "
    "created_at, updated_at, locked_until"
)
SELECT = f"SELECT {COLUMNS} FROM payments"
_NAMES = tuple(name.strip() for name in COLUMNS.split(","))


def new_payment_id() -> str:
    return "pay_" + secrets.token_hex(12)


def new_refund_id() -> str:
    return "re_" + secrets.token_hex(12)


def from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """The internal dict of a payment row (metadata decoded)."""
    p = dict(zip(_NAMES, row, strict=True))
    p["metadata"] = orjson.loads(p["metadata"])
    return p


def public(p: dict[str, Any]) -> dict[str, Any]:
    """The payment as the API shows it."""
    error = None
    if p["last_error_code"] is not None:
        error = {"code": p["last_error_code"], "message": p["last_error_message"]}
    return {
        "id": p["id"],
        "object": "payment",
        "amount": p["amount"],
        "currency": p["currency"],
        "gateway": p["gateway"],
        "status": p["status"],
        "version": p["version"],
        "user_id": p["user_id"],
        "order_ref": p["order_ref"],
        "payment_method": p["payment_method"],
        "metadata": p["metadata"],
        "gateway_ref": p["gateway_ref"],
        "amount_captured": p["amount_captured"],
        "amount_refunded": p["amount_refunded"],
        "last_error": error,
        "created": p["created_at"] // 1000,
        "updated": p["updated_at"] // 1000,
    }
