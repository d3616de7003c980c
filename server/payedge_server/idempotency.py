"""Idempotency-Key on every POST under /v1 (SPEC 3, IETF draft semantics).

`payedge.IdempotencyCache` answers in-process: first sight, in flight (409),
replay, mismatch (422). The store's `idempotency_keys` table is the truth across
restarts and processes. A response is saved once the handler has *started its
work* (`IdempotencyContext.mark_started`, 5xx included); a request refused before
that (validation, auth, 409) is not saved and may be retried with the same key.
Handlers that write save the response inside their own final write
(`save_in_tx`), so a payment and the key that created it commit together: a
crash can never leave one without the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import payedge
from aiohttp import web

from payedge_server.contracts import Store, Tx
from payedge_server.errors import JSON, ApiError

log = logging.getLogger("payedge.idempotency")

TTL = 86400.0
MAX_KEY = 255
CONTEXT = "payedge.idempotency"
HEADER = "Idempotency-Key"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KeyTakenError(Exception):
    """Another request (another process) saved a response under this key first."""


def _save(tx: Tx, key: str, fp: str, status: int, body: bytes) -> None:
    now = time.time()
    changed = tx.execute(
        "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, "
        "body = excluded.body, created_at = excluded.created_at WHERE idempotency_keys.created_at < ?",
        (key, fp, status, body, now, now - TTL),
    )
    if changed == 0:
        raise KeyTakenError(key)


class IdempotencyContext:
    """Per-request state, found at `request[CONTEXT]` (absent without an Idempotency-Key)."""

    __slots__ = ("fingerprint", "key", "saved", "started")

    def __init__(self, key: str, fingerprint: str) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.started = False
        self.saved = False

    def mark_started(self) -> None:
        self.started = True

    def check_in_tx(self, tx: Tx) -> None:
        """Raise KeyTakenError if a live response is saved under this key (it is then replayed)."""
        row = tx.fetchone(
            "SELECT 1 FROM idempotency_keys WHERE key = ? AND created_at >= ?", (self.key, time.time() - TTL)
        )
        if row is not None:
            raise KeyTakenError(self.key)

    def save_in_tx(self, tx: Tx, status: int, body: dict[str, Any]) -> None:
        _save(tx, self.key, self.fingerprint, status, orjson.dumps(body))
        self.saved = True


_CHECKS_IN_TX: set[Callable[..., Any]] = set()


def checks_in_tx(handler: Callable[..., Any]) -> None:
    """Declare that `handler` checks the key in its first write (`check_in_tx`) and saves its
    response in its last (`save_in_tx`): the middleware then skips its own read of the store."""
    _CHECKS_IN_TX.add(handler)


def mark_started(request: web.Request) -> None:
    """Say the handler's work has started: from now on its result is saved under the key."""
    ctx: IdempotencyContext | None = request.get(CONTEXT)
    if ctx is not None:
        ctx.mark_started()


def context(request: web.Request) -> IdempotencyContext | None:
    ctx: IdempotencyContext | None = request.get(CONTEXT)
    return ctx


def _replay(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type=JSON, headers={"Idempotent-Replayed": "true"})


def _mismatch() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_mismatch",
        "this Idempotency-Key was used with a different request",
        HEADER,
    )


class Idempotency:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache = payedge.IdempotencyCache(TTL)

    async def _saved(self, key: str) -> tuple[str, int, bytes] | None:
        def read(tx: Tx) -> tuple[str, int, bytes] | None:
            row = tx.fetchone(
                "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ? AND created_at >= ?",
                (key, time.time() - TTL),
            )
            return (row[0], int(row[1]), bytes(row[2])) if row else None

        return await self.store.read(read)

    async def _from_store(self, key: str, fp: str) -> web.Response | None:
        saved = await self._saved(key)
        if saved is None:
            return None
        saved_fp, status, body = saved
        if saved_fp != fp:
            self.cache.abandon(key)
            raise _mismatch()
        self.cache.complete(key, status, body)
        return _replay(status, body)

    async def handle(self, request: web.Request, handler: Handler, key: str) -> web.StreamResponse:
        if not key or len(key) > MAX_KEY or not key.isprintable():
            raise ApiError(
                400,
                "idempotency_key_invalid",
                f"Idempotency-Key must have 1 to {MAX_KEY} printable characters",
                HEADER,
            )
        body = await request.read()
        fp = payedge.fingerprint(request.method, request.path, body)
        begin = self.cache.begin(key, fp)
        kind = begin.kind
        if kind == "replay" and begin.status is not None and begin.body is not None:
            return _replay(begin.status, begin.body)
        if kind == "mismatch":
            raise _mismatch()
        if kind == "in_flight":
            raise ApiError(
                409,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry later",
                HEADER,
            )
        if request.match_info.handler not in _CHECKS_IN_TX:
            try:
                replay = await self._from_store(key, fp)
            except ApiError:
                raise
            except BaseException:
                self.cache.abandon(key)
                raise
            if replay is not None:
                return replay
        ctx = IdempotencyContext(key, fp)
        request[CONTEXT] = ctx
        try:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = exc.response()
            except KeyTakenError:
                self.cache.abandon(key)
                replay = await self._from_store(key, fp)
                if replay is None:  # the other request's key expired meanwhile: let the client retry
                    raise ApiError(409, "idempotency_key_in_flight", "retry this request", HEADER) from None
                return replay
            except (web.HTTPException, asyncio.CancelledError):
                raise
            except Exception:
                if not ctx.started:
                    raise
                log.exception("handler failed after its work started")
                response = ApiError(500, "internal_error", "internal error; the result was saved").response()
        except BaseException:
            self.cache.abandon(key)
            raise
        if not ctx.started or not isinstance(response, web.Response):
            self.cache.abandon(key)
            return response
        body_out = response.body
        data = bytes(body_out) if isinstance(body_out, (bytes, bytearray, memoryview)) else b""
        if not ctx.saved:
            try:
                await self.store.write(lambda tx: _save(tx, key, fp, response.status, data))
            except KeyTakenError:
                pass
            except Exception:
                log.exception("could not save an idempotent response")
                self.cache.abandon(key)
                return response
        self.cache.complete(key, response.status, data)
        return response

    def _purge(self, tx: Tx) -> int:
        return tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (time.time() - TTL,))

    async def purge_forever(self, every: float = 3600.0) -> None:
        """Delete expired saved responses, hourly."""
        while True:
            with contextlib.suppress(Exception):
                await self.store.write(self._purge)
            await asyncio.sleep(every)
