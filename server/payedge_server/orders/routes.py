"""HTTP routes of the catalog and orders (SPEC 8): parse, call the service, render.

- `GET /v1/products`, `POST /v1/products` (201 created, 200 replaced), `GET /v1/products/{id}`;
- `POST /v1/orders` (201 with the payment's `client_secret`), `GET /v1/orders`,
  `GET /v1/orders/{id}` (also with `?client_secret=` of its payment),
  `POST /v1/orders/{id}/fulfill`, `POST /v1/orders/{id}/cancel`.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from payedge_server import idempotency
from payedge_server.errors import NotFoundError, RequestError, json_response, read_json_object
from payedge_server.orders import catalog, client_secrets
from payedge_server.orders.model import ORDER_STATUSES
from payedge_server.orders.service import OrderService, render_created
from payedge_server.orders.validation import parse_order
from payedge_server.payments.validation import check_unknown

ORDERS: Final = web.AppKey("orders", OrderService)
ORDER_ID: Final = re.compile(r"ord_[0-9a-f]{24}")
MAX_LIMIT: Final = 100


def _service(request: web.Request) -> OrderService:
    return request.app[ORDERS]


def _order_id(request: web.Request) -> str:
    value = request.match_info["id"]
    if not ORDER_ID.fullmatch(value):
        raise RequestError("invalid_id", f"{value[:64]!r} is not an order id (ord_ and 24 hex digits)", "id")
    return value


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(MAX_LIMIT))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise RequestError("parameter_invalid", f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return int(raw)


def _known_query(request: web.Request, allowed: frozenset[str]) -> None:
    for name in request.query:
        if name not in allowed:
            raise RequestError("parameter_unknown", f"unknown parameter {name[:64]!r}", name[:64])


# -- products --------------------------------------------------------------------------------


async def list_products(request: web.Request) -> web.Response:
    _known_query(request, frozenset({"limit", "starting_after", "active"}))
    after = request.query.get("starting_after")
    if after is not None:
        catalog.product_id(after, "starting_after")
    active_raw = request.query.get("active")
    if active_raw not in (None, "true", "false"):
        raise RequestError("parameter_invalid", "active must be true or false", "active")
    active = None if active_raw is None else active_raw == "true"
    limit = _limit(request)
    found = await _service(request).store.read(
        lambda tx: catalog.list_in_tx(tx, limit=limit + 1, starting_after=after, active=active)
    )
    data = [p.view() for p in found[:limit]]
    return json_response({"object": "list", "data": data, "has_more": len(found) > limit})


async def get_product(request: web.Request) -> web.Response:
    pid = catalog.product_id(request.match_info["id"])
    product = await _service(request).store.read(lambda tx: catalog.load_in_tx(tx, pid))
    if product is None:
        raise NotFoundError("product_not_found", f"no product {pid!r}", "id")
    return json_response(product.view())


async def put_product(request: web.Request) -> web.Response:
    draft = catalog.parse_product(await read_json_object(request))
    product, created = await _service(request).store.write(lambda tx: catalog.upsert_in_tx(tx, draft, "api"))
    return json_response(product.view(), status=201 if created else 200)


# -- orders ----------------------------------------------------------------------------------


async def create_order(request: web.Request) -> web.Response:
    draft = parse_order(await read_json_object(request), request.headers.get("Accept-Language"))
    key = idempotency.context(request, render_created)
    status, body = render_created(await _service(request).create(draft, key))
    return json_response(body, status=status)


async def get_order(request: web.Request) -> web.Response:
    order_id = _order_id(request)
    scoped: str | None = request.get(client_secrets.PAYMENT)
    return json_response(await _service(request).get(order_id, payment_id=scoped))


async def list_orders(request: web.Request) -> web.Response:
    _known_query(request, frozenset({"limit", "starting_after", "status"}))
    after = request.query.get("starting_after")
    if after is not None and not ORDER_ID.fullmatch(after):
        raise RequestError("invalid_id", "starting_after must be an order id", "starting_after")
    status = request.query.get("status")
    if status is not None and status not in ORDER_STATUSES:
        raise RequestError(
            "parameter_invalid", f"status must be one of {', '.join(ORDER_STATUSES)}", "status"
        )
    return json_response(
        await _service(request).list(limit=_limit(request), starting_after=after, status=status)
    )


async def fulfill_order(request: web.Request) -> web.Response:
    order_id = _order_id(request)
    check_unknown(await read_json_object(request), frozenset())
    return json_response(await _service(request).fulfill(order_id))


async def cancel_order(request: web.Request) -> web.Response:
    order_id = _order_id(request)
    check_unknown(await read_json_object(request), frozenset())
    idempotency.mark_started(request)
    return json_response(await _service(request).cancel(order_id))


idempotency.checks_in_tx(create_order)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/products", list_products)
    app.router.add_post("/v1/products", put_product)
    app.router.add_get("/v1/products/{id}", get_product)
    app.router.add_post("/v1/orders", create_order)
    app.router.add_get("/v1/orders", list_orders)
    app.router.add_get("/v1/orders/{id}", get_order)
    app.router.add_post("/v1/orders/{id}/fulfill", fulfill_order)
    app.router.add_post("/v1/orders/{id}/cancel", cancel_order)
