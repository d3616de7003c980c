"""Several instances (SPEC 7): two `payedge serve` on different ports sharing one PostgreSQL and one Redis.

Nothing works on one instance only: a payment created on A is confirmed on B; a
WebSocket subscriber on A sees what B changed; a webhook delivered to both is
applied once; an Idempotency-Key sent to both gives one payment. (The parking
relay's election and failover: tests/parking/test_parking_scale_out.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.server.support import Server, running_server, stripe_event, stripe_headers
from tests.server.test_metrics_instance import instance_labels
from tests.support import stores

pytestmark = pytest.mark.sqlite_only  # runs its own PostgreSQL pair, not once per store


@contextlib.contextmanager
def two_instances(tmp_path: Path, redis_url: str, *extra: str) -> Iterator[tuple[Server, Server]]:
    url = stores.shared_postgres().create_database()
    args = ("--database-url", url, "--redis-url", redis_url, *extra)
    with (
        running_server(tmp_path / "a", *args) as a,
        running_server(tmp_path / "b", *args) as b,
    ):
        yield a, b


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[Server, Server]]:
    with two_instances(tmp_path_factory.mktemp("pair"), redis_url) as servers:
        yield servers


async def _call(
    http: aiohttp.ClientSession, srv: Server, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, srv.url + path, json=body, headers=srv.headers(**headers)) as resp:
        return resp.status, await resp.json()


async def test_created_on_one_confirmed_on_the_other(pair: tuple[Server, Server]) -> None:
    a, b = pair
    async with aiohttp.ClientSession() as http:
        status, created = await _call(http, a, "POST", "/v1/payments", {"amount": 1200, "currency": "EUR"})
        assert status == 201, created
        status, confirmed = await _call(
            http, b, "POST", f"/v1/payments/{created['id']}/confirm", {"payment_method": "pm_sandbox_ok"}
        )
        assert status == 200, confirmed
        assert confirmed["status"] == "succeeded"
        status, seen = await _call(http, a, "GET", f"/v1/payments/{created['id']}")
        assert (status, seen["status"], seen["version"]) == (200, "succeeded", confirmed["version"])


async def test_a_subscriber_on_one_sees_changes_made_through_the_other(pair: tuple[Server, Server]) -> None:
    a, b = pair
    async with aiohttp.ClientSession() as http:
        _, created = await _call(http, b, "POST", "/v1/payments", {"amount": 900, "currency": "EUR"})
        pid = created["id"]
        ws = await http.ws_connect(a.url + "/v1/stream", params={"token": a.headers()["Authorization"][7:]})
        await ws.send_json({"op": "subscribe", "channels": [f"payment:{pid}"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        _, confirmed = await _call(
            http, b, "POST", f"/v1/payments/{pid}/confirm", {"payment_method": "pm_sandbox_ok"}
        )
        assert confirmed["status"] == "succeeded"

        async def until_succeeded() -> dict[str, Any]:
            while True:
                message = await ws.receive_json()
                if message.get("type") == "event" and message["data"]["payment"]["status"] == "succeeded":
                    return dict(message)

        event = await asyncio.wait_for(until_succeeded(), timeout=10)
        assert event["channel"] == f"payment:{pid}"
        await ws.close()


async def test_a_webhook_delivered_to_both_is_applied_once(pair: tuple[Server, Server]) -> None:
    a, b = pair
    async with aiohttp.ClientSession() as http:
        body = stripe_event("payment_intent.succeeded", f"pi_scale_{id(http)}", amount=700, currency="eur")

        async def deliver(srv: Server) -> dict[str, Any]:
            async with http.post(
                srv.url + "/v1/webhooks/stripe", data=body, headers=stripe_headers(body)
            ) as resp:
                assert resp.status == 200
                answer: dict[str, Any] = await resp.json()
                return answer

        answers = await asyncio.gather(deliver(a), deliver(b), deliver(a), deliver(b))
        assert sorted(x["duplicate"] for x in answers) == [False, True, True, True]
        event_id = __import__("orjson").loads(body)["id"]
        assert a.rows("SELECT COUNT(*) FROM webhook_events WHERE event_id = ?", (event_id,)) == [(1,)]


async def test_an_idempotency_key_sent_to_both_gives_one_payment(pair: tuple[Server, Server]) -> None:
    a, b = pair
    key = f"scale-{id(pair)}-{asyncio.get_running_loop().time()}"
    body = {"amount": 4321, "currency": "EUR", "payment_method": "pm_sandbox_ok", "order_ref": key}
    async with aiohttp.ClientSession() as http:

        async def create(srv: Server) -> dict[str, Any]:
            for _ in range(50):  # 409 while the other instance's request is in flight: retry
                status, answer = await _call(
                    http, srv, "POST", "/v1/payments", body, **{"Idempotency-Key": key}
                )
                if status != 409:
                    assert status == 201, answer
                    return answer
                await asyncio.sleep(0.1)
            raise AssertionError("still in flight after 5 s")

        answers = await asyncio.gather(*(create(srv) for srv in (a, b, a, b)))
    assert len({x["id"] for x in answers}) == 1
    assert a.rows("SELECT COUNT(*) FROM payments WHERE order_ref = ?", (key,)) == [(1,)]


async def test_each_instance_labels_its_metrics_with_its_own_name(pair: tuple[Server, Server]) -> None:
    """Behind one load balancer the series of A and B stay apart (issue 12)."""
    a, b = pair
    seen = [await instance_labels(srv) for srv in (a, b)]
    names = []
    for labels in seen:
        values = set().union(*labels.values())
        assert len(values) == 1 and "" not in values, values  # every payedge_* series, one instance
        names.append(values.pop())
    assert names[0] != names[1]
    assert names == [f"{socket.gethostname()}:{srv.port}" for srv in (a, b)]
