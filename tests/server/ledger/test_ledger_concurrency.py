"""Concurrency against a real `payedge serve`: 50 withdrawals at once against a wallet that can pay 10
of them (exactly 10 succeed), and 200 payments at once (invoice numbers 1..200, no gap, no duplicate)."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import aiohttp

from tests.server.ledger import invariants
from tests.server.ledger.conftest import write_settings
from tests.server.ledger.http import balance, call, fund, trial_balance_holds
from tests.server.support import running_server
from tests.support.stores import rows_at


async def test_fifty_concurrent_withdrawals_against_ten_payable(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as srv:
        connector = aiohttp.TCPConnector(limit=50)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as http:
            await fund(http, srv, "hot", 1000)

            async def withdraw(i: int) -> int:
                body = {"amount": 100, "currency": "EUR", "id": f"w{i}"}
                status, _ = await call(http, srv, "POST", "/v1/wallets/hot/withdrawals", body)
                return status

            statuses = await asyncio.gather(*(withdraw(i) for i in range(50)))
            assert sorted(statuses) == [201] * 10 + [402] * 40
            assert await balance(http, srv, "hot") == {
                "available": 0,
                "pending_out": 1000,
                "credited": 1000,
                "debited": 0,
            }
            await trial_balance_holds(http, srv)
    invariants.check(lambda sql: rows_at(tmp_path / "data", sql))


async def test_two_hundred_concurrent_payments_number_their_invoices_without_gaps(tmp_path: Path) -> None:
    settings = write_settings(tmp_path)
    with running_server(tmp_path / "data", "--config", str(settings)) as srv:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        ) as http:

            async def checkout(i: int) -> str:
                status, created = await call(
                    http,
                    srv,
                    "POST",
                    "/v1/payments",
                    {
                        "amount": 1000 + i,
                        "currency": "EUR",
                        "payment_method": "pm_sandbox_ok",
                        "payee": f"m{i % 7}",
                        "commission_type": "ticket_sale",
                        "metadata": {"customer_email": f"c{i}@example.com"},
                    },
                )
                assert status == 201, created
                status, paid = await call(http, srv, "POST", f"/v1/payments/{created['id']}/confirm", {})
                assert status == 200 and paid["status"] == "succeeded", paid
                status, docs = await call(http, srv, "GET", f"/v1/invoices?payment_id={created['id']}")
                assert status == 200 and len(docs["data"]) == 1
                assert docs["data"][0]["total"] == 1000 + i
                return str(docs["data"][0]["id"])

            numbers = await asyncio.gather(*(checkout(i) for i in range(200)))
            year = datetime.datetime.now(datetime.UTC).year
            assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, 201)]
            await trial_balance_holds(http, srv)
    assert invariants.check(lambda sql: rows_at(tmp_path / "data", sql))["documents"] == 200
