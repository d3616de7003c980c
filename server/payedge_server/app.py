"""`create_app(config)`: the aiohttp application factory of the edge server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from payedge_server import api_docs, health, housekeeping, metrics, middleware, openapi, quotes, terminals
from payedge_server.auth import ApiKeys, Authenticator
from payedge_server.checkout import setup_checkout
from payedge_server.config import Config
from payedge_server.config.kinds import mask_url_password
from payedge_server.contracts import Store
from payedge_server.dashboard import setup_dashboard
from payedge_server.gateways import hosted
from payedge_server.gateways.base import Gateway, WebhookParser
from payedge_server.gateways.sandbox import SandboxGateway, SandboxWebhooks, new_webhook_secret
from payedge_server.gateways.stripe import StripeWebhooks
from payedge_server.idempotency import Idempotency
from payedge_server.keys import (
    AUTHENTICATORS,
    CONFIG,
    GATEWAYS,
    IDEMPOTENCY,
    LIVE,
    PAYMENTS,
    PUBLIC_PREFIXES,
    STORE,
    WEBHOOKS,
)
from payedge_server.ledger import setup_ledger
from payedge_server.live import setup_live
from payedge_server.live_feed import setup_live_feed
from payedge_server.openapi import paths
from payedge_server.orders import setup_orders
from payedge_server.parking import setup_parking
from payedge_server.payments import routes as payment_routes
from payedge_server.payments.service import PaymentService
from payedge_server.quotes import TARIFF
from payedge_server.ratelimit import RateLimiter
from payedge_server.routing import setup_routing
from payedge_server.shared_redis import RedisDedupe, setup_redis
from payedge_server.store import migrations, open_store
from payedge_server.webhooks import listing as webhook_listing
from payedge_server.webhooks.ingest import WebhookIngest

log = logging.getLogger("payedge.server")


def self_url(config: Config) -> str:
    """Where the server reaches itself (the sandbox's async webhooks)."""
    if config.server.self_url:
        return config.server.self_url.rstrip("/")
    host = config.server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.server.port}"


def build_gateways(config: Config, store: Store) -> dict[str, Gateway]:
    gateways: dict[str, Gateway] = {
        "sandbox": SandboxGateway(
            self_url(config) + "/v1/webhooks/sandbox",
            config.gateways.sandbox.webhook_secret or new_webhook_secret(),
            async_delay=config.gateways.sandbox.async_delay,
        )
    }
    stripe = config.gateways.stripe
    if stripe.api_key:
        from payedge_server.gateways.stripe import StripeGateway

        gateways["stripe"] = StripeGateway(stripe.api_key, stripe.api_base)
    gateways.update(hosted.build(config, store, self_url(config)))
    return gateways


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    await store.open()  # type: ignore[attr-defined]
    await migrations.upgrade(store)
    # Parts that were set up in the factory (live) are known now.
    app[PAYMENTS].live = app.get(LIVE)
    config = app[CONFIG]
    gateways: dict[str, Gateway] = app[GATEWAYS]
    log.info(
        "started: store %s, gateways %s, %d API key(s), %d stripe webhook secret(s)",
        mask_url_password(config.store.database_url),
        ",".join(sorted(gateways)),
        len(config.auth.api_keys),
        len(config.gateways.stripe.webhook_secrets),
    )
    yield
    await store.close()  # type: ignore[attr-defined]
    log.info("stopped: store flushed and closed")


async def _gateways_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    for gateway in app[GATEWAYS].values():
        await gateway.close()


async def _housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    """Rows that grow with traffic are purged by age (housekeeping.py), in small batches."""
    retention = app[CONFIG].retention
    plan = housekeeping.purges(retention)
    task = asyncio.get_running_loop().create_task(housekeeping.run_forever(app[STORE], plan, retention.every))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sandbox_deliveries_ctx(app: web.Application) -> AsyncIterator[None]:
    """The sandbox's durable async webhooks: delivered from the store, also those of a crashed process."""
    sandbox = app[GATEWAYS]["sandbox"]
    assert isinstance(sandbox, SandboxGateway)
    task = asyncio.get_running_loop().create_task(sandbox.run_deliveries(app[STORE]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sandbox.release_claims()


def shares_state(config: Config, dialect: str) -> bool:
    """Whether other processes may serve the same data: workers, or instances on one PostgreSQL."""
    return config.server.workers > 1 or dialect == "postgresql"


def create_app(config: Config) -> web.Application:
    store = open_store(config.store.database_url)
    idempotency = Idempotency(store)
    public_prefixes: list[str] = []
    authenticators: list[Authenticator] = []
    limiter = RateLimiter.from_config(config)  # SPEC 8: None (no cost at all) unless configured
    app = web.Application(
        client_max_size=middleware.MAX_BODY,
        middlewares=[
            middleware.build(
                ApiKeys(config.auth.api_keys), idempotency, public_prefixes, authenticators, limiter
            )
        ],
    )
    app[CONFIG] = config
    app[STORE] = store
    app[IDEMPOTENCY] = idempotency
    app[PUBLIC_PREFIXES] = public_prefixes
    app[AUTHENTICATORS] = authenticators
    # Registered first: closed last, after every part that uses it has stopped.
    shared = setup_redis(app, config.redis.url) if config.redis.url else None
    if limiter is not None and shared is not None:
        limiter.attach(shared)
    gateways = build_gateways(config, store)
    app[GATEWAYS] = gateways
    payments = PaymentService(store, gateways)
    app[PAYMENTS] = payments
    sandbox = gateways["sandbox"]
    assert isinstance(sandbox, SandboxGateway)
    parsers: dict[str, WebhookParser] = {
        "stripe": StripeWebhooks(config.gateways.stripe.webhook_secrets),
        "sandbox": SandboxWebhooks(sandbox.webhook_secret),
        **hosted.parsers(app, config, payments),
    }
    app[WEBHOOKS] = WebhookIngest(payments, parsers, retention=config.retention.webhook_events)
    if shared is not None:
        app[WEBHOOKS].shared_dedupe = RedisDedupe(shared)

    app.cleanup_ctx.append(_store_ctx)
    setup_ledger(app)  # SPEC 6: right after the store (its tables), before the parts that read payments
    # SPEC 8: catalog, orders, client secrets; its catalog is written at start, before the sandbox's
    # deliveries begin (a start's writes all land before the server listens).
    setup_orders(app)
    app.cleanup_ctx.append(_gateways_ctx)
    app.cleanup_ctx.append(_housekeeping_ctx)
    # After the store and the gateways: stopped before the sandbox's session and the store close.
    app.cleanup_ctx.append(_sandbox_deliveries_ctx)
    app.cleanup_ctx.append(hosted.pollers_ctx)  # status reads of hosted payments

    payment_routes.add_routes(app)
    app.router.add_post("/v1/webhooks/{provider}", app[WEBHOOKS].handle)
    hosted.add_routes(app, app[WEBHOOKS])
    app.router.add_get("/v1/webhook-events", webhook_listing.list_events)
    health.add_routes(app)
    app.router.add_get(
        "/metrics", metrics.handler(store, metrics.instance_name(config.server.port, config.server.instance))
    )
    app.router.add_get("/openapi.json", openapi.handle_openapi)
    openapi.register(app, paths.PAYMENTS)
    openapi.register(app, paths.WEBHOOKS)
    openapi.register(app, paths.SERVICE)
    api_docs.setup_api_docs(app)  # GET /docs: the browsable HTTP reference

    app[TARIFF] = config.tariff.compile()
    quotes.add_routes(app)
    terminals.setup_terminals(app, config)
    openapi.register(app, paths.QUOTES_AND_TERMINALS)

    several = shares_state(config, store.dialect)
    hub = setup_live(app, payments.status_lookup, recheck_interval=1.0 if several else None)
    if several:
        setup_live_feed(app, store, hub, shared)
    openapi.register(app, paths.LIVE)
    setup_parking(app)
    setup_checkout(app)
    setup_dashboard(app)
    setup_routing(app)  # SPEC 5: [routing], fallback on confirm, /v1/gateways, shared health
    return app
