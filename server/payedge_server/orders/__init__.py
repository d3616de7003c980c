"""The catalog, orders and client secrets (SPEC 8): `setup_orders(app)` wires them into the server.

Products come from the config file (`[[catalog.products]]`, written to the store at
every start) and `POST /v1/products`; `POST /v1/orders` prices an order on the server
and creates its payment; the order follows its payment through a payment hook.
Client secrets let a browser read one payment (client_secrets.py). docs/orders.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.orders import catalog, client_secrets, openapi_paths, routes
from payedge_server.orders.routes import ORDERS
from payedge_server.orders.service import OrderService

__all__ = ["ORDERS", "OrderService", "setup_orders"]


def setup_orders(app: web.Application) -> None:
    """Call after the store's cleanup context is registered (the catalog is written once it is open)."""
    store, payments = app[keys.STORE], app[keys.PAYMENTS]
    service = OrderService(store, payments)
    app[ORDERS] = service
    payments.add_hook(service.on_payment_change)
    app[keys.AUTHENTICATORS].append(client_secrets.authenticator(store))
    drafts = [catalog.parse_product(json.loads(text)) for text in app[keys.CONFIG].catalog.products]

    async def catalog_ctx(app: web.Application) -> AsyncIterator[None]:
        await store.write(lambda tx: catalog.sync_config_in_tx(tx, drafts))
        yield

    app.cleanup_ctx.append(catalog_ctx)
    routes.add_routes(app)
    openapi.register(app, openapi_paths.PATHS)
