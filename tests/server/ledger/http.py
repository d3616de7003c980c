"""Talking to a real `payedge serve` about money: requests, payments, funding."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from tests.server.support import Server


def owner() -> str:
    return "o_" + uuid.uuid4().hex[:12]


async def call(
    http: aiohttp.ClientSession,
    srv: Server,
    method: str,
    path: str,
    body: Any = None,
    **headers: str,
) -> tuple[int, Any]:
    async with http.request(method, srv.url + path, json=body, headers=srv.headers(**headers)) as resp:
        data = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, data


async def pay(
    http: aiohttp.ClientSession, srv: Server, amount: int, currency: str = "EUR", **fields: Any
) -> dict[str, Any]:
    """Create and confirm a sandbox payment (pm_sandbox_ok); returns it after confirmation."""
    status, created = await call(
        http,
        srv,
        "POST",
        "/v1/payments",
        {"amount": amount, "currency": currency, "payment_method": "pm_sandbox_ok", **fields},
    )
    assert status == 201, created
    status, paid = await call(http, srv, "POST", f"/v1/payments/{created['id']}/confirm", {})
    assert status == 200 and paid["status"] == "succeeded", paid
    return dict(paid)


async def fund(
    http: aiohttp.ClientSession, srv: Server, who: str, amount: int, currency: str = "EUR"
) -> None:
    """Credit a wallet from `external:funding` (an operator transfer)."""
    transfer = {
        "id": "fund_" + uuid.uuid4().hex[:16],
        "debit_account": f"external:funding:{currency}",
        "credit_account": f"wallet:{who}:{currency}",
        "amount": amount,
        "currency": currency,
    }
    status, body = await call(http, srv, "POST", "/v1/ledger/transfers", {"transfers": [transfer]})
    assert status == 200 and body["results"][0]["result"] == "ok", body


async def balance(
    http: aiohttp.ClientSession, srv: Server, who: str, currency: str = "EUR"
) -> dict[str, int]:
    status, body = await call(http, srv, "GET", f"/v1/wallets/{who}")
    assert status == 200, body
    return dict(body["balances"].get(currency, {}))


async def trial_balance_holds(http: aiohttp.ClientSession, srv: Server) -> dict[str, Any]:
    status, body = await call(http, srv, "GET", "/v1/ledger/trial-balance")
    assert status == 200
    for currency, sums in body["currencies"].items():
        assert sums["debits_posted"] == sums["credits_posted"], currency
        assert sums["debits_pending"] == sums["credits_pending"], currency
    return dict(body)
