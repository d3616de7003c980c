"""An in-process aiohttp app with the real live hub over a dict of payment statuses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientWebSocketResponse, web
from aiohttp.test_utils import TestClient, TestServer
from payedge_server import keys
from payedge_server.config import Config
from payedge_server.config.sections.auth import AuthConfig
from payedge_server.errors import DomainError, to_response
from payedge_server.live import SCOPE, LiveHub, is_authorised, payment_event, setup_live

API_KEY = "sk_test_live_key"
SECRET_SUFFIX = "_secret_live_test"


def client_secret(payment_id: str) -> str:
    """The client secret this harness accepts for `payment_id` (the server's real ones are random
    and checked against the store: orders/client_secrets.py, tested in tests/server/orders)."""
    return payment_id + SECRET_SUFFIX


@dataclass
class Payments:
    """What the store would hold: public payment statuses by id."""

    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: int = 0
    after_read: Callable[[], object] | None = None
    """Runs once after the next read, before it returns (a change racing the read)."""

    async def lookup(self, payment_id: str) -> dict[str, Any] | None:
        self.reads += 1
        found = self.by_id.get(payment_id)
        result = dict(found) if found is not None else None
        if self.after_read is not None:
            hook, self.after_read = self.after_read, None
            hook()
        return result

    def set(self, hub: LiveHub, payment_id: str, status: str) -> dict[str, Any]:
        """Change a payment's status (a committed transition) and publish it, as the server does."""
        previous = self.by_id.get(payment_id)
        version = previous["version"] + 1 if previous else 1
        payment = {"id": payment_id, "status": status, "version": version, "amount": 1250}
        self.by_id[payment_id] = payment
        hub.publish(f"payment:{payment_id}", payment_event(dict(payment)))
        return payment


@web.middleware
async def bearer_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The shape of the server's edge middleware: /v1 needs a key (or, on the live routes, a client
    secret that scopes the connection to its payment), /static does not; domain errors become
    responses through the one catalogue."""
    secret = request.query.get("client_secret", "")
    if request.path.startswith("/v1/") and secret.endswith(SECRET_SUFFIX):
        request[SCOPE] = frozenset({"payment:" + secret.removesuffix(SECRET_SUFFIX)})
    elif request.path.startswith("/v1/") and not is_authorised(request):
        return web.json_response({"error": {"code": "unauthorised", "message": "API key"}}, status=401)
    try:
        return await handler(request)
    except DomainError as exc:
        return to_response(exc)


def make_app(payments: Payments, **live_options: Any) -> tuple[web.Application, LiveHub]:
    app = web.Application(middlewares=[bearer_auth])
    app[keys.CONFIG] = Config(auth=AuthConfig(api_keys=(API_KEY,)))
    hub = setup_live(app, payments.lookup, **live_options)
    return app, hub


AUTH = {"Authorization": f"Bearer {API_KEY}"}


@contextlib.asynccontextmanager
async def live_client(
    payments: Payments, **live_options: Any
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], LiveHub]]:
    app, hub = make_app(payments, **live_options)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, hub
    finally:
        await client.close()


async def subscribe(ws: ClientWebSocketResponse, *channels: str) -> None:
    await ws.send_json({"op": "subscribe", "channels": list(channels)})
    ack = await receive(ws)
    assert ack == {"type": "subscribed", "channels": list(channels)}


async def receive(ws: ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
    message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), timeout)
    return message
