"""Validation of order API input (SPEC 8): each bad field is a 400 naming it, e.g. `items[0].quantity`.

A client never prices an order: a body that carries `amount`, `price`, `unit_price` or
`unit_amount` anywhere (at any depth) is refused with 400 `client_price_refused` naming
where, before anything else is looked at.
"""

from __future__ import annotations

import re
from typing import Any, Final

from payedge_server.errors import RequestError
from payedge_server.orders.catalog import product_id
from payedge_server.orders.model import Customer, OrderDraft
from payedge_server.payments import validation
from payedge_server.payments.declines import negotiate
from payedge_server.payments.model import DEFAULT_PAYEE

PRICE_FIELDS: Final = frozenset({"amount", "price", "unit_price", "unit_amount"})
ORDER_FIELDS: Final = frozenset({"items", "currency", "customer", "payee", "gateway", "locale"})
ITEM_FIELDS: Final = frozenset({"product_id", "quantity"})
CUSTOMER_FIELDS: Final = frozenset({"email", "name"})
MAX_ITEMS: Final = 100
MAX_QUANTITY: Final = 1000
MAX_NAME: Final = 200
EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")


def _bad(param: str, message: str, code: str = "parameter_invalid") -> RequestError:
    return RequestError(code, message, param)


def find_price(value: Any, path: str = "") -> str | None:
    """The first place in a JSON value that sets a price or an amount (`items[1].unit_price`), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in PRICE_FIELDS:
                return where
            found = find_price(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_price(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _unknown(body: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for key in body:
        if key not in allowed:
            raise _bad(f"{prefix}{key}"[:100], f"unknown parameter {key[:64]!r}", "parameter_unknown")


def _quantity(value: Any, param: str) -> int:
    if value is None:
        raise _bad(param, f"{param} is required", "parameter_missing")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise _bad(param, f"quantity must be an integer from 1 to {MAX_QUANTITY}")
    return value


def items(value: Any) -> tuple[tuple[str, int], ...]:
    if value is None:
        raise _bad("items", "items is required: [{product_id, quantity}]", "parameter_missing")
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
        raise _bad("items", f"items must be a list of 1 to {MAX_ITEMS} {{product_id, quantity}} objects")
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise _bad(where, "an item is an object {product_id, quantity}")
        _unknown(item, ITEM_FIELDS, where + ".")
        pid = product_id(item.get("product_id"), where + ".product_id")
        if pid in seen:
            raise _bad(where + ".product_id", f"product {pid!r} is listed twice: give one item its quantity")
        seen.add(pid)
        out.append((pid, _quantity(item.get("quantity"), where + ".quantity")))
    return tuple(out)


def customer(value: Any) -> Customer:
    if value is None:
        raise _bad("customer", "customer is required: {email, name?}", "parameter_missing")
    if not isinstance(value, dict):
        raise _bad("customer", "customer must be an object {email, name?}")
    _unknown(value, CUSTOMER_FIELDS, "customer.")
    email = value.get("email")
    if email is None:
        raise _bad("customer.email", "customer.email is required", "parameter_missing")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
        raise _bad("customer.email", "customer.email must be an email address")
    name = value.get("name")
    if name is not None and (
        not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or not name.isprintable()
    ):
        raise _bad("customer.name", f"customer.name must be a printable string of 1 to {MAX_NAME} characters")
    return Customer(email, name)


def _gateway(value: Any) -> str | None:
    """None: the routing rules choose (SPEC 5), or the sandbox without rules."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad("gateway", "gateway must be a string", "gateway_invalid")
    return value


def parse_order(body: dict[str, Any], accept_language: str | None) -> OrderDraft:
    """`POST /v1/orders`: refused with 400 naming the field; the locale from `locale` or Accept-Language."""
    priced = find_price(body)
    if priced is not None:
        raise _bad(
            priced[:100],
            f"{priced[:100]}: an order carries no price or amount: the server prices it from the catalog",
            "client_price_refused",
        )
    _unknown(body, ORDER_FIELDS, "")
    locale = validation.locale(body.get("locale")) or negotiate(accept_language)
    return OrderDraft(
        items=items(body.get("items")),
        currency=validation.currency(body.get("currency")),
        customer=customer(body.get("customer")),
        payee=validation.ledger_id(body, "payee") or DEFAULT_PAYEE,
        gateway=_gateway(body.get("gateway")),
        locale=locale,
    )
