"""[catalog]: the products sold through orders and the hosted checkout (SPEC 8).

[[catalog.products]]
id = "basic"
name = "Consultation basique"
prices = { EUR = 2900, XOF = 19000 }   # minor units per currency
active = true                          # optional

Written to the store at every start (orders/catalog.py: the file is the truth for the
products it lists); `POST /v1/products` adds or replaces others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from payedge_server.config.kinds import Invalid, Items, Table
from payedge_server.config.schema import Check, setting

if TYPE_CHECKING:
    from payedge_server.config.model import Config


def _one_product(text: str) -> None:
    from payedge_server.errors import RequestError
    from payedge_server.orders.catalog import parse_product

    try:
        parse_product(json.loads(text))
    except RequestError as exc:
        raise Invalid(f"{exc.param}: {exc.message}" if exc.param else exc.message) from None


def _unique_ids(config: Config) -> str | None:
    seen: dict[str, int] = {}
    for index, text in enumerate(config.catalog.products):
        pid = json.loads(text).get("id")
        if pid in seen:
            return f"products[{index}] repeats the id {pid!r} of products[{seen[pid]}]"
        seen[pid] = index
    return None


@dataclass(frozen=True)
class CatalogConfig:
    products: tuple[str, ...] = setting(
        Items(Table(check=_one_product)),
        (),
        help="products (`[[catalog.products]]`: id, name, prices = { EUR = 2900 }, active); "
        "GET /v1/products lists them with those added through the API",
    )

    checks: ClassVar[tuple[Check, ...]] = (Check("catalog.products", _unique_ids),)
