"""Live events across workers and instances: Redis pub/sub, or a feed table in the shared store.

With `--redis-url`, `RedisFeed` publishes each event on the Redis channel
`payedge:live` and hands the other processes' events to this one's hub (pub/sub:
no table, no polling). A Redis outage loses the events published during it (the
subscriber reconnects by itself, with backoff): the store stays the truth, and a
page's polling fallback, a long-poll (which re-reads the store every
`recheck_interval`) or a new subscription sees the change. Without Redis:

Each worker's `LiveHub` serves only its own WebSocket clients and long-pollers,
but a payment confirmed by worker A must reach a page subscribed through worker
B. Every event a hub publishes is therefore also appended to `live_feed` (all
the events of one loop iteration in one store write, which joins the group
commit: no fsync of its own), and every worker tails the table every
`TAIL_SECONDS`, handing the other workers' events to its own subscribers.

The store stays the truth, the feed is only a notification: a worker killed
between a commit and its feed write loses that one event for the other
workers' subscribers (a new subscription, the JS client's polling fallback or a
long-poll, which re-reads the store, still see the change). Rows older than
`KEEP_SECONDS` are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from aiohttp import web

from payedge_server import housekeeping
from payedge_server.contracts import Store, Tx
from payedge_server.live import LiveHub
from payedge_server.shared_redis import SharedRedis

log = logging.getLogger("payedge.live")

TAIL_SECONDS: Final = 0.05
KEEP_SECONDS: Final = housekeeping.LIVE_FEED_KEEP_MS / 1000
TAIL_BATCH: Final = 1000


class LiveFeed:
    """Appends this worker's live events to the store and re-publishes the others'."""

    def __init__(self, store: Store, hub: LiveHub, *, tail_seconds: float = TAIL_SECONDS) -> None:
        self.store = store
        self.hub = hub
        self.tail_seconds = tail_seconds
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._pending: list[tuple[str, bytes]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._cursor = 0
        self.relayed = 0

    # -- out: this worker's events -------------------------------------------------------

    def forward(self, channel: str, event: dict[str, Any]) -> None:
        """LiveHub's forward hook (event-loop thread): queue the event for the next feed write."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._schedule_flush)
        self._pending.append((channel, orjson.dumps(event)))

    def _schedule_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        origin, now = self.origin, time.time_ns() // 1_000_000

        def append(tx: Tx) -> None:
            tx.lock("payedge:live_feed")  # ids committed in id order: the tail reads "id > cursor"
            for channel, event in batch:
                tx.execute(
                    "INSERT INTO live_feed (origin, channel, event, at) VALUES (?, ?, ?, ?)",
                    (origin, channel, event, now),
                )

        try:
            await self.store.write(append)
        except Exception:  # a notification: never fail the request that caused it
            log.exception("live feed: %d event(s) not shared with the other workers", len(batch))

    # -- in: the other workers' events ---------------------------------------------------

    async def start_cursor(self) -> None:
        """Tail from now on: events written before this worker started are not replayed."""

        def last(tx: Tx) -> int:
            row = tx.fetchone("SELECT COALESCE(MAX(id), 0) FROM live_feed")
            return int(row[0]) if row else 0

        self._cursor = await self.store.read(last)

    async def poll(self) -> int:
        """Hand every new event of the other workers to this worker's hub; returns how many."""
        cursor = self._cursor

        def newer(tx: Tx) -> list[tuple[Any, ...]]:
            return tx.fetchall(
                "SELECT id, origin, channel, event FROM live_feed WHERE id > ? ORDER BY id LIMIT ?",
                (cursor, TAIL_BATCH),
            )

        rows = await self.store.read(newer)
        relayed = 0
        for row_id, origin, channel, event in rows:
            self._cursor = row_id
            if origin != self.origin:
                self.hub.deliver(channel, orjson.loads(event))
                relayed += 1
        self.relayed += relayed
        return relayed

    async def prune(self) -> None:
        # In batches of housekeeping.BATCH (a backlog after a stall must not make one huge write).
        await housekeeping.purge_once(self.store, [housekeeping.LIVE_FEED])

    async def tail_forever(self) -> None:
        next_prune = time.monotonic() + KEEP_SECONDS / 4
        while True:
            try:
                while await self.poll() == TAIL_BATCH:
                    pass  # a backlog: read on without sleeping
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + KEEP_SECONDS / 4
                    await self.prune()
            except Exception:
                log.exception("live feed: tail failed; retrying")
            await asyncio.sleep(self.tail_seconds)

    async def close(self) -> None:
        for task in tuple(self._flushing):
            with contextlib.suppress(Exception):
                await task
        await self.flush()


class RedisFeed:
    """`LiveFeed` over Redis pub/sub (one channel for every live channel; events carry their origin)."""

    CHANNEL: Final = "payedge:live"

    def __init__(self, shared: SharedRedis, hub: LiveHub) -> None:
        self.shared = shared
        self.hub = hub
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}".encode()
        self._pending: list[bytes] = []
        self.relayed = 0
        self.subscribed = asyncio.Event()

    def forward(self, channel: str, event: dict[str, Any]) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(self.origin + b" " + orjson.dumps([channel, event]))

    def _flush(self) -> None:
        batch, self._pending = self._pending, []

        async def publish(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for message in batch:
                pipe.publish(self.CHANNEL, message)
            await pipe.execute()

        self.shared.spawn(publish)

    def _deliver(self, data: bytes) -> None:
        origin, _, body = data.partition(b" ")
        if origin == self.origin:
            return
        channel, event = orjson.loads(body)
        self.hub.deliver(channel, event)
        self.relayed += 1

    async def listen_forever(self) -> None:
        """Subscribe, hand messages over; on any failure reconnect with backoff (0.1 s to 2 s).

        The loss is logged once (a warning), each retry at debug, the return once: an outage
        is two lines in the log, not one every 2 s."""
        delay, lost = 0.1, False
        while True:
            pubsub = self.shared.pubsub()
            try:
                await pubsub.subscribe(self.CHANNEL)
                self.subscribed.set()
                if lost:
                    log.info("live fan-out: Redis subscription back")
                delay, lost = 0.1, False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                say = log.debug if lost else log.warning
                say("live fan-out: Redis subscription lost (%s); retrying in %.1fs", exc, delay)
                lost = True
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)


def setup_live_feed(
    app: web.Application, store: Store, hub: LiveHub, shared: SharedRedis | None = None
) -> LiveFeed | RedisFeed:
    """Share `hub`'s events with the other processes: through Redis when given, else through `store`."""
    if shared is not None:
        return _setup_redis_feed(app, shared, hub)
    feed = LiveFeed(store, hub)

    async def feed_ctx(app: web.Application) -> AsyncIterator[None]:
        await feed.start_cursor()
        hub.forward = feed.forward
        task = asyncio.get_running_loop().create_task(feed.tail_forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        hub.forward = None
        await feed.close()

    app.cleanup_ctx.append(feed_ctx)
    return feed


def _setup_redis_feed(app: web.Application, shared: SharedRedis, hub: LiveHub) -> RedisFeed:
    feed = RedisFeed(shared, hub)

    async def feed_ctx(app: web.Application) -> AsyncIterator[None]:
        hub.forward = feed.forward
        task = asyncio.get_running_loop().create_task(feed.listen_forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        hub.forward = None

    app.cleanup_ctx.append(feed_ctx)
    return feed
