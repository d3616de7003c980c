"""Crash test: SIGKILL the server during a burst of webhooks and payment creations, restart it.

Every request answered 2xx before the kill must be durable after the restart:
acknowledged events are known as duplicates, acknowledged payments are present
(and their Idempotency-Key replays them); nothing is half-written.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.server.support import Server, running_server, stripe_event, stripe_headers
from tests.support import stores

BURST_SECONDS = 1.5
MAX_REQUESTS = 4000
CONCURRENCY = 48


async def _burst(srv: Server) -> tuple[dict[str, bytes], dict[str, dict[str, Any]], int]:
    """Fire webhooks and creations until killed; returns the acknowledged ones."""
    acked_events: dict[str, bytes] = {}
    acked_payments: dict[str, dict[str, Any]] = {}
    sent = 0
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def worker(w: int) -> None:
            nonlocal sent
            i = 0
            while not stop.is_set() and sent < MAX_REQUESTS:
                sent += 1
                i += 1
                try:
                    if i % 2:
                        body = stripe_event("payment_intent.succeeded", f"pi_crash_{w}_{i}")
                        async with http.post(
                            srv.url + "/v1/webhooks/stripe", data=body, headers=stripe_headers(body)
                        ) as resp:
                            if resp.status == 200:
                                acked_events[orjson.loads(body)["id"]] = body
                    else:
                        key = f"crash-{w}-{i}"
                        payload = {"amount": 100 + i, "currency": "EUR", "order_ref": key}
                        async with http.post(
                            srv.url + "/v1/payments",
                            json=payload,
                            headers=srv.headers(**{"Idempotency-Key": key}),
                        ) as resp:
                            if resp.status == 201:
                                acked_payments[key] = await resp.json()
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server is gone

        async def killer() -> None:
            await asyncio.sleep(BURST_SECONDS)
            os.killpg(srv.proc.pid, signal.SIGKILL)
            stop.set()

        await asyncio.gather(killer(), *(worker(w) for w in range(CONCURRENCY)))
    return acked_events, acked_payments, sent


def _check_consistency(data: Path) -> None:
    if stores.current().name == "sqlite":
        assert stores.rows_at(data, "PRAGMA integrity_check") == [("ok",)]
    # Every payment has exactly one history row per version: no half-written transition.
    bad = stores.rows_at(
        data,
        "SELECT p.id FROM payments p LEFT JOIN payment_status_history h ON h.payment_id = p.id "
        "GROUP BY p.id HAVING COUNT(h.version) != MAX(p.version)",
    )
    assert bad == []
    dup = stores.rows_at(data, "SELECT order_ref FROM payments GROUP BY order_ref HAVING COUNT(*) > 1")
    assert dup == []


async def test_sigkill_during_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as srv:
        started = time.monotonic()
        acked_events, acked_payments, sent = await _burst(srv)
        assert srv.proc.wait(timeout=10) == -signal.SIGKILL
        assert time.monotonic() - started < 30
    assert len(acked_events) > 20 and len(acked_payments) > 20, (len(acked_events), len(acked_payments), sent)

    _check_consistency(data)
    with running_server(data) as srv:
        async with aiohttp.ClientSession() as http:
            for event_id, body in acked_events.items():
                async with http.post(
                    srv.url + "/v1/webhooks/stripe", data=body, headers=stripe_headers(body)
                ) as resp:
                    assert await resp.json() == {"received": True, "duplicate": True}, event_id
            for key, payment in acked_payments.items():
                async with http.get(srv.url + f"/v1/payments/{payment['id']}", headers=srv.headers()) as resp:
                    assert resp.status == 200, key
                    shown = await resp.json()
                    assert shown["amount"] == payment["amount"] and shown["order_ref"] == key
                payload = {"amount": payment["amount"], "currency": "EUR", "order_ref": key}
                async with http.post(
                    srv.url + "/v1/payments", json=payload, headers=srv.headers(**{"Idempotency-Key": key})
                ) as resp:
                    assert resp.status == 201 and resp.headers["Idempotent-Replayed"] == "true"
                    assert (await resp.json())["id"] == payment["id"]
    _check_consistency(data)
