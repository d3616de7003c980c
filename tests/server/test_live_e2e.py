"""Live status end to end against a real `payedge serve` process (sandbox gateway).

A payment created and confirmed through the API reaches a WebSocket subscriber,
a long-poller and the demo page in headless Chromium.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.server.browser import chromium_page
from tests.server.support import API_KEY, Server, running_server

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def payedge_url(server: Server) -> str:
    """The real `payedge serve` of this module (tests/server/conftest.py)."""
    return server.url


async def _create(session: aiohttp.ClientSession, base: str, method: str = "pm_sandbox_ok") -> dict[str, Any]:
    body = {"amount": 1250, "currency": "eur", "gateway": "sandbox", "payment_method": method}
    async with session.post(f"{base}/v1/payments", json=body, headers=AUTH) as resp:
        assert resp.status in (200, 201), await resp.text()
        payment: dict[str, Any] = await resp.json()
        return payment


async def _confirm(session: aiohttp.ClientSession, base: str, payment_id: str) -> dict[str, Any]:
    async with session.post(f"{base}/v1/payments/{payment_id}/confirm", json={}, headers=AUTH) as resp:
        assert resp.status == 200, await resp.text()
        payment: dict[str, Any] = await resp.json()
        return payment


async def _until_status(ws: aiohttp.ClientWebSocketResponse, status: str, within: float) -> dict[str, Any]:
    """Read live messages until the payment shows `status`; every version must grow."""
    last_version = -1

    async def read() -> dict[str, Any]:
        nonlocal last_version
        while True:
            message = await ws.receive_json()
            if message["type"] not in ("snapshot", "event"):
                continue
            assert message["version"] > last_version
            last_version = message["version"]
            if message["data"]["payment"]["status"] == status:
                return dict(message)

    return await asyncio.wait_for(read(), within)


async def test_confirmation_reaches_websocket_subscriber_and_long_poller(payedge_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        payment = await _create(session, payedge_url)
        payment_id = payment["id"]
        ws = await session.ws_connect(f"{payedge_url}/v1/stream", params={"token": API_KEY})
        await ws.send_json({"op": "subscribe", "channels": [f"payment:{payment_id}"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        snapshot = await ws.receive_json(timeout=10)
        assert (snapshot["type"], snapshot["data"]["payment"]["status"]) == ("snapshot", payment["status"])

        poll = asyncio.create_task(
            session.get(
                f"{payedge_url}/v1/payments/{payment_id}/status",
                params={"wait": "20", "since": str(payment["version"])},
                headers=AUTH,
            )
        )
        await asyncio.sleep(0.3)
        assert not poll.done()  # parked until the payment changes

        confirmed = await _confirm(session, payedge_url, payment_id)
        assert confirmed["status"] == "succeeded"
        event = await _until_status(ws, "succeeded", within=10)
        assert event["channel"] == f"payment:{payment_id}"
        assert event["version"] == confirmed["version"]

        answer = await asyncio.wait_for(poll, 10)
        assert answer.status == 200
        body = await answer.json()
        assert body["id"] == payment_id
        assert body["version"] > payment["version"]
        await ws.close()


async def test_async_sandbox_payment_succeeds_later_through_its_webhook(payedge_url: str) -> None:
    """`pm_sandbox_async`: the sandbox's signed webhook to the server itself completes the payment."""
    async with aiohttp.ClientSession() as session:
        payment = await _create(session, payedge_url, "pm_sandbox_async")
        ws = await session.ws_connect(f"{payedge_url}/v1/stream", headers=AUTH)
        await ws.send_json({"op": "subscribe", "channels": ["*"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        confirmed = await _confirm(session, payedge_url, payment["id"])
        assert confirmed["status"] == "processing"
        event = await _until_status(ws, "succeeded", within=15)
        assert event["channel"] == f"payment:{payment['id']}"
        await ws.close()


async def test_status_page_served_by_payedge_shows_the_change(payedge_url: str) -> None:
    async with aiohttp.ClientSession() as session, chromium_page() as page:
        payment = await _create(session, payedge_url)
        # The browser holds the payment's client secret (from its create response), never an API key.
        query = f"payment={payment['id']}&client_secret={payment['client_secret']}"
        url = f"{payedge_url}/static/status.html?{query}"
        await page.call("Page.navigate", url=url)
        status = "document.getElementById('status').dataset.status"
        await page.wait_for(status, payment["status"], within=20)
        await _confirm(session, payedge_url, payment["id"])
        await page.wait_for(status, "succeeded", within=10)
        assert await page.evaluate("document.getElementById('transport').textContent") == "websocket"


async def test_long_polls_see_a_change_made_by_another_worker(tmp_path: Path) -> None:
    """`--workers 2` without Redis: each worker has its own hub; long-pollers re-read the store
    (every second), so a confirmation handled by the other worker still answers them."""
    with running_server(tmp_path / "data", "--workers", "2") as srv:
        # a new connection per request: the kernel spreads them over both workers
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            payment = await _create(session, srv.url)
            polls = [
                asyncio.create_task(
                    session.get(
                        f"{srv.url}/v1/payments/{payment['id']}/status",
                        params={"wait": "20", "since": str(payment["version"])},
                        headers=AUTH,
                    )
                )
                for _ in range(8)
            ]
            await asyncio.sleep(0.5)
            assert not any(p.done() for p in polls)
            confirmed = await _confirm(session, srv.url, payment["id"])
            answers = await asyncio.wait_for(asyncio.gather(*polls), 10)
            for answer in answers:
                assert answer.status == 200
                assert (await answer.json())["version"] == confirmed["version"]
