"""The catalog (SPEC 8): products with a price per currency, from the config file and the API.

`parse_product` is the one validation of a product, used by `POST /v1/products` and by
the config file's `[[catalog.products]]` (where a bad product stops the start with its
key path). Products live in the store: those of the config file are written there at
every start (`sync_config_in_tx`: the file is the truth for what it lists; a product
it no longer lists is deactivated, kept for the orders that name it); the API creates
or replaces others. Orders only ever read prices from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.errors import RequestError
from payedge_server.orders.model import Product, ProductDraft, now_ms
from payedge_server.payments import validation

PRODUCT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_NAME = 200
MAX_PRICES = 50
PRODUCT_FIELDS = frozenset({"id", "name", "prices", "active"})

_COLUMNS = "id, name, prices, active, source, created_at, updated_at"


def _bad(param: str, message: str, code: str = "parameter_invalid") -> RequestError:
    return RequestError(code, message, param)


def product_id(value: Any, param: str = "id") -> str:
    if value is None:
        raise _bad(param, f"{param} is required", "parameter_missing")
    if not isinstance(value, str) or not PRODUCT_ID.fullmatch(value):
        raise _bad(param, f"{param} must be 1 to 64 characters of [A-Za-z0-9_.:-]")
    return value


def _name(value: Any) -> str:
    if value is None:
        raise _bad("name", "name is required", "parameter_missing")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME or not value.isprintable():
        raise _bad("name", f"name must be a printable string of 1 to {MAX_NAME} characters")
    return value


def _prices(value: Any) -> dict[str, int]:
    if value is None:
        raise _bad("prices", "prices is required: an object of currency -> amount", "parameter_missing")
    if not isinstance(value, dict) or not value or len(value) > MAX_PRICES:
        raise _bad("prices", f"prices must be an object of 1 to {MAX_PRICES} currency -> amount")
    prices: dict[str, int] = {}
    for raw, amount in value.items():
        param = f"prices.{raw[:8]}"
        if not (len(raw) == 3 and raw.isascii() and raw.isupper()):
            raise _bad(param, "a price's currency is an upper-case ISO 4217 code (EUR)", "currency_invalid")
        try:
            currency = validation.currency(raw)
        except RequestError as exc:
            raise _bad(param, exc.message, exc.code) from None
        prices[currency] = validation.amount(amount, param)
    return prices


def parse_product(body: Mapping[str, Any]) -> ProductDraft:
    """A product from its JSON (or TOML) object; RequestError naming the bad field."""
    validation.check_unknown(dict(body), PRODUCT_FIELDS)
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise _bad("active", "active must be true or false")
    return ProductDraft(
        product_id(body.get("id")), _name(body.get("name")), _prices(body.get("prices")), active
    )


# -- the store ---------------------------------------------------------------------------


def _from_row(row: Sequence[Any]) -> Product:
    pid, name, prices, active, source, created, updated = row
    return Product(pid, name, orjson.loads(prices), bool(active), source, created, updated)


def load_in_tx(tx: Tx, pid: str) -> Product | None:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM products WHERE id = ?", (pid,))
    return _from_row(row) if row else None


def load_many_in_tx(tx: Tx, ids: Iterable[str]) -> dict[str, Product]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM products WHERE id IN ({marks})", wanted)
    return {row[0]: _from_row(row) for row in rows}


def upsert_in_tx(tx: Tx, draft: ProductDraft, source: str, now: int | None = None) -> tuple[Product, bool]:
    """Create or replace a product; returns it and whether it was created."""
    now = now_ms() if now is None else now
    existing = load_in_tx(tx, draft.id)
    prices = orjson.dumps(dict(sorted(draft.prices.items()))).decode()
    if existing is None:
        tx.execute(
            f"INSERT INTO products ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (draft.id, draft.name, prices, int(draft.active), source, now, now),
        )
        created_at = now
    else:
        tx.execute(
            "UPDATE products SET name = ?, prices = ?, active = ?, source = ?, updated_at = ? WHERE id = ?",
            (draft.name, prices, int(draft.active), source, now, draft.id),
        )
        created_at = existing.created_at
    product = Product(draft.id, draft.name, dict(draft.prices), draft.active, source, created_at, now)
    return product, existing is None


def list_in_tx(tx: Tx, *, limit: int, starting_after: str | None, active: bool | None) -> list[Product]:
    """Products by id, `limit` of them after `starting_after`, optionally only (in)active ones."""
    where: list[str] = []
    params: list[Any] = []
    if starting_after is not None:
        where.append("id > ?")
        params.append(starting_after)
    if active is not None:
        where.append("active = ?")
        params.append(int(active))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM products{clause} ORDER BY id LIMIT ?", [*params, limit])
    return [_from_row(row) for row in rows]


def sync_config_in_tx(tx: Tx, drafts: Sequence[ProductDraft]) -> None:
    """The config file's products, written at start; config products it no longer lists are deactivated."""
    now = now_ms()
    for draft in drafts:
        upsert_in_tx(tx, draft, "config", now)
    listed = [d.id for d in drafts]
    marks = ", ".join("?" * len(listed))
    unlisted = f" AND id NOT IN ({marks})" if listed else ""
    tx.execute(
        f"UPDATE products SET active = 0, updated_at = ? WHERE source = 'config' AND active = 1{unlisted}",
        (now, *listed),
    )
