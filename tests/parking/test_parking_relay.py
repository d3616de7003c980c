"""The MQTT relay and the parking service alone: a real Mosquitto, the server's SQLite store, no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import payedge
import pytest
from payedge_server import housekeeping
from payedge_server.config.sections.retention import RetentionConfig
from payedge_server.contracts import Tx
from payedge_server.mqtt_relay import MqttRelay
from payedge_server.parking.service import ParkingService
from payedge_server.store import migrations, open_store
from payedge_server.store.postgres import PostgresStore
from payedge_server.store.records import enqueue_outbox
from payedge_server.store.sqlite import SqliteStore

from tests.parking.harness import TARIFF_RULES, Broker, Site
from tests.support import stores

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def store_at(path: Path) -> AsyncIterator[SqliteStore | PostgresStore]:
    """A migrated store of the store the test runs on (SQLite at `path`, or a new PostgreSQL database)."""
    backend = stores.current()
    store = open_store(f"sqlite:///{path}" if backend.pg is None else backend.database_url(path))
    await store.open()
    await migrations.upgrade(store)
    try:
        yield store
    finally:
        await store.close()


async def _until(predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_outbox_published_in_order_marked_sent_and_not_again(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    site = Site(broker.port)
    try:
        await site.connect()
        async with store_at(tmp_path / "relay.sqlite3") as store:

            def fill(tx: Tx) -> None:
                for index in range(300):
                    enqueue_outbox(tx, "parking/payment/req", {"msg_id": f"m{index:03d}", "session_id": "s"})

            await store.write(fill)

            async def ignore(topic: str, payload: bytes) -> int:
                return 0

            url = f"mqtt://127.0.0.1:{broker.port}?client_id=relay-order"
            relay = MqttRelay(url, store, ignore, ["parking/test/in"])
            await relay.start()
            await _until(lambda: len(site.requests) >= 300, 15)
            assert [r["msg_id"] for r in site.requests] == [f"m{index:03d}" for index in range(300)]

            def unsent(tx: Tx) -> int:
                row = tx.fetchone("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                return int(row[0]) if row else -1

            for _ in range(250):
                if await store.read(unsent) == 0:
                    break
                await asyncio.sleep(0.02)
            assert await store.read(unsent) == 0
            await relay.stop()
            again = MqttRelay(url, store, ignore, ["parking/test/in"])
            await again.start()
            await asyncio.sleep(1.0)
            await again.stop()
            assert len(site.requests) == 300, "rows marked sent are not published again"
    finally:
        await site.disconnect()
        broker.stop()


async def test_a_failed_handler_is_not_acknowledged_and_is_redelivered(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    site = Site(broker.port)
    calls: list[bytes] = []

    async def flaky(topic: str, payload: bytes) -> int:
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("store unavailable")
        return 0

    try:
        async with store_at(tmp_path / "relay.sqlite3") as store:
            relay = MqttRelay(f"mqtt://127.0.0.1:{broker.port}?client_id=relay-flaky", store, flaky, ["t/in"])
            await relay.start()
            await _until(relay.connected.is_set, 10)
            await asyncio.sleep(0.2)
            await site.connect()
            site.client.publish("t/in", orjson.dumps({"msg_id": "x"}), qos=1)
            await _until(lambda: len(calls) >= 2, 15)
            await asyncio.sleep(1.5)
            assert calls == [calls[0]] * 2, "redelivered once after the failure, then acknowledged"
            await relay.stop()
    finally:
        await site.disconnect()
        broker.stop()


async def test_processed_message_ids_are_forgotten_after_thirty_days(tmp_path: Path) -> None:
    async with store_at(tmp_path / "purge.sqlite3") as store:
        tariff = payedge.Tariff(TARIFF_RULES)

        def no_payments(tx: Tx, amount: int, currency: str, metadata: dict[str, Any]) -> dict[str, Any]:
            raise AssertionError("no payment expected")

        service = ParkingService(store, tariff, no_payments)
        entry = orjson.dumps({"msg_id": "e1", "ts": 1_700_000_000, "src": "lane", "plate": "P-1"})
        assert await service.handle_message("parking/entry", entry) == 0
        plan = [p for p in housekeeping.purges(RetentionConfig()) if p.table == "processed_messages"]
        assert await housekeeping.purge_once(store, plan) == {"processed_messages": 0}
        later = int((time.time() + 31 * 24 * 3600) * 1000)
        assert await housekeeping.purge_once(store, plan, now_ms=later) == {"processed_messages": 1}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("closing", [True, False])
async def test_a_reconnect_cancelled_at_shutdown_is_not_logged_as_an_error(
    closing: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gmqtt runs a reconnect as a future whose done-callback reads its exception: cancelled by a
    clean stop (the broker gone at the same moment) it was logged at ERROR with a traceback. Once
    the relay is closing the cancellation ends the reconnect quietly; otherwise it stays one."""
    import gmqtt
    from payedge_server.mqtt_relay import _BackoffClient

    async def pending_reconnect(self: gmqtt.Client, delay: bool = False) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(gmqtt.Client, "reconnect", pending_reconnect)
    loop = asyncio.get_running_loop()
    logged: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: logged.append(context))
    try:
        client = _BackoffClient("payedge-test-relay")
        future = asyncio.ensure_future(client.reconnect(delay=True))
        future.add_done_callback(lambda f: f.exception())  # what gmqtt's callback does
        await asyncio.sleep(0.01)
        client.closing = closing
        future.cancel()
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(None)
    assert bool(logged) is not closing, logged
