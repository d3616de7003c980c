"""Payment rows: column list, row -> dict, the public view, id generation."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

COLUMNS = (
    "id, amount, currency, gateway, status, version, user_id, order_ref, payment_method, metadata, "
    "gateway_ref, amount_captured, amount_refunded, last_error_code, last_error_message, "
    "created_at, updated_at, locked_until, payee, commission_type"
)
SELECT = f"SELECT {COLUMNS} FROM payments"
_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
DEFAULT_PAYEE = "default"


def _sortable_hex() -> str:
    """24 hex digits: milliseconds since the epoch (11), then 52 random bits (13).

    Ids made later sort later, so the indexes keyed by a payment id (the payments'
    unique id, the status history, the audit trail's subject) grow at their right
    edge: a random id dirtied a random page of each for every new payment, which
    made checkouts slow down as the database outgrew SQLite's page cache.
    """
    return f"{time.time_ns() // 1_000_000:011x}{secrets.randbits(52):013x}"


def new_payment_id() -> str:
    return "pay_" + _sortable_hex()


def new_refund_id() -> str:
    return "re_" + _sortable_hex()


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
        # SPEC 6: the wallet owner credited on success, and the commission type (ledger/)
        "payee": p.get("payee") or DEFAULT_PAYEE,
        "commission_type": p.get("commission_type"),
    }
