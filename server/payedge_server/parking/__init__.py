"""Parking exit over MQTT (SPEC 4): sessions, priced payment requests, authorisations.

`setup_parking(app)` wires it into the edge server when `config.mqtt.url` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.contracts import Tx
from payedge_server.mqtt_relay import MqttRelay
from payedge_server.parking import http
from payedge_server.parking.http import PARKING
from payedge_server.parking.messages import INBOUND_TOPICS
from payedge_server.parking.service import ParkingService
from payedge_server.payments.service import NewPayment
from payedge_server.quotes import TARIFF

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

    several = config.server.workers > 1 or os.environ.get("PAYEDGE_WORKER") == "1"
    lock_path = _lock_path(app[keys.STORE], config.store.database_url)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        relay = MqttRelay(
            mqtt_url,
            service.store,
            service.handle_message,
            INBOUND_TOPICS,
            poll_interval=0.05 if several else 1.0,
        )
        service.relay = relay
        # One MQTT session per site: with several workers, the one holding the lock runs the relay.
        leader = asyncio.create_task(_lead(lock_path, relay), name="mqtt-leader")
        try:
            yield
        finally:
            leader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leader
            await relay.stop()

    app.cleanup_ctx.append(lifecycle)


def _lock_path(store: object, database_url: str) -> Path:
    """Next to the database file (every worker opens the same one); else in the temp directory."""
    path = getattr(store, "path", None)
    if isinstance(path, Path):
        return path.with_name(path.name + ".mqtt-relay.lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"payedge-mqtt-relay-{digest}.lock"


async def _lead(lock_path: Path, relay: MqttRelay) -> None:
    """Start the relay once this process holds the relay lock (released when the process exits)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(1.0)
        await relay.start()
        await asyncio.Event().wait()
    finally:
        handle.close()
