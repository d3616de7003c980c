"""The demo page and payedge.js in a real headless Chromium: WebSocket, then long-poll fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.server.browser import chromium_page
from tests.server.live_support import Payments, client_secret, make_app

STATUS = "document.getElementById('status').dataset.status"
TRANSPORT = "document.getElementById('transport').textContent"


async def test_status_page_follows_the_payment_over_websocket() -> None:
    payments = Payments()
    app, hub = make_app(payments)
    payments.set(hub, "pay_web", "requires_confirmation")
    async with TestServer(app, host="127.0.0.1") as server, chromium_page() as page:
        url = server.make_url(f"/static/status.html?payment=pay_web&client_secret={client_secret('pay_web')}")
        await page.call("Page.navigate", url=str(url))
        await page.wait_for(STATUS, "requires_confirmation", within=20)
        await page.wait_for(TRANSPORT, "websocket", within=5)
        payments.set(hub, "pay_web", "processing")
        payments.set(hub, "pay_web", "succeeded")
        await page.wait_for(STATUS, "succeeded", within=10)
        assert await page.evaluate("document.getElementById('status').dataset.version") == "3"


async def test_status_page_falls_back_to_long_polling_without_websocket() -> None:
    """A proxy that refuses WebSocket upgrades: the page still follows the payment by long-polling."""

    @web.middleware
    async def no_websocket(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/v1/stream":
            return web.Response(status=502, text="websockets are not proxied here")
        return await handler(request)

    payments = Payments()
    app, hub = make_app(payments)
    app.middlewares.insert(0, no_websocket)
    payments.set(hub, "pay_poll", "processing")
    async with TestServer(app, host="127.0.0.1") as server, chromium_page() as page:
        url = server.make_url(
            f"/static/status.html?payment=pay_poll&client_secret={client_secret('pay_poll')}"
        )
        await page.call("Page.navigate", url=str(url))
        await page.wait_for(STATUS, "processing", within=20)
        assert await page.evaluate(TRANSPORT) == "poll"
        # the page is now parked in a long-poll (wait=30): the change wakes it
        payments.set(hub, "pay_poll", "succeeded")
        await page.wait_for(STATUS, "succeeded", within=10)


async def test_status_page_reconnects_after_the_server_drops_it() -> None:
    """Dropped (as a slow client would be): the page polls meanwhile and is back on WebSocket in ~3 s."""
    payments = Payments()
    app, hub = make_app(payments)
    payments.set(hub, "pay_re", "processing")
    async with TestServer(app, host="127.0.0.1") as server, chromium_page() as page:
        url = server.make_url(f"/static/status.html?payment=pay_re&client_secret={client_secret('pay_re')}")
        await page.call("Page.navigate", url=str(url))
        await page.wait_for(TRANSPORT, "websocket", within=20)
        assert hub.client_count == 1
        for client in list(hub._clients):
            hub.drop(client)
        # while the socket is down, a change still reaches the page (long-poll fallback)
        payments.set(hub, "pay_re", "requires_confirmation")
        await page.wait_for(STATUS, "requires_confirmation", within=10)
        # the client reconnects after 3 s and gets its snapshot and the next change over WebSocket
        for _ in range(200):
            if hub.subscriber_count("payment:pay_re") == 1:
                break
            await asyncio.sleep(0.05)
        assert hub.subscriber_count("payment:pay_re") == 1
        payments.set(hub, "pay_re", "succeeded")
        await page.wait_for(STATUS, "succeeded", within=10)
        assert await page.evaluate(TRANSPORT) == "websocket"
