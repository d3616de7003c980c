"""GET /health (the process answers) and GET /health/ready (store, gateways, optional services)."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from payedge_server.errors import json_response
from payedge_server.keys import CONFIG, GATEWAYS, STORE
from payedge_server.parking.http import PARKING


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


async def ready(request: web.Request) -> web.Response:
    app = request.app
    store = app[STORE]
    ping = getattr(store, "ping", None)
    checks: dict[str, bool] = {"store": bool(ping()) if ping else True}
    for name, gateway in app[GATEWAYS].items():
        try:
            checks[f"gateway:{name}"] = await asyncio.wait_for(gateway.ready(), timeout=2.0)
        except TimeoutError:
            checks[f"gateway:{name}"] = False
    config = app[CONFIG]
    if config.redis.url:
        checks["redis"] = await _tcp_reachable(config.redis.url, 6379)
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
