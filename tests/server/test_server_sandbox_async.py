"""The sandbox's async webhook is durable: a SIGKILL between `processing` and the webhook loses nothing.

`pm_sandbox_async` writes the webhook it owes in the confirming write; the real
`payedge serve` process is killed inside the delay (`--sandbox-async-delay`),
restarted on the same data directory, and the payment still reaches `succeeded`
through exactly one recorded event. A redelivery (killed after the 2xx, before
the row was marked) is a harmless duplicate; `--workers 2` delivers each once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.server.support import Server, running_server, serve_command
from tests.support.services import free_port

DB = "payedge.sqlite3"


async def _async_payment(http: aiohttp.ClientSession, srv: Server) -> dict[str, Any]:
    """Create and confirm a pm_sandbox_async payment; returns the confirmation (`processing`)."""
    body = {"amount": 1234, "currency": "EUR", "payment_method": "pm_sandbox_async"}
    async with http.post(srv.url + "/v1/payments", json=body, headers=srv.headers()) as resp:
        assert resp.status == 201, await resp.text()
        payment = await resp.json()
    async with http.post(srv.url + f"/v1/payments/{payment['id']}/confirm", headers=srv.headers()) as resp:
        assert resp.status == 200, await resp.text()
        confirmed: dict[str, Any] = await resp.json()
    assert confirmed["status"] == "processing"
    return confirmed


async def _until(check: Callable[[], bool], seconds: float) -> bool:
    """Poll `check` every 50 ms for at most `seconds`; its last answer."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _wait_status(
    http: aiohttp.ClientSession, srv: Server, payment_id: str, status: str, seconds: float = 20.0
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for _ in range(int(seconds / 0.05)):
        async with http.get(srv.url + f"/v1/payments/{payment_id}", headers=srv.headers()) as resp:
            shown = await resp.json()
        if shown["status"] == status:
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"payment {payment_id} not {status} after {seconds} s: {shown}")


def _rows(data: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(data / DB)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _deliveries(data: Path, payment_id: str) -> list[tuple[Any, ...]]:
    return _rows(
        data,
        "SELECT event_id, delivered_at, attempts FROM sandbox_deliveries WHERE payment_id = ?",
        (payment_id,),
    )


def _events(data: Path, payment_id: str) -> list[tuple[Any, ...]]:
    return _rows(
        data,
        "SELECT event_id, outcome FROM webhook_events WHERE provider = 'sandbox' AND hint = ?",
        (payment_id,),
    )


async def test_sigkill_before_the_webhook_then_restart_completes_the_payment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        # 3 s: ample to kill inside the window; the restarted process delivers once it is due.
        with running_server(data, "--sandbox-async-delay", "3") as srv:
            confirmed = await _async_payment(http, srv)
            os.killpg(srv.proc.pid, signal.SIGKILL)
            assert srv.proc.wait(timeout=10) == -signal.SIGKILL
        pid = confirmed["id"]
        # The kill came inside the delay: the webhook is owed, durably, and was never delivered.
        [(event_id, delivered_at, attempts)] = _deliveries(data, pid)
        assert delivered_at is None and attempts == 0
        assert _events(data, pid) == []
        assert _rows(data, "SELECT status FROM payments WHERE id = ?", (pid,)) == [("processing",)]

        with running_server(data) as srv:
            shown = await _wait_status(http, srv, pid, "succeeded")
            assert shown["history"][-1]["source"] == f"webhook:sandbox:{event_id}"
            await _until(lambda: _deliveries(data, pid)[0][1] is not None, 10)
            [(same_id, delivered_at, attempts)] = _deliveries(data, pid)
            assert same_id == event_id and delivered_at is not None and attempts == 1
            assert _events(data, pid) == [(event_id, "applied")]
            version = shown["version"]

        # Killed after the 2xx but before the mark: the row is owed again. Redelivered, it is a
        # duplicate the ingest recognises by its event id; nothing changes twice.
        conn = sqlite3.connect(data / DB)
        with conn:
            conn.execute("UPDATE sandbox_deliveries SET delivered_at = NULL WHERE event_id = ?", (event_id,))
        conn.close()
        with running_server(data) as srv:
            await _until(lambda: _deliveries(data, pid)[0][1] is not None, 20)
            [(_, delivered_at, attempts)] = _deliveries(data, pid)
            assert delivered_at is not None and attempts == 2
            shown = await _wait_status(http, srv, pid, "succeeded")
            assert shown["version"] == version
        assert _events(data, pid) == [(event_id, "applied")]


async def test_undeliverable_webhook_is_retried_and_survives_a_restart(tmp_path: Path) -> None:
    """While the webhook cannot be delivered it stays owed (retried with backoff), across restarts."""
    data = tmp_path / "data"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        # The sandbox posts to a port nobody listens on: every attempt fails.
        with running_server(data, "--self-url", "http://127.0.0.1:9") as srv:
            pid = (await _async_payment(http, srv))["id"]
            await _until(lambda: _deliveries(data, pid)[0][2] >= 3, 15)
            [(_, delivered_at, attempts)] = _deliveries(data, pid)
            assert delivered_at is None and attempts >= 3
            async with http.get(srv.url + f"/v1/payments/{pid}", headers=srv.headers()) as resp:
                assert (await resp.json())["status"] == "processing"
        # A clean stop releases the claim; the next process (reachable) delivers it.
        with running_server(data) as srv:
            await _wait_status(http, srv, pid, "succeeded")
        assert len(_events(data, pid)) == 1


async def test_two_workers_deliver_each_webhook_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    owners_sql = "SELECT COUNT(DISTINCT owner) FROM sandbox_deliveries"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        with running_server(data, "--workers", "2") as srv:
            await asyncio.sleep(0.5)  # both workers listening
            confirmed: list[dict[str, Any]] = []
            # A fresh connection per payment: the kernel spreads them over both workers
            # (SO_REUSEPORT hashes each connection), so both soon own rows. Bounded.
            while len(confirmed) < 24 or (_rows(data, owners_sql) != [(2,)] and len(confirmed) < 200):
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as one:
                    confirmed.append(await _async_payment(one, srv))
            for payment in confirmed:
                await _wait_status(http, srv, payment["id"], "succeeded")
            pending = "SELECT COUNT(*) FROM sandbox_deliveries WHERE delivered_at IS NULL"
            assert await _until(lambda: _rows(data, pending) == [(0,)], 10)
    count = len(confirmed)
    owners = _rows(data, "SELECT COUNT(DISTINCT owner), SUM(attempts), COUNT(*) FROM sandbox_deliveries")
    # Both processes scheduled and delivered rows; no row was claimed (posted) twice.
    assert owners == [(2, count, count)], owners
    for payment in confirmed:
        assert len(_events(data, payment["id"])) == 1


def test_bad_sandbox_async_delay_is_refused(tmp_path: Path) -> None:
    for flag, env in ((["--sandbox-async-delay", "soon"], {}), ([], {"PAYEDGE_SANDBOX_ASYNC_DELAY": "-1"})):
        cmd = serve_command(free_port(), tmp_path / "data", *flag)
        done = subprocess.run(
            cmd, env={**os.environ, **env}, capture_output=True, timeout=20, check=False, text=True
        )
        assert done.returncode != 0 and "--sandbox-async-delay" in done.stderr, (flag, env, done.stderr)
