"""Faults that lose nothing (SPEC 7): an instance SIGKILLed under load, PostgreSQL stopped under load,
Redis stopped under load, SQLite's disk full.

Each load is a bounded burst of payment creations with Idempotency-Keys (for
Redis: creations, confirmations and webhooks delivered to both instances); a
creation answered 201 is an acknowledged write, and each must be in the store
afterwards. PostgreSQL runs with its durable defaults (fsync on).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from payedge_server.gateways.sandbox import sandbox_event, signed_headers

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


class PaymentsAndWebhooks:
    """16 clients against two instances until `stop` (each at most `MAX_ROUNDS` rounds).

    Even clients create a payment on one instance and confirm it (pm_sandbox_ok) on the
    other; odd clients create a payment and deliver its signed `payment.succeeded` to
    both instances at once (the cross-instance dedupe: one of the two must say
    duplicate). Every answer is kept with the time it came.
    """

    MAX_ROUNDS = 500

    def __init__(self, a: Server, b: Server, workers: int = 16) -> None:
        self.servers = (a, b)
        self.secrets = [(srv.data_dir / "sandbox_webhook_secret").read_text().strip() for srv in (a, b)]
        self.workers = workers
        self.answers: list[tuple[float, str, int]] = []  # (when, what, HTTP status)
        self.created: dict[str, str] = {}  # order_ref -> payment id (201)
        self.confirmed: set[str] = set()  # payment ids confirmed with 200 + succeeded
        self.webhooks: dict[str, tuple[str, list[bool]]] = {}  # event id -> (payment id, duplicate flags)
        self.stop = asyncio.Event()

    def after(self, t: float) -> int:
        return sum(1 for when, _, _ in self.answers if when > t)

    def note(self, what: str, status: int) -> None:
        self.answers.append((time.monotonic(), what, status))

    async def _create(self, http: aiohttp.ClientSession, srv: Server, ref: str) -> str | None:
        body = {"amount": 500, "currency": "EUR", "order_ref": ref}
        headers = srv.headers(**{"Idempotency-Key": ref})
        async with http.post(srv.url + "/v1/payments", json=body, headers=headers) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            self.note("create", resp.status)
        if resp.status != 201:
            return None
        self.created[ref] = answer["id"]
        return str(answer["id"])

    async def _confirm(self, http: aiohttp.ClientSession, srv: Server, pid: str) -> None:
        body = {"payment_method": "pm_sandbox_ok"}
        async with http.post(
            f"{srv.url}/v1/payments/{pid}/confirm", json=body, headers=srv.headers()
        ) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            self.note("confirm", resp.status)
        if resp.status == 200 and answer["status"] == "succeeded":
            self.confirmed.add(pid)

    async def _deliver(self, http: aiohttp.ClientSession, i: int, event_id: str, body: bytes) -> bool | None:
        srv = self.servers[i]
        headers = signed_headers(body, event_id, self.secrets[i])
        async with http.post(srv.url + "/v1/webhooks/sandbox", data=body, headers=headers) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            self.note("webhook", resp.status)
        return bool(answer["duplicate"]) if resp.status == 200 else None

    async def _webhook_both(self, http: aiohttp.ClientSession, pid: str) -> None:
        event = sandbox_event(pid, 500)
        body = orjson.dumps(event)
        flags = await asyncio.gather(*(self._deliver(http, i, event["id"], body) for i in (0, 1)))
        self.webhooks[event["id"]] = (pid, [f for f in flags if f is not None])

    async def _worker(self, w: int, http: aiohttp.ClientSession) -> None:
        for n in range(self.MAX_ROUNDS):
            if self.stop.is_set():
                return
            first, other = self.servers[(w + n) % 2], self.servers[(w + n + 1) % 2]
            pid = await self._create(http, first, f"r{w}-{n}-{os.urandom(3).hex()}")
            if pid is None:
                continue
            if w % 2 == 0:
                await self._confirm(http, other, pid)
            else:
                await self._webhook_both(http, pid)

    async def run(self) -> asyncio.Task[Any]:
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

        async def all_workers() -> None:
            try:
                await asyncio.gather(*(self._worker(w, http) for w in range(self.workers)))
            finally:
                await http.close()

        return asyncio.get_running_loop().create_task(all_workers())


async def _until(what: str, check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Poll `check()` every 0.1 s until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.1)


async def _ready(http: aiohttp.ClientSession, srv: Server) -> tuple[int, dict[str, Any]]:
    async with http.get(srv.url + "/health/ready") as resp:
        return resp.status, await resp.json()


async def _fan_out_once(http: aiohttp.ClientSession, a: Server, b: Server) -> bool:
    """A payment made and confirmed through b: does a's WebSocket subscriber see it succeed (≤ 2 s)?"""
    async with http.post(
        b.url + "/v1/payments", json={"amount": 6, "currency": "EUR"}, headers=b.headers()
    ) as r:
        assert r.status == 201
        pid = (await r.json())["id"]
    ws = await http.ws_connect(a.url + "/v1/stream", params={"token": a.headers()["Authorization"][7:]})
    try:
        await ws.send_json({"op": "subscribe", "channels": [f"payment:{pid}"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        body = {"payment_method": "pm_sandbox_ok"}
        async with http.post(f"{b.url}/v1/payments/{pid}/confirm", json=body, headers=b.headers()) as r:
            assert r.status == 200

        async def succeeded() -> None:
            for _ in range(20):  # a handful of messages at most for one payment
                message = await ws.receive_json()
                if message.get("type") == "event" and message["data"]["payment"]["status"] == "succeeded":
                    return
            raise AssertionError("no succeeded event among the first 20 messages")

        try:
            await asyncio.wait_for(succeeded(), timeout=2.0)
        except TimeoutError:
            return False
        return True
    finally:
        await ws.close()


async def test_redis_stopped_requests_succeed_ready_degraded_fan_out_resumes(
    pg: PostgresServer, tmp_path: Path
) -> None:
    """Redis stopped while 16 clients create, confirm and deliver webhooks to two instances.

    No request fails because Redis went away (no 5xx at all: PostgreSQL is up); every
    acknowledged creation, confirmation and webhook is in the store, and each webhook
    was applied once though delivered to both instances (the store dedupes when Redis
    cannot); /health/ready says redis is down while it is; once Redis is back, a
    WebSocket subscriber on one instance sees a change made through the other without
    anyone restarting anything.
    """
    url = pg.create_database()
    with services.restartable_redis() as (redis_url, start_redis, stop_redis):
        args = ("--database-url", url, "--redis-url", redis_url)
        with running_server(tmp_path / "a", *args) as a, running_server(tmp_path / "b", *args) as b:
            load = PaymentsAndWebhooks(a, b)
            async with aiohttp.ClientSession() as http:
                task = await load.run()
                try:
                    started = time.monotonic()
                    await _until("load running", lambda: _true(load.after(started) >= 50), 30)
                    await asyncio.to_thread(stop_redis)
                    down_at = time.monotonic()

                    async def degraded() -> bool:
                        return all([(await _ready(http, s))[1]["checks"]["redis"] is False for s in (a, b)])

                    await _until("/health/ready reports redis down", degraded, 10)
                    status, ready = await _ready(http, a)
                    assert (status, ready["status"], ready["checks"]["redis"]) == (503, "degraded", False)
                    assert ready["checks"]["store"] is True
                    await _until(
                        "requests served with Redis down", lambda: _true(load.after(down_at) >= 150), 30
                    )
                    served_down = load.after(down_at)
                    up_at = time.monotonic()
                    await asyncio.to_thread(start_redis)

                    async def recovered() -> bool:
                        return all([(await _ready(http, s))[1]["checks"]["redis"] is True for s in (a, b)])

                    await _until("/health/ready reports redis back", recovered, 15)
                finally:
                    load.stop.set()
                    await task
                statuses = Counter(status for _, _, status in load.answers)
                assert not [s for s in statuses if s >= 500], statuses
                assert served_down >= 150 and load.confirmed and load.webhooks, statuses
                kinds_down = Counter(what for when, what, _ in load.answers if down_at < when < up_at)
                assert min(kinds_down[k] for k in ("create", "confirm", "webhook")) >= 10, kinds_down
                # Fan-out resumes on its own: bounded tries, each with a fresh payment.
                deadline, seen = time.monotonic() + 15, False
                for _ in range(10):
                    if seen or time.monotonic() > deadline:
                        break
                    seen = await _fan_out_once(http, a, b)
                assert seen, "a's subscriber never saw a change made through b after Redis came back"
                assert (await _ready(http, a))[1]["checks"]["redis"] is True
    # Every acknowledged write is in the store.
    assert _stored(url, load.created) == load.created
    rows = stores.rows(url, "SELECT id, status FROM payments")
    status_of = {str(pid): str(st) for pid, st in rows}
    assert {pid: status_of[pid] for pid in load.confirmed} == dict.fromkeys(load.confirmed, "succeeded")
    answered = {eid: pid for eid, (pid, flags) in load.webhooks.items() if flags}
    assert {pid: status_of[pid] for pid in answered.values()} == dict.fromkeys(answered.values(), "succeeded")
    recorded = {str(r[0]) for r in stores.rows(url, "SELECT event_id FROM webhook_events")}
    assert set(answered) <= recorded
    # Delivered to both instances, applied once: exactly one of two 200s was the first.
    twice = {eid: flags for eid, (_, flags) in load.webhooks.items() if len(flags) == 2}
    assert twice and all(sorted(flags) == [False, True] for flags in twice.values()), twice


async def _true(value: bool) -> bool:
    return value


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
