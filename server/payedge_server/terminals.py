"""Terminal-queue endpoints (SPEC 2.4) under /v1/terminals.

Without `--redis-url` the queue is `payedge.TerminalQueue`, in-process (with
`--workers N` each worker would have its own: use Redis then). With
`--redis-url` it is `payedge.redis.AsyncRedisTerminalQueue`, shared by every
worker (atomic Lua scripts, clocks and fencing tokens from Redis). Every change
is published live on `terminal:<id>` with a growing version, and the whole queue
(terminals, leases, queued payments in order) on `terminals` after every change, so
every till's dashboard shows the same queue (seed 000).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import payedge
from aiohttp import web

from payedge_server.config import Config
from payedge_server.errors import DomainError, RequestError, json_response, read_json_object
from payedge_server.idempotency import mark_started
from payedge_server.keys import LIVE


class QueueApi(Protocol):
    """The async face shared by the in-process queue and its Redis twin."""

    async def enqueue(self, payment_id: str, user_id: str) -> int: ...
    async def position(self, payment_id: str) -> int | None: ...
    async def allocate(self, terminal_id: str) -> payedge.Lease | None: ...
    async def complete(self, token: int) -> None: ...
    async def extend(self, token: int) -> float: ...
    async def cancel(self, payment_id: str) -> bool: ...
    async def snapshot(self) -> dict[str, Any]: ...


class LocalQueue:
    """`payedge.TerminalQueue` (native, in-process) behind `QueueApi`."""

    def __init__(self, terminals: tuple[str, ...], lock_ttl: float) -> None:
        self.queue = payedge.TerminalQueue(list(terminals), lock_ttl)

    async def enqueue(self, payment_id: str, user_id: str) -> int:
        return self.queue.enqueue(payment_id, user_id)

    async def position(self, payment_id: str) -> int | None:
        return self.queue.position(payment_id)

    async def allocate(self, terminal_id: str) -> payedge.Lease | None:
        return self.queue.allocate(terminal_id)

    async def complete(self, token: int) -> None:
        self.queue.complete(token)

    async def extend(self, token: int) -> float:
        return self.queue.extend(token)

    async def cancel(self, payment_id: str) -> bool:
        return self.queue.cancel(payment_id)

    async def snapshot(self) -> dict[str, Any]:
        return dict(self.queue.snapshot())


def _unix(queue: QueueApi, expires_at: float) -> float:
    """A lease's `expires_at` as UNIX seconds: HTTP times are always UNIX seconds.

    The in-process queue runs on the monotonic clock (SPEC 2.4), the Redis one on
    Redis's UNIX clock already.
    """
    if isinstance(queue, LocalQueue):
        return round(time.time() + (expires_at - time.monotonic()), 3)
    return expires_at


QUEUE: web.AppKey[QueueApi | None] = web.AppKey("terminal_queue")
"""The terminal queue of `--terminals`, or None."""

_versions = itertools.count(1)
LOCK_TTL = 180.0


def setup_terminals(app: web.Application, config: Config) -> None:
    """The queue (in-process, or in Redis with --redis-url) and its routes."""
    app[QUEUE] = None
    terminals, redis_url = config.terminals.ids, config.redis.url
    if terminals:
        if redis_url:

            async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
                import redis.asyncio
                from payedge.redis import AsyncRedisTerminalQueue

                client = redis.asyncio.from_url(redis_url)
                app[QUEUE] = AsyncRedisTerminalQueue(client, "payedge:terminals", terminals, LOCK_TTL)
                yield
                await client.aclose()

            app.cleanup_ctx.append(redis_ctx)
        else:
            app[QUEUE] = LocalQueue(terminals, LOCK_TTL)
    add_routes(app)


def _queue(request: web.Request) -> QueueApi:
    queue = request.app[QUEUE]
    if queue is None:
        raise DomainError(
            "terminals_not_configured", "this server has no terminals: start it with --terminals T1,T2"
        )
    return queue


def _lease(queue: QueueApi, lease: payedge.Lease | None) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {
        "payment_id": lease.payment_id,
        "user_id": lease.user_id,
        "terminal_id": lease.terminal_id,
        "token": lease.token,
        "expires_at": _unix(queue, lease.expires_at),
    }


def _view(queue: QueueApi, snap: dict[str, Any]) -> dict[str, Any]:
    terminals = {t: _lease(queue, lease) for t, lease in snap["terminals"].items()}
    return {"queue": snap["queue"], "terminals": terminals}


class _QueueVersions:
    """Microseconds, never repeating in a process: roughly ordered across workers too (a snapshot
    channel: the newest view wins)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last = max(self.last + 1, time.time_ns() // 1000)
        return self.last


_queue_versions = _QueueVersions()


async def _publish_queue(request: web.Request, queue: QueueApi) -> None:
    """The whole queue on `terminals`, read after the change (what every dashboard renders)."""
    live = request.app.get(LIVE)
    if live is not None:
        view = _view(queue, await queue.snapshot())
        live.publish("terminals", {"type": "terminals.updated", "version": _queue_versions.next(), **view})


def _publish(request: web.Request, terminal_id: str, kind: str, data: dict[str, Any]) -> None:
    live = request.app.get(LIVE)
    if live is not None:
        live.publish(f"terminal:{terminal_id}", {"type": kind, "version": next(_versions), **data})


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > 255:
        raise RequestError("parameter_invalid", f"{name} must be a string of 1 to 255 characters", name)
    return value


def _token(request: web.Request) -> int:
    raw = request.match_info["token"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise RequestError("parameter_invalid", "a lease token is a positive integer", "token")
    return int(raw)


async def snapshot(request: web.Request) -> web.Response:
    """The queue now, with a version taken BEFORE it is read: a change's live event takes its
    version after the change, so a page that read this snapshot while the change happened keeps
    the event's newer view instead of rendering the older snapshot over it."""
    queue = _queue(request)
    version = _queue_versions.next()
    return json_response({"version": version, **_view(queue, await queue.snapshot())})


async def enqueue(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    payment_id = _string(body, "payment_id")
    user_id = _string(body, "user_id")
    queue = _queue(request)
    position = await queue.enqueue(payment_id, user_id)
    await _publish_queue(request, queue)
    return json_response({"payment_id": payment_id, "position": position})


async def position(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    return json_response({"payment_id": payment_id, "position": await _queue(request).position(payment_id)})


async def cancel(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    queue = _queue(request)
    mark_started(request)
    canceled = await queue.cancel(payment_id)
    if canceled:
        await _publish_queue(request, queue)
    return json_response({"payment_id": payment_id, "canceled": canceled})


async def allocate(request: web.Request) -> web.Response:
    terminal_id = request.match_info["terminal_id"]
    queue = _queue(request)
    mark_started(request)
    lease = await queue.allocate(terminal_id)
    view = _lease(queue, lease)
    if view is not None:
        _publish(request, terminal_id, "terminal.allocated", {"lease": view})
        await _publish_queue(request, queue)
    return json_response({"terminal_id": terminal_id, "lease": view})


async def complete(request: web.Request) -> web.Response:
    token = _token(request)
    queue = _queue(request)
    leases = (await queue.snapshot())["terminals"]
    terminal = next((t for t, lease in leases.items() if lease is not None and lease.token == token), None)
    mark_started(request)
    await queue.complete(token)
    if terminal is not None:
        _publish(request, terminal, "terminal.idle", {"token": token})
    await _publish_queue(request, queue)
    return json_response({"token": token, "completed": True})


async def extend(request: web.Request) -> web.Response:
    token = _token(request)
    queue = _queue(request)
    mark_started(request)
    expires_at = await queue.extend(token)
    await _publish_queue(request, queue)
    return json_response({"token": token, "expires_at": _unix(queue, expires_at)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/terminals", snapshot)
    app.router.add_post("/v1/terminals/queue", enqueue)
    app.router.add_get("/v1/terminals/queue/{payment_id}", position)
    app.router.add_post("/v1/terminals/queue/{payment_id}/cancel", cancel)
    app.router.add_post("/v1/terminals/{terminal_id}/allocate", allocate)
    app.router.add_post("/v1/terminals/leases/{token}/complete", complete)
    app.router.add_post("/v1/terminals/leases/{token}/extend", extend)
