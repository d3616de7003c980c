"""The parking relay across instances (SPEC 4, 7): two `payedge serve` sharing PostgreSQL and Redis,
one MQTT subscriber elected by a Redis lock; when the relay's instance is killed, the other takes over
and the exit still opens the barrier exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.parking.harness import Api, Broker, Server, Site, workspace, write_tariff
from tests.support import stores

# Runs once, on PostgreSQL (several instances need a networked store), whatever the store parameter.
pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(120)]


@contextlib.contextmanager
def two_instances(redis_url: str) -> Iterator[tuple[Broker, Server, Server]]:
    with stores.using("postgresql"), workspace() as work:
        broker = Broker(work)
        broker.start()
        a = Server(work, broker.port, write_tariff(work))
        a.args += ["--redis-url", redis_url]
        b = Server(work, broker.port, write_tariff(work))
        b.args = [arg if arg != str(a.port) else str(b.port) for arg in a.args]  # same site client id
        try:
            a.start()
            b.start()
            yield broker, a, b
        finally:
            for server in (a, b):
                server.stop()
            broker.stop()


async def _leader(apis: dict[str, Api]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for name, api in apis.items():
            _, ready = await api.call("GET", "/health/ready")
            parking: dict[str, Any] = ready.get("parking", {})
            if parking.get("mqtt", {}).get("leader") and parking["mqtt"].get("connected"):
                return name
        await asyncio.sleep(0.2)
    raise AssertionError("no instance became the MQTT relay")


async def test_exit_opens_the_barrier_once_when_the_relay_instance_is_killed(redis_url: str) -> None:
    with two_instances(redis_url) as (broker, a, b):
        apis = {"a": Api(a.url), "b": Api(b.url)}
        site = Site(broker.port, "site-scale-out")
        try:
            for api in apis.values():
                await api.wait_ready()
            await site.connect()
            leader = await _leader(apis)
            other = "b" if leader == "a" else "a"
            now = int(time.time())
            site.publish("parking/entry", plate="SCALE-1", ts=now - 3600)
            site.publish("parking/exit/detected", plate="SCALE-1", ts=now)
            await site.wait_for(lambda: len(site.requests) >= 1, timeout=20)
            request = site.requests[0]
            {"a": a, "b": b}[leader].kill()  # the relay's instance dies (SIGKILL)
            status, body = await apis[other].confirm(str(request["payment_id"]))
            assert status == 200, body
            assert await _leader({other: apis[other]}) == other  # elected within the lock's TTL
            await site.wait_for(lambda: len(site.successes) >= 1, timeout=20)
            await asyncio.sleep(1.0)  # a second success would arrive by now
            successes = site.successes_for(str(request["session_id"]))
            assert len({s["msg_id"] for s in successes}) == 1, successes
        finally:
            await site.disconnect()
            for api in apis.values():
                await api.close()
