"""The one request middleware: body limit, auth, idempotency, error JSON, metrics.

A single middleware (rather than five) keeps the per-request overhead of the hot
webhook path to one extra coroutine frame; each concern lives in its own module.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import payedge
from aiohttp import web

from payedge_server import metrics, slashes
from payedge_server.auth import ApiKeys, Authenticator, key_id, needs_auth, unauthorized
from payedge_server.errors import DomainError, from_http_exception, to_response
from payedge_server.idempotency import HEADER, Idempotency
from payedge_server.live import request_api_key
from payedge_server.ratelimit import RateLimiter

log = logging.getLogger("payedge.http")

MAX_BODY = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gate:
    """Who may pass (SPEC 3, 8): an API key, else a dashboard session or a client secret; and,
    when configured, the rate limits."""

    def __init__(
        self,
        api_keys: ApiKeys,
        public_prefixes: list[str],
        others: list[Authenticator],
        limiter: RateLimiter | None,
    ) -> None:
        self.api_keys = api_keys
        self.public_prefixes = public_prefixes
        self.others = others
        self.limiter = limiter

    def bearer(self, request: web.Request) -> bool:
        """Check the Bearer key (or the deprecated `?token=`); False when there is none and other
        ways may be tried."""
        presented = request_api_key(request)
        if presented is None and self.others:
            return False
        self.api_keys.check(presented)
        return True

    async def other(self, request: web.Request) -> str:
        """The key id a dashboard session acts for ("" for a client secret); 401/403 otherwise."""
        for authenticator in self.others:
            principal = await authenticator(request)
            if principal is not None:
                return principal
        raise unauthorized()

    async def authenticate(self, request: web.Request) -> str:
        if self.bearer(request):
            presented = request_api_key(request)
            return key_id(presented) if presented else ""
        return await self.other(request)

    async def admit_limited(self, request: web.Request, path: str) -> dict[str, str] | None:
        """Authenticate, then count the request against the rate limits (SPEC 8): a refused
        credential still spends its address's budget, so guessing keys is limited too."""
        assert self.limiter is not None
        principal: str | None = None
        refused: DomainError | None = None
        if needs_auth(path, self.public_prefixes):
            try:
                principal = await self.authenticate(request)
            except DomainError as exc:
                refused = exc
        report = await self.limiter.admit(request.remote, principal)
        headers = report.headers() if report is not None else None
        if report is not None and not report.allowed:
            raise DomainError("rate_limited", "too many requests: retry later", headers=headers)
        if refused is not None:
            refused.headers.update(headers or {})
            raise refused
        return headers


async def _http_error(request: web.Request, exc: web.HTTPException) -> web.StreamResponse:
    """aiohttp's own refusals as catalogue JSON; a page asked for with a trailing slash is
    redirected instead of missed (`GET /docs/` -> 308 /docs)."""
    if exc.status == 404:
        moved = await slashes.redirect_for(request)
        if moved is not None:
            raise moved
    return to_response(from_http_exception(exc))


def build(
    api_keys: ApiKeys,
    idempotency: Idempotency,
    public_prefixes: list[str],
    authenticators: list[Authenticator] | None = None,
    limiter: RateLimiter | None = None,
) -> Any:
    observe = metrics.HTTP.observe
    gate = Gate(api_keys, public_prefixes, authenticators if authenticators is not None else [], limiter)

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        limits: dict[str, str] | None = None
        try:
            length = request.content_length
            if length is not None and length > MAX_BODY:
                raise DomainError("body_too_large", "the request body is larger than the 1 MB limit")
            path = request.path
            if limiter is not None and limiter.applies(path):
                limits = await gate.admit_limited(request, path)
            elif needs_auth(path, public_prefixes) and not gate.bearer(request):
                await gate.other(request)
            key = request.headers.get(HEADER) if request.method == "POST" else None
            if key is not None and path.startswith("/v1/") and not path.startswith("/v1/webhooks/"):
                response = await idempotency.handle(request, handler, key)
            else:
                response = await handler(request)
        except (DomainError, payedge.PayedgeError) as exc:
            response = to_response(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = await _http_error(request, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = to_response(DomainError("internal_error", "internal error"))
        if limits is not None and not response.prepared:
            response.headers.update(limits)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        observe(route, request.method, response.status, time.perf_counter() - started)
        return response

    return edge
