"""GET /health (the process answers) and GET /health/ready (store, gateways, optional services)."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from payedge_server.errors import json_response
from payedge_server.keys import CONFIG, GATEWAYS, STORE
from payedge_server.parking.http import PARKING
from payedge_server.shared_redis import REDIS


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _tcp_reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _store_ok(store: object) -> bool:
    ping = getattr(store, "ping", None)
    if ping is None:
        return True
    try:
        return bool(await asyncio.wait_for(ping(), timeout=2.0))
    except (TimeoutError, OSError):
        return False


async def ready(request: web.Request) -> web.Response:
    app = request.app
    store = app[STORE]
    checks: dict[str, bool] = {"store": await _store_ok(store)}
    for name, gateway in app[GATEWAYS].items():
        try:
            checks[f"gateway:{name}"] = await asyncio.wait_for(gateway.ready(), timeout=2.0)
        except TimeoutError:
            checks[f"gateway:{name}"] = False
    config = app[CONFIG]
    shared = app.get(REDIS)
    if shared is not None:
        checks["redis"] = await shared.ping()
    extra: dict[str, object] = {}
    parking = app.get(PARKING)
    if parking is not None:
        # The relay's own connection (in the worker that runs it), and the fallback mode.
        extra["parking"] = status = await parking.health()
        checks["mqtt"] = bool(status["mqtt"]["connected"]) or (
            not status["mqtt"]["leader"] and await _tcp_reachable(config.mqtt.url or "", 1883)
        )
    elif config.mqtt.url:
        checks["mqtt"] = await _tcp_reachable(config.mqtt.url, 1883)
    ok = all(checks.values())
    body = {"status": "ready" if ok else "degraded", "checks": checks, **extra}
    return json_response(body, status=200 if ok else 503)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/health/ready", ready)
