"""Parking exit over MQTT (SPEC 4): sessions, priced payment requests, authorisations.

`setup_parking(app)` wires it into the edge server when `config.mqtt.url` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.contracts import Tx
from payedge_server.mqtt_relay import MqttRelay
from payedge_server.parking import http
from payedge_server.parking.election import FileLeader, Leader, RedisLeader
from payedge_server.parking.fallback import setup_fallback
from payedge_server.parking.http import PARKING
from payedge_server.parking.messages import INBOUND_TOPICS
from payedge_server.parking.service import ParkingService
from payedge_server.payments.service import NewPayment
from payedge_server.quotes import TARIFF
from payedge_server.shared_redis import REDIS

log = logging.getLogger("payedge.parking")

__all__ = ["PARKING", "ParkingService", "setup_parking"]


class ParkingConfigError(ValueError):
    pass


TARIFF_REQUIRED = (
    "--tariff FILE (PAYEDGE_TARIFF) is required with --mqtt-url: parking prices exits with the site tariff"
)


def setup_parking(app: web.Application) -> None:
    """Enable parking when `mqtt_url` is configured; the site tariff is then required."""
    config = app[keys.CONFIG]
    setup_fallback(app)  # the degraded-mode switch exists without parking too (seed 000)
    http.add_fallback_routes(app)
    openapi.register(app, http.FALLBACK_PATHS)
    if not config.mqtt.url:
        return
    tariff = app.get(TARIFF)  # compiled once by the app factory (POST /v1/quotes uses it too)
    if tariff is None:
        raise ParkingConfigError(TARIFF_REQUIRED)
    payments = app[keys.PAYMENTS]

    def create_payment(tx: Tx, amount: int, currency: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return payments.create_in_tx(tx, NewPayment(amount, currency, metadata=metadata)).view()

    service = ParkingService(app[keys.STORE], tariff, create_payment, app.get(keys.LIVE))
    app[PARKING] = service
    payments.add_hook(service.on_payment_change)
    http.add_routes(app)
    openapi.register(app, http.PATHS)
    mqtt_url = config.mqtt.url

    store = app[keys.STORE]
    several = (
        config.server.workers > 1 or os.environ.get("PAYEDGE_WORKER") == "1" or store.dialect != "sqlite"
    )
    shared = app.get(REDIS)
    elector: Leader = (
        RedisLeader(shared)
        if shared is not None
        else FileLeader(_lock_path(store, config.store.database_url))
    )

    def new_relay() -> MqttRelay:
        relay = MqttRelay(
            mqtt_url,
            service.store,
            service.handle_message,
            INBOUND_TOPICS,
            poll_interval=0.05 if several else 1.0,
        )
        service.relay = relay
        return relay

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        new_relay()
        # One MQTT session per site: of every process and instance, the one elected runs the relay.
        leader = asyncio.create_task(_lead(elector, new_relay, service), name="mqtt-leader")
        try:
            yield
        finally:
            leader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leader

    app.cleanup_ctx.append(lifecycle)


def _lock_path(store: object, database_url: str) -> Path:
    """Next to the database file (every worker opens the same one); else in the temp directory."""
    path = getattr(store, "path", None)
    if isinstance(path, Path):
        return path.with_name(path.name + ".mqtt-relay.lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"payedge-mqtt-relay-{digest}.lock"


async def _lead(elector: Leader, new_relay: Callable[[], MqttRelay], service: ParkingService) -> None:
    """Run a relay while this process is elected; step down (and campaign again) when it is not."""
    relay = service.relay
    try:
        while True:
            await elector.acquire()
            log.info("elected MQTT relay for this site")
            if relay is None or relay._stopping:
                relay = new_relay()
            await relay.start()
            try:
                await elector.hold()
            finally:
                await relay.stop()
            log.warning("no longer the MQTT relay (another instance holds the lock)")
            relay = None
    finally:
        if relay is not None:
            await relay.stop()
        elector.release()
