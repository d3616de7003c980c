"""Terminal-queue endpoints (payedge.TerminalQueue, SPEC 2.4) under /v1/terminals.

The queue is in-process (one server process owns it; the Redis twin is for
several processes, not wired yet). Every change is published live on
`terminal:<id>` (allocation, completion) with a growing per-terminal version.
"""

from __future__ import annotations

import itertools
from typing import Any

import payedge
from aiohttp import web

from payedge_server.errors import ApiError, json_response, read_json_object
from payedge_server.idempotency import mark_started
from payedge_server.keys import LIVE

QUEUE: web.AppKey[Any] = web.AppKey("terminal_queue")
"""The `payedge.TerminalQueue` of `--terminals`, or None."""

_versions = itertools.count(1)


def make_queue(terminals: tuple[str, ...], lock_ttl: float = 180.0) -> Any:
    return payedge.TerminalQueue(list(terminals), lock_ttl) if terminals else None


def _queue(request: web.Request) -> Any:
    queue = request.app[QUEUE]
    if queue is None:
        raise ApiError(
            409, "terminals_not_configured", "this server has no terminals: start it with --terminals T1,T2"
        )
    return queue


def _lease(lease: Any) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {
        "payment_id": lease.payment_id,
        "user_id": lease.user_id,
        "terminal_id": lease.terminal_id,
        "token": lease.token,
        "expires_at": lease.expires_at,
    }


def _publish(request: web.Request, terminal_id: str, kind: str, data: dict[str, Any]) -> None:
    live = request.app.get(LIVE)
    if live is not None:
        live.publish(f"terminal:{terminal_id}", {"type": kind, "version": next(_versions), **data})


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > 255:
        raise ApiError(400, "parameter_invalid", f"{name} must be a string of 1 to 255 characters", name)
    return value


def _token(request: web.Request) -> int:
    raw = request.match_info["token"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise ApiError(400, "parameter_invalid", "a lease token is a positive integer", "token")
    return int(raw)


def _core_error(exc: payedge.PayedgeError) -> ApiError:
    status = 409 if isinstance(exc, payedge.QueueError) else 400
    return ApiError(status, exc.code, str(exc), exc.param)


async def snapshot(request: web.Request) -> web.Response:
    snap = _queue(request).snapshot()
    return json_response(
        {"queue": snap["queue"], "terminals": {t: _lease(lease) for t, lease in snap["terminals"].items()}}
    )


async def enqueue(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    payment_id = _string(body, "payment_id")
    user_id = _string(body, "user_id")
    try:
        position = _queue(request).enqueue(payment_id, user_id)
    except payedge.PayedgeError as exc:
        raise _core_error(exc) from None
    return json_response({"payment_id": payment_id, "position": position})


async def position(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    return json_response({"payment_id": payment_id, "position": _queue(request).position(payment_id)})


async def cancel(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    queue = _queue(request)
    mark_started(request)
    return json_response({"payment_id": payment_id, "canceled": queue.cancel(payment_id)})


async def allocate(request: web.Request) -> web.Response:
    terminal_id = request.match_info["terminal_id"]
    queue = _queue(request)
    mark_started(request)
    try:
        lease = queue.allocate(terminal_id)
    except payedge.PayedgeError as exc:
        raise _core_error(exc) from None
    view = _lease(lease)
    if view is not None:
        _publish(request, terminal_id, "terminal.allocated", {"lease": view})
    return json_response({"terminal_id": terminal_id, "lease": view})


async def complete(request: web.Request) -> web.Response:
    token = _token(request)
    queue = _queue(request)
    terminal = next(
        (
            t
            for t, lease in queue.snapshot()["terminals"].items()
            if lease is not None and lease.token == token
        ),
        None,
    )
    mark_started(request)
    try:
        queue.complete(token)
    except payedge.PayedgeError as exc:
        raise _core_error(exc) from None
    if terminal is not None:
        _publish(request, terminal, "terminal.idle", {"token": token})
    return json_response({"token": token, "completed": True})


async def extend(request: web.Request) -> web.Response:
    token = _token(request)
    queue = _queue(request)
    mark_started(request)
    try:
        expires_at = queue.extend(token)
    except payedge.PayedgeError as exc:
        raise _core_error(exc) from None
    return json_response({"token": token, "expires_at": expires_at})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/terminals", snapshot)
    app.router.add_post("/v1/terminals/queue", enqueue)
    app.router.add_get("/v1/terminals/queue/{payment_id}", position)
    app.router.add_post("/v1/terminals/queue/{payment_id}/cancel", cancel)
    app.router.add_post("/v1/terminals/{terminal_id}/allocate", allocate)
    app.router.add_post("/v1/terminals/leases/{token}/complete", complete)
    app.router.add_post("/v1/terminals/leases/{token}/extend", extend)
