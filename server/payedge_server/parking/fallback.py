"""The fallback (degraded) mode switch (seed 000: "Mode dégradé activé", announced to all staff).

Stored in `parking_settings` and audited (trusted.write_fallback); every change is
published on the live `system` channel, so every open dashboard shows it at once.
Available on every server (the tills of seed 000 need no parking); with parking on,
it also lets trusted badges and PINs open the barrier (sessions.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from payedge_server import keys
from payedge_server.contracts import LivePublisher, Store
from payedge_server.parking.trusted import read_fallback, write_fallback


class FallbackMode:
    def __init__(self, store: Store, live: LivePublisher | None) -> None:
        self.store = store
        self.live = live

    async def get(self) -> dict[str, Any]:
        """The mode as stored (every worker and instance reads the same row)."""
        return await self.store.read(read_fallback)

    async def set(self, enabled: bool, who: str, why: str) -> dict[str, Any]:
        value = await self.store.write(lambda tx: write_fallback(tx, enabled, who, why))
        if self.live is not None:
            self.live.publish("system", {"type": "parking.fallback_mode", **value})
        return value


FALLBACK = web.AppKey("fallback_mode", FallbackMode)


def setup_fallback(app: web.Application) -> FallbackMode:
    mode = FallbackMode(app[keys.STORE], app.get(keys.LIVE))
    app[FALLBACK] = mode
    return mode
