"""SPEC 8 rate limits against real `payedge serve` processes: 429 with the IETF headers, one budget
across instances through Redis, webhooks and health left alone, off unless configured."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.server.support import API_KEY, Server, running_server
from tests.support import services

pytestmark = [pytest.mark.timeout(120), pytest.mark.sqlite_only]

LIMITS = """
[rate_limits.per_key]
rate = 5
period = 60
burst = 5

[rate_limits.per_address]
rate = 9
period = 60
"""
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _config(work: Path, text: str) -> str:
    path = work / "payedge.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("limits")
    with running_server(work / "data", "--config", _config(work, LIMITS)) as srv:
        yield srv


async def _get(session: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, dict[str, str]]:
    async with session.get(url, headers=headers) as resp:
        await resp.read()
        return resp.status, dict(resp.headers)


async def test_a_burst_above_the_limit_gets_429_with_the_headers(limited: Server) -> None:
    async with aiohttp.ClientSession() as http:
        answers = [await _get(http, f"{limited.url}/v1/payments?limit=1", **AUTH) for _ in range(7)]
    assert [s for s, _ in answers] == [200] * 5 + [429] * 2
    first, last_ok, refused = answers[0][1], answers[4][1], answers[5][1]
    assert first["RateLimit-Policy"] == '"address";q=9;w=60, "key";q=5;w=60'
    assert first["RateLimit"] == '"address";r=8;t=7, "key";r=4;t=12'
    assert last_ok["RateLimit"].endswith('"key";r=0;t=60')
    assert refused["Retry-After"] == "12"  # one request every 60/5 s
    assert refused["RateLimit"].endswith('"key";r=0;t=60')
    assert refused["Content-Type"].startswith("application/json")


async def test_the_address_budget_counts_refused_credentials_too(limited: Server) -> None:
    # The key's budget went above; the address (9 at once) has 4 left: guessing keys spends it.
    async with aiohttp.ClientSession() as http:
        guesses = [
            await _get(http, f"{limited.url}/v1/payments", Authorization="Bearer guess") for _ in range(5)
        ]
        assert [s for s, _ in guesses] == [401] * 4 + [429]
        assert guesses[0][1]["RateLimit-Policy"] == '"address";q=9;w=60'  # no valid key: no key policy
        # Webhooks and health are not limited (providers deliver bursts; probes probe).
        for _ in range(5):
            async with http.post(f"{limited.url}/v1/webhooks/stripe", data=b"{}") as resp:
                assert resp.status == 400 and "RateLimit" not in resp.headers
            assert (await _get(http, f"{limited.url}/health"))[0] == 200
        # HTML pages are limited by address as well.
        status, headers = await _get(http, f"{limited.url}/dashboard")
        assert status == 429 and headers["Retry-After"]


async def test_off_unless_configured(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(30):
            status, headers = await _get(http, f"{server.url}/v1/payments?limit=1", **AUTH)
            assert status == 200 and "RateLimit" not in headers


SHARED = """
[rate_limits.per_key]
rate = 6
period = 60
"""


async def test_two_instances_sharing_redis_enforce_one_budget(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("shared-limits")
    config = _config(work, SHARED)
    ports = services.free_port(), services.free_port()
    with (
        running_server(work / "a", "--config", config, "--redis-url", redis_url, port=ports[0]) as one,
        running_server(work / "b", "--config", config, "--redis-url", redis_url, port=ports[1]) as two,
    ):
        async with aiohttp.ClientSession() as http:
            answers = await asyncio.gather(
                *(_get(http, f"{srv.url}/v1/payments?limit=1", **AUTH) for srv in (one, two) * 6)
            )
    statuses = [s for s, _ in answers]
    assert statuses.count(200) == 6 and statuses.count(429) == 6, statuses
    assert all(h.get("RateLimit-Policy") == '"key";q=6;w=60' for _, h in answers)
