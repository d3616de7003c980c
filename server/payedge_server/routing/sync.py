"""Gateway health shared between instances through Redis (SPEC 5 and 7; docs/routing.md).

Every `redis.routing_sync_interval` seconds (1 by default), off the request path, each
instance:

1. writes its own counts, `Router.export_health()`, to `payedge:routing:health:<instance>`
   (expiring after `KEY_TTL` seconds: a dead instance's counts go away by themselves) and
   registers itself in the sorted set `payedge:routing:instances` (score: the time);
2. reads every other live instance's export and `Router.merge_health(peer, export)`s it;
   a merge replaces that peer's previous contribution, so repeating one counts nothing
   twice, and the router drops a peer not heard from for `health.peer_ttl_seconds`.

One round trip for the writes and the member list, one `MGET` for the exports. With Redis
down the exchange is skipped (`SharedRedis.call` answers its default at once) and every
instance routes from its own observations. The last export of each peer is kept
(`peers`) for `POST /v1/routing/simulate` with candidate rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final

import orjson
import payedge
import redis.asyncio as aioredis

from payedge_server.shared_redis import SharedRedis

log = logging.getLogger("payedge.routing.sync")

HEALTH: Final = "payedge:routing:health:"
INSTANCES: Final = "payedge:routing:instances"
KEY_TTL: Final = 10.0  # seconds an instance's export outlives its last write


class HealthSync:
    def __init__(self, redis: SharedRedis, router: payedge.Router, instance: str, interval: float) -> None:
        self.redis = redis
        self.router = router
        self.instance = instance
        self.interval = interval
        self.ttl = max(KEY_TTL, 3 * interval)
        self.peers: dict[str, Any] = {}

    async def run(self) -> None:
        """Exchange until cancelled (the first exchange at once: a new instance learns its peers' health)."""
        while True:
            try:
                await self.exchange()
            except Exception:  # never let one bad round stop the sharing
                log.exception("routing health exchange failed")
            await asyncio.sleep(self.interval)

    async def exchange(self) -> int:
        """One round; returns how many peers' exports were merged."""
        own = orjson.dumps(self.router.export_health())
        found = await self.redis.call(lambda r: self._swap(r, own), default=None)
        if found is None:
            return 0
        merged = 0
        for peer, raw in found:
            try:
                snapshot = orjson.loads(raw)
                self.router.merge_health(peer, snapshot)
            except (orjson.JSONDecodeError, payedge.PayedgeError) as exc:
                log.warning("routing health of instance %s not merged: %s", peer, exc)
                continue
            self.peers[peer] = snapshot
            merged += 1
        return merged

    async def _swap(self, r: aioredis.Redis, own: bytes) -> list[tuple[str, bytes]]:
        now = time.time()
        pipe = r.pipeline(transaction=False)
        pipe.set(HEALTH + self.instance, own, px=int(self.ttl * 1000))
        pipe.zadd(INSTANCES, {self.instance: now})
        pipe.zremrangebyscore(INSTANCES, "-inf", now - self.ttl)
        pipe.zrange(INSTANCES, 0, -1)
        *_, members = await pipe.execute()
        others = [m.decode() for m in members if m.decode() != self.instance]
        if not others:
            return []
        values = await r.mget([HEALTH + o for o in others])
        return [
            (peer, raw if isinstance(raw, bytes) else raw.encode())
            for peer, raw in zip(others, values, strict=True)
            if raw
        ]

    async def leave(self) -> None:
        """At a clean stop: our export is withdrawn at once (peers drop it at their next exchange...
        or after `peer_ttl_seconds`, as for a crashed instance)."""

        async def gone(r: aioredis.Redis) -> None:
            await r.delete(HEALTH + self.instance)
            await r.zrem(INSTANCES, self.instance)

        with contextlib.suppress(Exception):
            await self.redis.call(gone, default=None)
