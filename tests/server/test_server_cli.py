"""`payedge serve` start-up: embedded defaults, generated key kept, env variables, logs without secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.server.support import API_KEY, PAYEDGE, STRIPE_SECRET, running_server, stripe_event, stripe_headers
from tests.support import services


def _start_plain(cwd: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PAYEDGE, "serve"],
        cwd=cwd,
        env={**os.environ, "PAYEDGE_PORT": str(port), **env},
        stdout=open(cwd / "out.log", "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def test_no_flags_generates_and_keeps_an_api_key(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        port = services.free_port()
        proc = _start_plain(tmp_path, port, {})
        try:
            services.wait_for_port(port, 20.0, proc)
            await asyncio.sleep(0.2)
            out = (tmp_path / "out.log").read_text()
            key = (tmp_path / "payedge-data" / "api_key").read_text().strip()
            assert f"http://127.0.0.1:{port}" in out and key in out
            keys.append(key)
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{port}/v1/payments", headers={"Authorization": f"Bearer {key}"}
                ) as resp,
            ):
                assert resp.status == 200
        finally:
            services.stop(proc)
    assert keys[0] == keys[1]
    assert (tmp_path / "payedge-data" / "payedge.sqlite3").exists()
    assert oct((tmp_path / "payedge-data" / "api_key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.sqlite_only  # about the start line, not the store
async def test_given_keys_say_the_stored_generated_key_is_not_used(tmp_path: Path) -> None:
    """A key an earlier start generated (and printed) gets 401 once keys are given: the start says so."""
    data_dir = tmp_path / "payedge-data"
    data_dir.mkdir()
    (data_dir / "api_key").write_text("pek_from_an_earlier_start\n")
    port = services.free_port()
    cmd = [PAYEDGE, "serve", "--port", str(port), "--data-dir", str(data_dir), "--api-key", "given_key_1"]
    proc = services.spawn(cmd, port, tmp_path / "out.log")
    try:
        async with aiohttp.ClientSession() as http:
            for key, expected in (("given_key_1", 200), ("pek_from_an_earlier_start", 401)):
                async with http.get(
                    f"http://127.0.0.1:{port}/v1/payments", headers={"Authorization": f"Bearer {key}"}
                ) as resp:
                    assert resp.status == expected
    finally:
        services.stop(proc)
    out = (tmp_path / "out.log").read_text().splitlines()
    lines = [line for line in out if line.startswith("payedge: API key")]
    assert lines == [
        "payedge: API keys: 1 given (e.g. …(masked, 11 chars)); the generated key in "
        f"{data_dir / 'api_key'} is not used while keys are given"
    ], lines


async def test_environment_variables_and_redis_note(tmp_path: Path) -> None:
    port = services.free_port()
    env = {
        "PAYEDGE_API_KEY": "envkey1,envkey2",
        "PAYEDGE_DATA_DIR": str(tmp_path / "d"),
        "PAYEDGE_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    proc = _start_plain(tmp_path, port, env)
    try:
        services.wait_for_port(port, 20.0, proc)
        async with aiohttp.ClientSession() as http:
            for key, expected in (("envkey1", 200), ("envkey2", 200), ("other", 401)):
                async with http.get(
                    f"http://127.0.0.1:{port}/v1/payments", headers={"Authorization": f"Bearer {key}"}
                ) as resp:
                    assert resp.status == expected
        out = (tmp_path / "out.log").read_text()
        assert "--redis-url: shared through Redis (an accelerator, the store stays the truth)" in out
        assert "envkey1" not in out  # a given key is not printed in full
    finally:
        services.stop(proc)


async def test_logs_hold_no_secret_or_card_number(tmp_path: Path) -> None:
    card = "4242424242424242"
    with running_server(tmp_path / "data", "--log-level", "DEBUG") as srv:
        async with aiohttp.ClientSession() as http:
            # Card data in places it must never be: refused, and never echoed to the log.
            async with http.post(
                srv.url + "/v1/payments",
                json={"amount": 1, "currency": "EUR", "payment_method": card, "metadata": {"c": card}},
                headers=srv.headers(),
            ) as resp:
                assert resp.status == 400
            async with http.get(
                srv.url + "/v1/payments", headers={"Authorization": "Bearer " + card}
            ) as resp:
                assert resp.status == 401
            body = stripe_event("payment_intent.succeeded", "pi_log")
            async with http.post(
                srv.url + "/v1/webhooks/stripe", data=body, headers=stripe_headers(body, "whsec_wrong")
            ) as resp:
                assert resp.status == 400
        log = srv.log
    for secret in (API_KEY, STRIPE_SECRET, card):
        assert secret not in log
    sandbox_secret = (tmp_path / "data" / "sandbox_webhook_secret").read_text().strip()
    assert sandbox_secret not in log
    # The log is not empty: structured JSON lines were written and checked.
    assert '"logger":"payedge.server"' in log and '"logger":"payedge.webhooks"' in log


@pytest.mark.sqlite_only  # reads the SQLite file and its WAL
async def test_sigterm_drains_and_flushes(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as srv:
        async with aiohttp.ClientSession() as http:

            async def create(i: int) -> str | None:
                try:
                    async with http.post(
                        srv.url + "/v1/payments",
                        json={"amount": 100 + i, "currency": "EUR"},
                        headers=srv.headers(),
                    ) as resp:
                        return str((await resp.json())["id"]) if resp.status == 201 else None
                except aiohttp.ClientError:
                    return None

            first = [await create(i) for i in range(20)]
            # SIGTERM while a burst is in flight: accepted requests are answered, then the store flushes.
            tasks = [asyncio.create_task(create(i)) for i in range(20, 80)]
            await asyncio.sleep(0.01)
            srv.proc.terminate()
            burst = await asyncio.gather(*tasks)
        assert srv.proc.wait(timeout=20) == 0
        acked = [i for i in first + burst if i]
    # After a clean stop the WAL is checkpointed into the main file.
    wal = tmp_path / "data" / "payedge.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    import sqlite3

    conn = sqlite3.connect(tmp_path / "data" / "payedge.sqlite3")
    stored = {row[0] for row in conn.execute("SELECT id FROM payments")}
    conn.close()
    assert len(acked) >= 20 and set(acked) <= stored


async def test_two_workers_share_the_port_and_the_store(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", "--workers", "2") as srv:
        await asyncio.sleep(0.5)  # both workers listening
        async with aiohttp.ClientSession() as http:
            ids = set()
            for i in range(40):
                async with http.post(
                    srv.url + "/v1/payments",
                    json={"amount": 100 + i, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
                    headers={**srv.headers(), "Connection": "close"},
                ) as resp:
                    assert resp.status == 201
                    ids.add((await resp.json())["id"])
            body = stripe_event("payment_intent.succeeded", "pi_workers")
            answers = []
            for _ in range(6):
                async with http.post(
                    srv.url + "/v1/webhooks/stripe",
                    data=body,
                    headers={**stripe_headers(body), "Connection": "close"},
                ) as resp:
                    answers.append((await resp.json())["duplicate"])
            # Whichever worker answers, the store (shared) knows the event after its first delivery.
            assert answers == [False, True, True, True, True, True]
            async with http.get(srv.url + "/v1/payments?limit=100", headers=srv.headers()) as resp:
                assert {p["id"] for p in (await resp.json())["data"]} == ids
        group = await asyncio.to_thread(
            subprocess.run, ["pgrep", "-g", str(srv.proc.pid)], capture_output=True, text=True, check=False
        )
        pids = group.stdout.split()
        assert len(pids) >= 3  # the supervisor and its two workers
        srv.proc.terminate()
        assert srv.proc.wait(timeout=20) == 0
