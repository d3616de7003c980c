"""Magic amounts, armed faults and latency, the same table on the four fakes.

Before the money moves, a fault leaves nothing behind; after, the money moved (the fake
counts the capture) although the caller got no usable answer, and a status read tells
the truth. That is the contract the fallback feature's tests build on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.fakes.drivers import APPLIED, DRIVERS, NOT_APPLIED, PAID, Driver, base_of
from tests.fakes.support import Fakes

PROVIDERS = sorted(DRIVERS)
SERVER_ERROR_STATUS = {"paypal": 500, "cinetpay": 500, "momo": 500, "orange": 503}


async def stats(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(f"{base}/_fake/stats") as r:
        return dict(await r.json())


async def attempt(driver: Driver, amount: int) -> str:
    """How the pay call ended: an HTTP status, 'timeout' or 'dropped'."""
    try:
        return str(await driver.pay(amount))
    except TimeoutError:
        return "timeout"
    except aiohttp.ServerDisconnectedError:
        return "dropped"


async def captures(http: aiohttp.ClientSession, fakes: Fakes, provider: str) -> int:
    return int((await stats(http, base_of(fakes, provider)))["totals"]["captures"])


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("amount", "outcome"), [(9105, "5xx"), (9110, "timeout"), (9115, "dropped")])
async def test_fault_before_the_money_moves_leaves_nothing(
    http: aiohttp.ClientSession, fakes: Fakes, provider: str, amount: int, outcome: str
) -> None:
    driver = DRIVERS[provider](http, fakes)
    ended = await attempt(driver, amount)
    assert ended == (str(SERVER_ERROR_STATUS[provider]) if outcome == "5xx" else outcome)
    assert await driver.settled() == NOT_APPLIED[provider]
    assert await captures(http, fakes, provider) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("amount", "outcome"), [(9155, "5xx"), (9160, "timeout"), (9165, "dropped")])
async def test_fault_after_the_call_applied_is_resolved_by_a_status_read(
    http: aiohttp.ClientSession, fakes: Fakes, provider: str, amount: int, outcome: str
) -> None:
    driver = DRIVERS[provider](http, fakes)
    ended = await attempt(driver, amount)
    assert ended == (str(SERVER_ERROR_STATUS[provider]) if outcome == "5xx" else outcome)
    assert await driver.settled() == APPLIED[provider]
    await driver.complete()  # PayPal: idempotent retry; the others: the payer pays
    assert await driver.settled() == PAID[provider]
    assert await captures(http, fakes, provider) == 1  # one capture in total, whatever the caller saw


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_decline_magic_amount_takes_no_money(
    http: aiohttp.ClientSession, fakes: Fakes, provider: str
) -> None:
    driver = DRIVERS[provider](http, fakes)
    ended = await attempt(driver, 9100)
    if provider == "paypal":
        assert ended == "422"  # INSTRUMENT_DECLINED at capture
    else:
        assert ended in ("200", "201", "202")
        async with http.post(f"{base_of(fakes, provider)}/_fake/payments/{driver.payment_id}/pay") as r:
            assert r.status == 200
        assert await driver.settled() in ("REFUSED", "FAILED")
    assert await captures(http, fakes, provider) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_armed_fault_strikes_the_next_calls_only(
    http: aiohttp.ClientSession, fakes: Fakes, provider: str
) -> None:
    base = base_of(fakes, provider)
    armed = {"operation": "pay", "fault": "5xx", "phase": "before", "times": 2}
    async with http.post(f"{base}/_fake/faults", json=armed) as r:
        assert r.status == 201
    endings = [await attempt(DRIVERS[provider](http, fakes), 1000) for _ in range(3)]
    expected = str(SERVER_ERROR_STATUS[provider])
    assert endings[:2] == [expected, expected] and endings[2] != expected
    async with http.get(f"{base}/_fake/faults") as r:
        listing = await r.json()
    assert listing["armed"] == [] and {row["amount"] for row in listing["magic_amounts"]} >= {
        9100,
        9165,
        9305,
    }


async def test_admin_api_refuses_bad_requests(http: aiohttp.ClientSession, fakes: Fakes) -> None:
    for body in (
        {"operation": "nope", "fault": "5xx", "phase": "before"},
        {"operation": "pay", "fault": "5xx"},
    ):
        async with http.post(f"{fakes.momo}/_fake/faults", json=body) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_request"
    async with http.post(f"{fakes.momo}/_fake/latency", json={"latency_ms": -1}) as r:
        assert r.status == 400
    async with http.post(f"{fakes.momo}/_fake/payments/nope/pay") as r:
        assert r.status == 404


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_injected_latency_delays_the_api_not_the_admin(
    http: aiohttp.ClientSession, fakes: Fakes, provider: str
) -> None:
    base = base_of(fakes, provider)
    async with http.post(f"{base}/_fake/latency", json={"latency_ms": 300}) as r:
        assert (await r.json()) == {"latency_ms": 300, "jitter_ms": 0}
    started = time.monotonic()
    async with http.post(f"{base}/no-such-endpoint") as r:
        assert r.status in (404, 405)
    assert time.monotonic() - started >= 0.3
    async with http.post(f"{base}/_fake/reset") as r:
        assert r.status == 200
    async with http.get(f"{base}/_fake/latency") as r:
        assert (await r.json())["latency_ms"] == 0


async def test_a_hung_request_does_not_block_the_others(http: aiohttp.ClientSession, fakes: Fakes) -> None:
    driver = DRIVERS["cinetpay"](http, fakes)
    hung = asyncio.ensure_future(attempt(driver, 9110))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    async with http.get(f"{fakes.cinetpay}/_fake/stats") as r:
        assert r.status == 200
    assert time.monotonic() - started < 0.4
    assert await hung == "timeout"
