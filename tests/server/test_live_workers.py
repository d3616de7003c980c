"""Live status with `payedge serve --workers 2`: a change made through one worker
reaches WebSocket subscribers connected to the other (the shared `live_feed`).

The kernel spreads connections over the two workers (SO_REUSEPORT hashes each
one), so with eight subscribers and a fresh connection per confirmation, a hub
that served only its own worker's changes would leave some subscriber without
some update (all twelve connections on one worker: a chance of 1 in 2,048).
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from tests.server.support import API_KEY, Server, running_server, serve_command
from tests.support.services import free_port

AUTH = {"Authorization": f"Bearer {API_KEY}", "Connection": "close"}
SUBSCRIBERS = 8
PAYMENTS = 4


async def _post(srv: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    # A session per request: a new connection, so the kernel picks a worker each time.
    async with aiohttp.ClientSession() as http, http.post(srv.url + path, json=body, headers=AUTH) as resp:
        assert resp.status in (200, 201), await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer


async def _succeeded(ws: aiohttp.ClientWebSocketResponse, payment_ids: set[str]) -> set[str]:
    """Read `*` events until every payment of `payment_ids` was seen `succeeded`; each
    change arrives once (a worker does not hand its own events back to its subscribers)."""
    seen: set[str] = set()
    delivered: set[tuple[str, int]] = set()
    while seen != payment_ids:
        message = await ws.receive_json()
        if message["type"] != "event" or not message["channel"].startswith("payment:"):
            continue
        change = (message["channel"], message["version"])
        assert change not in delivered, f"{change} delivered twice"
        delivered.add(change)
        payment = message["data"]["payment"]
        if payment["status"] == "succeeded":
            seen.add(payment["id"])
    return seen


async def test_a_change_through_one_worker_reaches_subscribers_of_both(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", "--workers", "2") as srv:
        await asyncio.sleep(0.5)  # both workers listening
        sessions = [aiohttp.ClientSession() for _ in range(SUBSCRIBERS)]
        try:
            sockets = []
            for session in sessions:
                ws = await session.ws_connect(srv.url + "/v1/stream", params={"token": API_KEY})
                await ws.send_json({"op": "subscribe", "channels": ["*"]})
                assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
                sockets.append(ws)
            payment_ids = set()
            for i in range(PAYMENTS):
                created = await _post(
                    srv,
                    "/v1/payments",
                    {"amount": 500 + i, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
                )
                confirmed = await _post(srv, f"/v1/payments/{created['id']}/confirm", {})
                assert confirmed["status"] == "succeeded"
                payment_ids.add(created["id"])
            results = await asyncio.wait_for(
                asyncio.gather(*(_succeeded(ws, payment_ids) for ws in sockets)), timeout=10
            )
            assert all(seen == payment_ids for seen in results)
        finally:
            for session in sessions:
                await session.close()


def test_terminals_with_workers_need_redis(tmp_path: Path) -> None:
    """Per-process queues behind one port would disagree: refused at start, with the reason."""
    cmd = serve_command(free_port(), tmp_path, "--workers", "2", "--terminals", "T1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0
    assert "--terminals with --workers > 1 needs --redis-url" in proc.stderr
