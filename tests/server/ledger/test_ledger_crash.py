"""Crash: SIGKILL `payedge serve` during a burst of payments (postings, commissions, invoices),
refunds and withdrawals; after the restart the ledger's invariants hold and every acknowledged
operation is there, whole (its transfers, its invoice, its hold)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.server.ledger import invariants
from tests.server.ledger.conftest import write_settings
from tests.server.ledger.http import call, fund, trial_balance_holds
from tests.server.support import Server, running_server
from tests.support.stores import current, rows_at

BURST_SECONDS = 1.5
CONCURRENCY = 32
MAX_OPERATIONS = 3000
WALLETS = [f"crash-w{i}" for i in range(8)]


class Acked:
    def __init__(self) -> None:
        self.payments: dict[str, int] = {}  # id -> amount captured
        self.refunds: dict[str, int] = {}  # payment id -> amount refunded, acknowledged
        self.withdrawals: dict[str, tuple[str, int]] = {}  # id -> (owner, amount)
        self.sent = 0


async def _checkout(http: aiohttp.ClientSession, srv: Server, w: int, i: int, acked: Acked) -> None:
    body = {
        "amount": 1000 + i,
        "currency": "EUR",
        "payment_method": "pm_sandbox_ok",
        "payee": WALLETS[w % len(WALLETS)],
        "commission_type": "ticket_sale",
        "metadata": {"customer_email": f"c{w}-{i}@example.com"},
    }
    status, created = await call(http, srv, "POST", "/v1/payments", body)
    if status != 201:
        return
    status, paid = await call(http, srv, "POST", f"/v1/payments/{created['id']}/confirm", {})
    if status == 200 and paid["status"] == "succeeded":
        acked.payments[paid["id"]] = paid["amount_captured"]
        if i % 3 == 0:
            status, _ = await call(http, srv, "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": 100})
            if status == 200:
                acked.refunds[paid["id"]] = 100


async def _withdraw(http: aiohttp.ClientSession, srv: Server, w: int, i: int, acked: Acked) -> None:
    who = WALLETS[(w + i) % len(WALLETS)]
    amount = 100 + (i * 37) % 400
    wid = f"crash-{w}-{i}"
    status, _ = await call(
        http, srv, "POST", f"/v1/wallets/{who}/withdrawals", {"amount": amount, "currency": "EUR", "id": wid}
    )
    if status == 201:
        acked.withdrawals[wid] = (who, amount)


async def _burst(srv: Server) -> Acked:
    acked = Acked()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5)) as http:
        for who in WALLETS:
            await fund(http, srv, who, 20_000)

        async def worker(w: int) -> None:
            i = 0
            while not stop.is_set() and acked.sent < MAX_OPERATIONS:
                acked.sent += 1
                i += 1
                try:
                    await (_checkout if i % 2 else _withdraw)(http, srv, w, i, acked)
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server is gone

        async def killer() -> None:
            await asyncio.sleep(BURST_SECONDS)
            os.killpg(srv.proc.pid, signal.SIGKILL)
            stop.set()

        await asyncio.gather(killer(), *(worker(w) for w in range(CONCURRENCY)))
    return acked


def _check_database(data: Path, acked: Acked) -> None:
    def fetchall(sql: str) -> list[tuple[Any, ...]]:
        return rows_at(data, sql)

    if current().name == "sqlite":
        assert fetchall("PRAGMA integrity_check") == [("ok",)]
    invariants.check(fetchall)
    rows = fetchall("SELECT payment_id, captured, refunded FROM ledger_payment_postings")
    postings = {r[0]: (r[1], r[2]) for r in rows}
    # Every succeeded payment was posted, in its own transaction.
    unposted = fetchall(
        "SELECT p.id FROM payments p LEFT JOIN ledger_payment_postings l ON l.payment_id = p.id "
        "WHERE p.status IN ('succeeded', 'partially_refunded', 'refunded') AND l.payment_id IS NULL"
    )
    assert unposted == []
    refunded = {r[0]: r[1] for r in fetchall("SELECT id, amount_refunded FROM payments")}
    invoiced = {r[0] for r in fetchall("SELECT payment_id FROM ledger_invoices WHERE kind = 'invoice'")}
    transfers = {r[0] for r in fetchall("SELECT id FROM ledger_transfers")}
    for pid, captured in acked.payments.items():
        assert postings[pid][0] == captured and pid in invoiced and f"{pid}:capture" in transfers
        assert postings[pid][1] == refunded[pid]  # the ledger reversed exactly what the payment shows
    for pid, amount in acked.refunds.items():
        assert refunded[pid] >= amount
    for wid in acked.withdrawals:
        assert wid in transfers


async def test_sigkill_during_money_movement_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = write_settings(tmp_path)
    with running_server(data, "--config", str(settings)) as srv:
        acked = await _burst(srv)
        assert srv.proc.wait(timeout=10) == -signal.SIGKILL
    assert len(acked.payments) > 10 and len(acked.withdrawals) > 10, (
        len(acked.payments),
        len(acked.withdrawals),
    )
    _check_database(data, acked)

    with running_server(data, "--config", str(settings)) as srv:
        async with aiohttp.ClientSession() as http:
            await trial_balance_holds(http, srv)
            for wid, (who, amount) in acked.withdrawals.items():
                status, shown = await call(http, srv, "GET", f"/v1/withdrawals/{wid}")
                assert status == 200 and (shown["owner"], shown["amount"]) == (who, amount)
            # The ledger goes on where it stopped: a withdrawal completes, a payment posts.
            first = next(iter(acked.withdrawals))
            status, done = await call(http, srv, "POST", f"/v1/withdrawals/{first}/complete")
            assert status == 200 and done["status"] == "completed"
            status, body = await call(http, srv, "GET", "/v1/ledger/trial-balance")
            eur: dict[str, Any] = body["currencies"]["EUR"]
            assert eur["debits_posted"] == eur["credits_posted"]
    _check_database(data, acked)
