"""Routing in the server (SPEC 5; docs/routing.md, "In the server").

`setup_routing(app)` compiles the `[routing]` rules once into a `payedge.Router`
(router.py), gives it to the payment service (a payment naming no gateway is routed:
payments/operations.py at creation, payments/confirm.py at confirm, with fallback),
keeps attempts' outcomes settled for the statistics (`repository.settle_attempt`),
shares health between instances through Redis when `--redis-url` is set (sync.py,
probes.py), exposes Prometheus metrics per gateway (metrics.py) and adds the routes
(http.py): `GET /v1/gateways`, `GET /v1/gateways/stats`, `POST /v1/routing/simulate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.contracts import Tx
from payedge_server.payments import repository
from payedge_server.payments.model import PaymentChange, PaymentStatus
from payedge_server.routing import metrics
from payedge_server.routing.http import PEERS, ROUTING, add_routes
from payedge_server.routing.openapi_paths import PATHS
from payedge_server.routing.probes import RedisProbes
from payedge_server.routing.router import Routing
from payedge_server.routing.sync import HealthSync
from payedge_server.shared_redis import REDIS

__all__ = ["ROUTING", "Routing", "setup_routing"]


def instance_id(port: int) -> str:
    """This process among the instances sharing health: host, port, pid and a random part."""
    return f"{socket.gethostname()}:{port}:{os.getpid()}:{secrets.token_hex(3)}"


def settle_attempts(tx: Tx, change: PaymentChange) -> None:
    """A payment leaving `processing` (callback, status read): its attempt takes the outcome."""
    before, after, processing = change.before, change.after, PaymentStatus.PROCESSING
    if before is not None and before.status is processing and after.status is not processing:
        repository.settle_attempt(tx, after)


def setup_routing(app: web.Application) -> Routing:
    config = app[keys.CONFIG]
    payments = app[keys.PAYMENTS]
    shared = app.get(REDIS)
    instance = instance_id(config.server.port)
    interval = config.redis.routing_sync_interval
    probes = RedisProbes(shared, instance, linger=2 * interval) if shared is not None else None
    routing = Routing(config.routing, payments.gateways, probes)
    payments.routing = routing
    payments.add_hook(settle_attempts)
    app[ROUTING] = routing
    app[PEERS] = {}
    metrics.HEALTH.router = routing.router
    if shared is not None:
        sync = HealthSync(shared, routing.router, instance, interval)
        app[PEERS] = sync.peers

        async def sharing(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.get_running_loop().create_task(sync.run(), name="routing-health-sync")
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await sync.leave()

        app.cleanup_ctx.append(sharing)
    add_routes(app)
    openapi.register(app, PATHS)
    return routing
