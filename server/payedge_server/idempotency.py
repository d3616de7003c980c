"""Idempotency-Key on every POST under /v1 (SPEC 3, IETF draft semantics).

`payedge.IdempotencyCache` answers in-process: first sight, in flight (409),
replay, mismatch (422). The store's `idempotency_keys` table is the truth across
restarts and processes. As at Stripe, a result is saved once the handler has
started its work, 5xx included: every response is saved except a 4xx from a
handler that did not say its work had started (`mark_started`); such a request was
refused before any work (validation, a conflict, a wallet short of funds) and may be
retried with the same key. The rule is applied here, for every POST route, so a new route
is covered without anyone remembering it.

Handlers that write may save the response inside their own final write
(`save_in_tx`, rendered by the route's `render`), so a payment and the key that
created it commit together: a crash can never leave one without the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import payedge
from aiohttp import web

from payedge_server.contracts import Store, Tx
from payedge_server.errors import JSON, DomainError, RequestError, to_response

log = logging.getLogger("payedge.idempotency")

Render = Callable[[Any], tuple[int, dict[str, Any]]]

TTL_MS = 86_400_000
MAX_KEY = 255
CONTEXT = "payedge.idempotency"
HEADER = "Idempotency-Key"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KeyTakenError(Exception):
    """Another request (another process) saved a response under this key first."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _save(tx: Tx, key: str, fp: str, status: int, body: bytes) -> None:
    now = _now_ms()
    changed = tx.execute(
        "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, "
        "body = excluded.body, created_at = excluded.created_at WHERE idempotency_keys.created_at < ?",
        (key, fp, status, body, now, now - TTL_MS),
    )
    if changed == 0:
        raise KeyTakenError(key)


class IdempotencyContext:
    """Per-request state, found at `request[CONTEXT]` (absent without an Idempotency-Key)."""

    __slots__ = ("fingerprint", "key", "render", "saved", "started")

    def __init__(self, key: str, fingerprint: str) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.started = False
        self.saved = False
        self.render: Render | None = None

    def mark_started(self) -> None:
        self.started = True

    def check_in_tx(self, tx: Tx) -> None:
        """Raise KeyTakenError if a live response is saved under this key (it is then replayed)."""
        row = tx.fetchone(
            "SELECT 1 FROM idempotency_keys WHERE key = ? AND created_at >= ?", (self.key, _now_ms() - TTL_MS)
        )
        if row is not None:
            raise KeyTakenError(self.key)

    def save_in_tx(self, tx: Tx, result: object) -> None:
        """Save the response `result` renders to (the route's `render`), in the caller's write."""
        if self.render is None:
            return  # the route renders after the handler: the middleware saves it
        status, body = self.render(result)
        _save(tx, self.key, self.fingerprint, status, orjson.dumps(body))
        self.saved = True


_CHECKS_IN_TX: set[Callable[..., Any]] = set()


def checks_in_tx(handler: Callable[..., Any]) -> None:
    """Declare that `handler` checks the key in its first write (`check_in_tx`) and saves its
    response in its last (`save_in_tx`): the middleware then skips its own read of the store."""
    _CHECKS_IN_TX.add(handler)


def saved_without_start(status: int) -> bool:
    """Whether a response is saved even if the handler never said its work had started.

    A 4xx is a refusal before any work, nothing to replay: a 402 `insufficient_funds`
    (a withdrawal, a refund's wallet share) may be retried with the same key once the
    wallet is funded (docs/ledger.md). Every other answer (2xx, a 5xx after which the
    gateway may have acted) is kept. A provider's decline (402 `card_declined`) is kept
    because the confirm saves it in its own write or marks its work started first.
    """
    return not (400 <= status < 500)


def mark_started(request: web.Request) -> None:
    """Say the handler's work has started: from now on its result is saved under the key."""
    ctx: IdempotencyContext | None = request.get(CONTEXT)
    if ctx is not None:
        ctx.mark_started()


def context(request: web.Request, render: Render | None = None) -> IdempotencyContext | None:
    """The request's key context (None without an Idempotency-Key); `render` turns the handler's
    result into the (status, body) its response will have, so it can be saved in the handler's write."""
    ctx: IdempotencyContext | None = request.get(CONTEXT)
    if ctx is not None and render is not None:
        ctx.render = render
    return ctx


REPLAYED = "Idempotent-Replayed"


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise RequestError(
            "idempotency_key_invalid",
            f"Idempotency-Key must have 1 to {MAX_KEY} printable characters",
            HEADER,
        )


def _replay(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type=JSON, headers={REPLAYED: "true"})


def _mismatch() -> DomainError:
    return DomainError(
        "idempotency_key_mismatch",
        "this Idempotency-Key was used with a different request",
        HEADER,
    )


class Idempotency:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache = payedge.IdempotencyCache(TTL_MS / 1000)

    async def _saved(self, key: str) -> tuple[str, int, bytes] | None:
        def read(tx: Tx) -> tuple[str, int, bytes] | None:
            row = tx.fetchone(
                "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ? AND created_at >= ?",
                (key, _now_ms() - TTL_MS),
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
        _check_key(key)
        fp = payedge.fingerprint(request.method, request.path, await request.read())
        early = await self._begin(request, key, fp)
        if early is not None:
            return early
        ctx = IdempotencyContext(key, fp)
        request[CONTEXT] = ctx
        try:
            response = await self._run(request, handler, ctx)
        except BaseException:
            self.cache.abandon(key)
            raise
        if not isinstance(response, web.Response) or response.headers.get(REPLAYED) == "true":
            return response
        if not (ctx.started or saved_without_start(response.status)):
            self.cache.abandon(key)
            return response
        return await self._keep(ctx, response)

    async def _begin(self, request: web.Request, key: str, fp: str) -> web.Response | None:
        """What the cache (then the store) already knows of this key: a replay, or a refusal."""
        begin = self.cache.begin(key, fp)
        if begin.kind == "replay" and begin.status is not None and begin.body is not None:
            return _replay(begin.status, begin.body)
        if begin.kind == "mismatch":
            raise _mismatch()
        if begin.kind == "in_flight":
            raise DomainError(
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry later",
                HEADER,
            )
        if request.match_info.handler in _CHECKS_IN_TX:
            return None  # the handler checks the key in its own first write
        try:
            return await self._from_store(key, fp)
        except DomainError:
            raise
        except BaseException:
            self.cache.abandon(key)
            raise

    async def _run(
        self, request: web.Request, handler: Handler, ctx: IdempotencyContext
    ) -> web.StreamResponse:
        """The handler's response; a domain error as its response, a replay if another request won the key."""
        try:
            return await handler(request)
        except (DomainError, payedge.PayedgeError) as exc:
            return to_response(exc)
        except KeyTakenError:
            self.cache.abandon(ctx.key)
            replay = await self._from_store(ctx.key, ctx.fingerprint)
            if replay is None:  # the other request's key expired meanwhile: let the client retry
                raise DomainError("idempotency_key_in_flight", "retry this request", HEADER) from None
            return replay
        except (web.HTTPException, asyncio.CancelledError):
            raise
        except Exception:
            if not ctx.started:
                raise
            log.exception("handler failed after its work started")
            return to_response(DomainError("internal_error", "internal error; the result was saved"))

    async def _keep(self, ctx: IdempotencyContext, response: web.Response) -> web.Response:
        """Save the response under the key (unless the handler did, in its own write), then cache it."""
        body_out = response.body
        data = bytes(body_out) if isinstance(body_out, (bytes, bytearray, memoryview)) else b""
        if not ctx.saved:
            try:
                await self.store.write(lambda tx: _save(tx, ctx.key, ctx.fingerprint, response.status, data))
            except KeyTakenError:
                pass
            except Exception:
                log.exception("could not save an idempotent response")
                self.cache.abandon(ctx.key)
                return response
        self.cache.complete(ctx.key, response.status, data)
        return response
