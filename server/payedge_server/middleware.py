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

from payedge_server import metrics
from payedge_server.auth import ApiKeys, needs_auth
from payedge_server.errors import DomainError, from_http_exception, to_response
from payedge_server.idempotency import HEADER, Idempotency
from payedge_server.live import request_api_key

log = logging.getLogger("payedge.http")

MAX_BODY = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build(api_keys: ApiKeys, idempotency: Idempotency, public_prefixes: list[str]) -> Any:
    observe = metrics.HTTP.observe

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            length = request.content_length
            if length is not None and length > MAX_BODY:
                raise DomainError("body_too_large", "the request body is larger than the 1 MB limit")
            path = request.path
            if needs_auth(path, public_prefixes):
                api_keys.check(request_api_key(request))
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
            response = to_response(from_http_exception(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = to_response(DomainError("internal_error", "internal error"))
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        observe(route, request.method, response.status, time.perf_counter() - started)
        return response

    return edge
