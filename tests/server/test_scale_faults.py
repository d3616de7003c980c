"""Faults that lose nothing (SPEC 7): an instance SIGKILLed under load, PostgreSQL stopped under load,
Redis stopped, SQLite's disk full.

Each load is a bounded burst of payment creations with Idempotency-Keys; a
creation answered 201 is an acknowledged write, and each must be in the store
afterwards. PostgreSQL runs with its durable defaults (fsync on).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.server.support import Server, running_server
from tests.support import services, stores
from tests.support.postgres import PostgresServer, postgres_server

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(180)]  # each test picks its own stores


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    """A cluster of this module's own: the tests stop and start it."""
    with postgres_server() as server:
        yield server


class Load:
    """Concurrent payment creations against some servers until `stop`; records every answer."""

    def __init__(self, servers: list[Server], workers: int = 16) -> None:
        self.servers = servers
        self.workers = workers
        self.acked: dict[str, str] = {}  # order_ref -> payment id
        self.statuses: dict[int, int] = {}
        self.latest: dict[int, float] = {}
        self.answers: list[tuple[float, int]] = []  # (when answered, status)
        self.slowest = 0.0
        self.stop = asyncio.Event()

    async def _worker(self, w: int, http: aiohttp.ClientSession) -> None:
        n = 0
        while not self.stop.is_set():
            srv = self.servers[(w + n) % len(self.servers)]
            ref = f"w{w}-{n}-{os.urandom(3).hex()}"
            n += 1
            body = {"amount": 100 + n, "currency": "EUR", "order_ref": ref}
            started = time.monotonic()
            try:
                async with http.post(
                    srv.url + "/v1/payments", json=body, headers=srv.headers(**{"Idempotency-Key": ref})
                ) as resp:
                    answer: dict[str, Any] = await resp.json(content_type=None)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.05)  # that instance is gone
                continue
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latest[status] = time.monotonic()
            self.answers.append((self.latest[status], status))
            if status == 201:
                self.acked[ref] = answer["id"]
            elif status == 503:
                assert answer["error"]["code"] == "store_unavailable", answer
                await asyncio.sleep(0.02)

    async def run(self) -> asyncio.Task[Any]:
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

        async def all_workers() -> None:
            try:
                await asyncio.gather(*(self._worker(w, http) for w in range(self.workers)))
            finally:
                await http.close()

        return asyncio.get_running_loop().create_task(all_workers())


def _stored(url: str, acked: dict[str, str]) -> dict[str, str]:
    rows = stores.rows(url, "SELECT order_ref, id FROM payments")
    return {str(ref): str(pid) for ref, pid in rows if ref in acked}


async def test_sigkill_of_one_instance_under_load_loses_no_acknowledged_write(
    pg: PostgresServer, redis_url: str, tmp_path: Path
) -> None:
    url = pg.create_database()
    args = ("--database-url", url, "--redis-url", redis_url)
    with running_server(tmp_path / "a", *args) as a, running_server(tmp_path / "b", *args) as b:
        load = Load([a, b])
        task = await load.run()
        await asyncio.sleep(2.0)
        os.killpg(a.proc.pid, signal.SIGKILL)
        await asyncio.sleep(1.5)  # b keeps serving
        load.stop.set()
        await task
    assert load.statuses.get(500, 0) == 0, load.statuses
    assert len(load.acked) > 50
    assert _stored(url, load.acked) == load.acked


async def test_postgres_stopped_under_load_gives_503_then_recovers(
    pg: PostgresServer, tmp_path: Path
) -> None:
    url = pg.create_database()
    with running_server(tmp_path / "a", "--database-url", url) as a:
        load = Load([a])
        task = await load.run()
        await asyncio.sleep(1.5)
        await asyncio.to_thread(pg.stop, "fast")
        down_at = time.monotonic()
        await asyncio.sleep(2.0)
        assert load.latest.get(503, 0) > down_at, f"no 503 while PostgreSQL was down: {load.statuses}"
        await asyncio.to_thread(pg.start)
        back_at = time.monotonic()
        await asyncio.sleep(6.0)
        load.stop.set()
        await task
        async with aiohttp.ClientSession() as http, http.get(a.url + "/health/ready") as resp:
            ready = await resp.json()
    assert ready["checks"]["store"] is True
    assert load.statuses.get(500, 0) == 0, load.statuses
    assert load.slowest < 15.0, f"a request waited {load.slowest:.1f} s"
    # Service is back within 5 s of the database's return: 201s resume.
    first_ok_after = min(t for t, status in load.answers if status == 201 and t > back_at)
    assert first_ok_after - back_at < 5.0
    assert _stored(url, load.acked) == load.acked


@contextlib.contextmanager
def restartable_redis() -> Iterator[tuple[str, Any, Any]]:
    """A redis-server that can be stopped and started again on the same port."""
    binary = services.find_binary("redis-server")
    port = services.free_port()
    with tempfile.TemporaryDirectory() as data:
        cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", data]
        procs: list[subprocess.Popen[bytes]] = []

        def start() -> None:
            procs.append(services.spawn(cmd, port, Path(data) / "log"))

        def stop() -> None:
            services.stop(procs.pop())

        start()
        try:
            yield f"redis://127.0.0.1:{port}/0", start, stop
        finally:
            while procs:
                stop()


async def test_redis_stopped_requests_succeed_ready_degraded_fan_out_resumes(
    pg: PostgresServer, tmp_path: Path
) -> None:
    url = pg.create_database()
    with restartable_redis() as (redis_url, start_redis, stop_redis):
        args = ("--database-url", url, "--redis-url", redis_url)
        with running_server(tmp_path / "a", *args) as a, running_server(tmp_path / "b", *args) as b:
            stop_redis()
            async with aiohttp.ClientSession() as http:
                for _ in range(5):
                    async with http.post(
                        b.url + "/v1/payments", json={"amount": 5, "currency": "EUR"}, headers=b.headers()
                    ) as resp:
                        assert resp.status == 201
                async with http.get(a.url + "/health/ready") as resp:
                    ready = await resp.json()
                assert (resp.status, ready["status"], ready["checks"]["redis"]) == (503, "degraded", False)
                assert ready["checks"]["store"] is True
                start_redis()
                await asyncio.sleep(3.0)  # the subscribers reconnect by themselves (backoff <= 2 s)
                async with http.post(
                    b.url + "/v1/payments", json={"amount": 6, "currency": "EUR"}, headers=b.headers()
                ) as resp:
                    pid = (await resp.json())["id"]
                ws = await http.ws_connect(
                    a.url + "/v1/stream", params={"token": a.headers()["Authorization"][7:]}
                )
                await ws.send_json({"op": "subscribe", "channels": [f"payment:{pid}"]})
                assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
                async with http.post(
                    b.url + f"/v1/payments/{pid}/confirm",
                    json={"payment_method": "pm_sandbox_ok"},
                    headers=b.headers(),
                ) as resp:
                    assert resp.status == 200

                async def succeeded() -> None:
                    while True:
                        message = await ws.receive_json()
                        if (
                            message.get("type") == "event"
                            and message["data"]["payment"]["status"] == "succeeded"
                        ):
                            return

                await asyncio.wait_for(succeeded(), timeout=10)
                await ws.close()
                async with http.get(a.url + "/health/ready") as resp:
                    assert (await resp.json())["checks"]["redis"] is True


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs (CI runs as root)")
async def test_sqlite_disk_full_gives_503_and_no_corruption(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)]
    await asyncio.to_thread(subprocess.run, mount, check=True)
    try:
        data = disk / "data"
        with running_server(data) as srv:
            filler = disk / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as out:
                while True:  # bounded by the 3 MiB tmpfs
                    out.write(b"\0" * 65536)
            filler.unlink()
            load = Load([srv], workers=8)
            with filler.open("wb") as out:
                out.write(b"\0" * (2 * 1024 * 1024))  # leave the database ~1 MiB to grow into
            task = await load.run()
            deadline = time.monotonic() + 30
            while 503 not in load.statuses and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            load.stop.set()
            await task
            assert 503 in load.statuses, load.statuses
            assert load.statuses.get(500, 0) == 0, load.statuses
            filler.unlink()
            async with (  # room again: writes succeed
                aiohttp.ClientSession() as http,
                http.post(
                    srv.url + "/v1/payments", json={"amount": 7, "currency": "EUR"}, headers=srv.headers()
                ) as resp,
            ):
                assert resp.status == 201, await resp.text()
        url = f"sqlite:///{data / 'payedge.sqlite3'}"
        assert stores.rows(url, "PRAGMA integrity_check") == [("ok",)]
        assert _stored(url, load.acked) == load.acked
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(disk)], check=False)
