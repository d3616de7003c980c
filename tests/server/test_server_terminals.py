"""Terminal-queue endpoints on the real server (payedge.TerminalQueue behind /v1/terminals)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from tests.server.support import Server, running_server


@pytest.fixture(scope="module")
def site(store_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("terminals") / "data", "--terminals", "T1,T2") as srv:
        yield srv


async def call(
    http: aiohttp.ClientSession, srv: Server, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, srv.url + path, json=body, headers=srv.headers()) as resp:
        return resp.status, await resp.json()


async def test_queue_allocate_complete(site: Server, http: aiohttp.ClientSession) -> None:
    assert await call(http, site, "POST", "/v1/terminals/queue", {"payment_id": "p1", "user_id": "u1"}) == (
        200,
        {"payment_id": "p1", "position": 1},
    )
    _, second = await call(http, site, "POST", "/v1/terminals/queue", {"payment_id": "p2", "user_id": "u1"})
    _, third = await call(http, site, "POST", "/v1/terminals/queue", {"payment_id": "p3", "user_id": "u2"})
    assert (second["position"], third["position"]) == (2, 3)
    # Enqueueing again is idempotent.
    _, again = await call(http, site, "POST", "/v1/terminals/queue", {"payment_id": "p2", "user_id": "u1"})
    assert again["position"] == 2

    status, a1 = await call(http, site, "POST", "/v1/terminals/T1/allocate")
    assert status == 200 and a1["lease"]["payment_id"] == "p1"
    status, busy = await call(http, site, "POST", "/v1/terminals/T1/allocate")
    assert status == 409 and busy["error"]["code"] == "terminal_busy"
    # u1 holds a lock: p2 waits, p3 (u2) goes first on T2.
    _, a2 = await call(http, site, "POST", "/v1/terminals/T2/allocate")
    assert a2["lease"]["payment_id"] == "p3"
    _, pos = await call(http, site, "GET", "/v1/terminals/queue/p2")
    assert pos["position"] == 1
    _, snap = await call(http, site, "GET", "/v1/terminals")
    assert snap["queue"] == ["p2"] and snap["terminals"]["T1"]["payment_id"] == "p1"
    # Versioned like the live `terminals` events, so a page keeps the newer of the two views.
    _, later = await call(http, site, "GET", "/v1/terminals")
    assert isinstance(snap["version"], int) and later["version"] > snap["version"]

    token = a1["lease"]["token"]
    # HTTP times are UNIX seconds, also from the in-process queue (whose clock is monotonic).
    assert abs(a1["lease"]["expires_at"] - (time.time() + 180)) < 5
    status, ext = await call(http, site, "POST", f"/v1/terminals/leases/{token}/extend")
    assert status == 200 and ext["expires_at"] >= a1["lease"]["expires_at"]
    assert (await call(http, site, "POST", f"/v1/terminals/leases/{token}/complete"))[0] == 200
    status, stale = await call(http, site, "POST", f"/v1/terminals/leases/{token}/complete")
    assert status == 409 and stale["error"]["code"] == "stale_lease"
    status, bad = await call(http, site, "POST", "/v1/terminals/leases/abc/complete")
    assert status == 400 and bad["error"]["param"] == "token"
    status, unknown = await call(http, site, "POST", "/v1/terminals/T9/allocate")
    assert status == 404 and unknown["error"]["code"] == "unknown_terminal"
    _, cancel = await call(http, site, "POST", "/v1/terminals/queue/p2/cancel")
    assert cancel["canceled"] is True
    status, missing = await call(http, site, "POST", "/v1/terminals/queue", {"payment_id": "p9"})
    assert status == 400 and missing["error"]["param"] == "user_id"


async def test_without_terminals_configured(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    with running_server(tmp_path / "data") as srv:
        status, err = await call(http, srv, "GET", "/v1/terminals")
        assert status == 409 and err["error"]["code"] == "terminals_not_configured"
        status, err = await call(http, srv, "POST", "/v1/quotes", {"entry": 0, "exit": 60})
        assert status == 409 and err["error"]["code"] == "tariff_not_configured"


async def test_queue_in_redis_is_shared_by_workers(
    tmp_path: Path, redis_url: str, http: aiohttp.ClientSession
) -> None:
    # The session's Redis is shared by the runs of this test on each store: start from an empty one.
    redis.Redis.from_url(redis_url).flushdb()
    with running_server(
        tmp_path / "data", "--terminals", "R1", "--redis-url", redis_url, "--workers", "2"
    ) as srv:
        # New connection per request: the two workers answer in turn, one queue between them.
        positions = []
        for i in range(6):
            async with http.post(
                srv.url + "/v1/terminals/queue",
                json={"payment_id": f"rp{i}", "user_id": f"ru{i}"},
                headers={**srv.headers(), "Connection": "close"},
            ) as resp:
                assert resp.status == 200
                positions.append((await resp.json())["position"])
        assert positions == [1, 2, 3, 4, 5, 6]
        async with http.post(
            srv.url + "/v1/terminals/R1/allocate", headers={**srv.headers(), "Connection": "close"}
        ) as resp:
            lease = (await resp.json())["lease"]
        assert lease["payment_id"] == "rp0"
        # HTTP times are UNIX seconds, from Redis's clock here.
        assert abs(lease["expires_at"] - (time.time() + 180)) < 5
        async with http.get(
            srv.url + "/v1/terminals", headers={**srv.headers(), "Connection": "close"}
        ) as resp:
            snap = await resp.json()
        assert snap["queue"] == [f"rp{i}" for i in range(1, 6)]
        assert snap["terminals"]["R1"]["token"] == lease["token"]
