"""Redis shared by the server's parts (SPEC 7): an accelerator, never the truth.

One `SharedRedis` per process (`app[REDIS]`, present when `--redis-url` is set):
one redis-py asyncio client (its connection pool reconnects by itself), short
timeouts, and a circuit: after a failure every call answers its `default` at
once for `BACKOFF_SECONDS`, so a Redis outage costs a request nothing but the
shortcut (the store still answers), never a wait per request. `up` says whether
the last call worked (`/health/ready` reports it).

Parts use it for what may be lost: the webhook dedupe fast path (`RedisDedupe`
here), live fan-out (live_feed.RedisFeed), the MQTT relay election
(parking.election), and, for the engineers building them, rate-limit and
routing-health state: `await shared.call(lambda r: r.incr(key), default=None)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

log = logging.getLogger("payedge.redis")

T = TypeVar("T")
TIMEOUT_SECONDS: Final = 0.5
BACKOFF_SECONDS: Final = 1.0


class SharedRedis:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            health_check_interval=10,
        )
        self.up = True
        self._down_until = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()

    def pubsub(self) -> Any:
        """A pub/sub connection of its own (live fan-out); the caller reconnects it."""
        return self.client.pubsub(ignore_subscribe_messages=True)

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]], default: T) -> T:
        """`await fn(client)`, or `default` when Redis fails (or failed less than BACKOFF_SECONDS ago)."""
        if time.monotonic() < self._down_until:
            return default
        try:
            result = await asyncio.wait_for(fn(self.client), TIMEOUT_SECONDS * 2)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return default
        self._recovered()
        return result

    def spawn(self, fn: Callable[[aioredis.Redis], Awaitable[Any]]) -> None:
        """`call` in the background (nobody waits for it: a notification, a cache fill)."""
        if time.monotonic() < self._down_until:
            return
        task = asyncio.get_running_loop().create_task(self.call(fn, None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, exc: BaseException) -> None:
        if self.up:  # once per outage: the circuit's retries say nothing new
            log.warning("Redis %s unavailable (%s): carrying on from the store", self.url, exc or repr(exc))
        self.up = False
        self._down_until = time.monotonic() + BACKOFF_SECONDS

    def _recovered(self) -> None:
        if not self.up:  # the end of an outage is news too: the operator saw it begin
            log.info("Redis %s reachable again", self.url)
        self.up = True

    async def ping(self) -> bool:
        """For /health/ready: tried even while the circuit is open."""
        try:
            await asyncio.wait_for(self.client.ping(), TIMEOUT_SECONDS * 2)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return False
        self._recovered()
        self._down_until = 0.0
        return True

    async def close(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        await self.client.aclose()


class RedisDedupe:
    """The webhook dedupe fast path across instances: event keys already COMMITTED to the store.

    `seen(key)` before the store write answers a duplicate delivered to another
    instance without a transaction; `remember(key)` after the commit (never before:
    a key is only called a duplicate of something durable). The store's
    `webhook_events` primary key stays the dedupe of record: with Redis down or
    emptied, duplicates are found there, one write slower.
    """

    PREFIX: Final = "payedge:webhook:"
    TTL_SECONDS: Final = 3 * 86400

    def __init__(self, shared: SharedRedis) -> None:
        self.shared = shared
        self._queued: list[str] = []

    async def seen(self, key: str) -> bool:
        return bool(await self.shared.call(lambda r: r.exists(self.PREFIX + key), 0))

    def remember(self, key: str) -> None:
        if not self._queued:
            asyncio.get_running_loop().call_soon(self._flush)
        self._queued.append(key)

    def _flush(self) -> None:
        keys, self._queued = self._queued, []

        async def write(r: aioredis.Redis) -> None:
            pipe = r.pipeline(transaction=False)
            for key in keys:
                pipe.set(self.PREFIX + key, 1, ex=self.TTL_SECONDS)
            await pipe.execute()

        self.shared.spawn(write)


REDIS = web.AppKey("redis", SharedRedis)


def setup_redis(app: web.Application, url: str) -> SharedRedis:
    shared = SharedRedis(url)
    app[REDIS] = shared

    async def ctx(app: web.Application) -> Any:
        yield
        await shared.close()

    app.cleanup_ctx.append(ctx)
    return shared
